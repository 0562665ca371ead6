"""Local number and date formats that differ from Django's defaults."""
