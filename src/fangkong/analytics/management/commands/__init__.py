"""Management commands of the situation-analysis module."""
