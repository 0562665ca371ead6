"""Command-line verbs of the tracing module."""
