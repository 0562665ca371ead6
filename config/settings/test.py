"""The test suite: fast hashing, the database chosen by FANGKONG_DATABASE_URL (SQLite by default)."""

import warnings

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
SECRET_KEY = "fangkong-test-suite-key-not-for-any-deployment-0123456789abcdef"
# The suite never runs collectstatic: let WhiteNoise find files where the finders do.
WHITENOISE_USE_FINDERS = True

# Static files come from the finders here (runserver; WHITENOISE_USE_FINDERS), so STATIC_ROOT
# may not exist: WhiteNoise's warning about it is noise.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
