"""Fangkong: command platform for city-scale epidemic prevention and control."""

__version__ = "0.1.0"
