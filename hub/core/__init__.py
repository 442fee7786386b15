"""What every part of the hub shares: its settings."""
