"""Successful logins, from the page or the API, go to the audit log."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import login_succeeded


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    login_succeeded(user=user, ip=request.META.get("REMOTE_ADDR") if request else None)
