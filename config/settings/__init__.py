"""Settings per environment: base, dev (demo), test, prod."""
