"""Accounts: every user has one role and is bound to one jurisdiction node."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from .roles import Role, WorkingGroup


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    working_group = models.CharField(
        _("working group"), max_length=16, choices=WorkingGroup.choices, blank=True
    )
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction",
        on_delete=models.PROTECT,
        null=True,
        related_name="users",
        verbose_name=_("jurisdiction"),
    )
    display_name = models.CharField(_("display name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("user")

    def save(self, *args, **kwargs):
        # set_password() keeps the new password in _password until the save: a changed password
        # revokes the API tokens issued under the old one (sessions end through Django's own
        # session hash check).
        password_changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            Token.objects.filter(user=self).delete()

    def __str__(self) -> str:
        return self.display_name or self.username
