"""The test suite: fast hashing, the database chosen by FANGKONG_DATABASE_URL (SQLite by default)."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
# The shared counters in the test database whatever FANGKONG_REDIS_URL says: each test's
# transaction rolls them back, and tests never flush a Redis that others use.
CACHES = {
    **CACHES,  # noqa: F405
    "shared": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "fangkong_shared_cache",
    },
}
