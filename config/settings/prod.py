"""Production: PostgreSQL and Redis expected, secrets from the environment."""

import os

from .base import *  # noqa: F403

SECRET_KEY = os.environ["FANGKONG_SECRET_KEY"]
SESSION_COOKIE_SECURE = os.environ.get("FANGKONG_SECURE_COOKIES", "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
