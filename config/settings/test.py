"""The test suite: fast hashing, the database chosen by FANGKONG_DATABASE_URL (SQLite by default)."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
