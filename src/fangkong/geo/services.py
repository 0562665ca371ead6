"""Writes to the jurisdiction tree."""

from django.db import transaction

from fangkong.audit.services import audit_created
from fangkong.common import errors

from .models import LEVEL_ORDER, Jurisdiction


class TreeError(errors.DomainError, ValueError):
    pass


def child_path(parent: Jurisdiction | None, code: str) -> str:
    return f"{parent.path if parent else '/'}{code}/"


def jurisdiction_create(
    *,
    actor=None,
    code: str,
    level: str,
    name: str,
    parent: Jurisdiction | None = None,
    name_en: str = "",
    population: int | None = None,
    outline: dict | None = None,
) -> Jurisdiction:
    if parent is not None and LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(parent.level):
        raise TreeError(f"a {level} cannot sit under a {parent.level}")
    with transaction.atomic():
        node = Jurisdiction.objects.create(
            code=code,
            level=level,
            name=name,
            name_en=name_en,
            parent=parent,
            population=population,
            outline=outline,
            path=child_path(parent, code),
            depth=(parent.depth + 1) if parent else 0,
        )
        audit_created(actor=actor, obj=node, fields={"code": code, "level": level, "name": name})
    return node
