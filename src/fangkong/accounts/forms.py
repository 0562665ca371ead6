"""The login form, with the throttle on failed attempts shared with the API's token login."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from fangkong.common import errors

from .services import login_check, login_failed


class ThrottledLoginForm(AuthenticationForm):
    def _ip(self) -> str | None:
        return self.request.META.get("REMOTE_ADDR") if self.request else None

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        try:
            login_check(username=username, ip=self._ip())
        except errors.DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        try:
            return super().clean()
        except forms.ValidationError:
            try:
                login_failed(username=username, ip=self._ip(), via="page")
            except errors.DomainError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
            raise
