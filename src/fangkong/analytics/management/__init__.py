"""Command-line verbs of the situation-analysis module."""
