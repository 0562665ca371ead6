"""Production: PostgreSQL and Redis expected, secrets from the environment, HTTPS only.

Refuses to start without its own secret key. Every security header and cookie flag that
`fangkong check --deploy` asks for is on by default; the ones that depend on how the site is put
behind a proxy are configurable (README, "Configuration").
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str

from .base import *  # noqa: F403
from .base import DEV_SECRET_KEY

DEBUG = False

SECRET_KEY = env_str("FANGKONG_SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Production needs its own secret key: set FANGKONG_SECRET_KEY to 50 or more random "
        "characters (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "FANGKONG_SECRET_KEY is the public development key or too weak (fewer than 50 "
        "characters or 5 distinct ones): generate one with secrets.token_urlsafe(50)."
    )

# HTTPS: redirect plain HTTP, tell browsers to keep to HTTPS, cookies never sent in clear.
SECURE_SSL_REDIRECT = env_bool("FANGKONG_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("FANGKONG_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FANGKONG_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("FANGKONG_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("FANGKONG_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy: the header it sets, e.g. "X-Forwarded-Proto: https". Only set
# this when the proxy strips the header from clients, or anyone can claim HTTPS.
_proxy_header = env_str("FANGKONG_PROXY_SSL_HEADER", "")
if _proxy_header:
    name, _, value = _proxy_header.partition(":")
    if not value.strip():
        raise ImproperlyConfigured(
            "FANGKONG_PROXY_SSL_HEADER must read 'Header-Name: value', e.g. 'X-Forwarded-Proto: https'."
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + name.strip().upper().replace("-", "_"), value.strip())

# Hashed, compressed static files, collected by `fangkong serve` at start-up when out of date.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The API's schema and docs map every endpoint: only for logged-in users unless opened on purpose.
PUBLIC_SCHEMA = env_bool("FANGKONG_PUBLIC_SCHEMA", False)
