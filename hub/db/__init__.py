"""The hub's SQL storage: typed models, the engine, and Alembic migrations."""
