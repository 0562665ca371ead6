"""Pieces every app shares: the jurisdiction guard, bulk-import machinery, masking."""
