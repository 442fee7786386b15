"""People and their rooms: homes, residents and tenancies, staff and the roster, accounts, entry preferences."""
