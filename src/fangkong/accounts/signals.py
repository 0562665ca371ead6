"""Successful page logins go to the audit log (API logins: services.token_obtain); a changed
account or a deleted token is forgotten by the token memory; every migrate creates the table of
the shared cache when it lives in the database."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.management import call_command
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .authentication import RememberingTokenAuthentication
from .services import login_succeeded


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    login_succeeded(user=user, ip=request.META.get("REMOTE_ADDR") if request else None, via="page")


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=Token)
def forget_tokens(sender, **kwargs):
    # This process forgets at once; the others within authentication.TOKEN_TTL.
    RememberingTokenAuthentication.forget()


def create_cache_table(sender, using="default", **kwargs):
    # Connected in apps.ready for this app only, so it runs once per migrate: `fangkong migrate`,
    # the demo's start and the test database alike. createcachetable skips existing tables
    # and caches that are not in the database (Redis).
    call_command("createcachetable", database=using, verbosity=0)
