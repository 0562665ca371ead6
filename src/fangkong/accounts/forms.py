"""The login form, with the throttle on failed attempts."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .services import login_allowed, login_failed


class ThrottledLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed logins. Wait a few minutes and try again."),
    }

    def _ip(self) -> str | None:
        return self.request.META.get("REMOTE_ADDR") if self.request else None

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if not login_allowed(username=username, ip=self._ip()):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            login_failed(username=username, ip=self._ip())
            raise
