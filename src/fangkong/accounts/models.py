"""Accounts: every user has one role and is bound to one jurisdiction node."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

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

    def __str__(self) -> str:
        return self.display_name or self.username
