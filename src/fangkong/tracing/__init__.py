"""Case investigation, contact tracing and the big-data co-location engine."""
