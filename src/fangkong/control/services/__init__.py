"""Writes of the control module: policies, control orders, tests, health checks, rooms."""

from .rooms import *  # noqa: F403
