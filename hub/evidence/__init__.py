"""Evidence: signed checkpoints over every chain, the database check, investigation cases and their export bundles,
the retention purge, and the witness that keeps checkpoints elsewhere."""
