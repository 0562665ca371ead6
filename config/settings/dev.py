"""The demo and local development: SQLite by default, jobs in-process unless Redis is configured."""

from .base import *  # noqa: F403

DEBUG = True
