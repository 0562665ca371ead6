"""Production: PostgreSQL and Redis expected, secrets from the environment."""

import os

from .base import *  # noqa: F403

SECRET_KEY = os.environ["FANGKONG_SECRET_KEY"]
SESSION_COOKIE_SECURE = os.environ.get("FANGKONG_SECURE_COOKIES", "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The API's schema and docs map every endpoint: only for logged-in users unless opened on purpose.
PUBLIC_SCHEMA = os.environ.get("FANGKONG_PUBLIC_SCHEMA", "0") == "1"
