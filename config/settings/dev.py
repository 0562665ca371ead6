"""The demo and local development: SQLite by default, jobs in-process unless Redis is configured."""

import warnings

from .base import *  # noqa: F403

DEBUG = True
# A fixed, public key: fine for a demo on one's own machine, refused by prod.py.
SECRET_KEY = DEV_SECRET_KEY  # noqa: F405

# Static files come from the finders here (runserver; WHITENOISE_USE_FINDERS), so STATIC_ROOT
# may not exist: WhiteNoise's warning about it is noise.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
