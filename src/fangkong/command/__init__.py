"""Command centre: tasks, inspections, risk areas and response levels, daily reports, bulletins."""
