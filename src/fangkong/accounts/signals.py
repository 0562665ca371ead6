"""Successful logins, from the page or the API, go to the audit log; a changed account or a
deleted token is forgotten by the token memory."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .authentication import RememberingTokenAuthentication
from .services import login_succeeded


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    login_succeeded(user=user, ip=request.META.get("REMOTE_ADDR") if request else None)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=Token)
def forget_tokens(sender, **kwargs):
    # This process forgets at once; the others within authentication.TOKEN_TTL.
    RememberingTokenAuthentication.forget()
