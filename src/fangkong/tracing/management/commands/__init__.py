"""Management commands of the tracing module."""
