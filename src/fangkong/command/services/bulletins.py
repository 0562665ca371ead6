"""Writes of the command centre: the bulletins (信息发布), generated, edited, approved, published."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.services import audit_created, audit_updated

from .. import roles
from ..models import Bulletin
from ._common import CommandRefused, _require, _within


def bulletin_generate(*, actor, node, day: dt.date, force: bool = False) -> Bulletin:
    """Generate the day's bulletin from the data as a draft (regenerated while it is still an
    unedited draft, or an edited one with `force`; an approved one is kept)."""
    from .. import bulletin as composer

    _require(actor is None or roles.can_edit_bulletin(actor))
    if actor is not None:
        _within(actor, node.path)
    data = composer.bulletin_data(node=node, day=day)
    title_zh, body_zh = composer.compose(data, "zh-hans")
    title_en, body_en = composer.compose(data, "en")
    with transaction.atomic():
        existing = Bulletin.objects.select_for_update().filter(jurisdiction=node, day=day).first()
        if existing is not None and (
            existing.state != Bulletin.State.DRAFT or (existing.edited and not force)
        ):
            return existing
        fields = dict(
            title_zh=title_zh,
            body_zh=body_zh,
            title_en=title_en,
            body_en=body_en,
            data=data,
        )
        if existing is None:
            bulletin = Bulletin.objects.create(
                jurisdiction=node, jpath=node.path, day=day, created_by=actor, **fields
            )
            audit_created(actor=actor, obj=bulletin, fields={"day": day.isoformat()})
        else:
            before = {"body_zh": existing.body_zh, "edited": existing.edited}
            for key, value in fields.items():
                setattr(existing, key, value)
            existing.edited = False
            existing.save()
            audit_updated(
                actor=actor,
                obj=existing,
                before=before,
                after={"body_zh": existing.body_zh, "edited": False},
            )
            bulletin = existing
    return bulletin


def bulletin_edit(
    *, actor, bulletin: Bulletin, title_zh: str, body_zh: str, title_en: str = "", body_en: str = ""
) -> Bulletin:
    from .. import bulletin as composer

    _require(roles.can_edit_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.DRAFT:
        raise CommandRefused(_("only a draft can be edited"), code="not_draft")
    if not title_zh.strip() or not body_zh.strip():
        raise CommandRefused(_("the Chinese title and text are required"))
    if any(composer.carries_personal_numbers(t) for t in (title_zh, body_zh, title_en, body_en)):
        raise CommandRefused(
            _("the text contains an ID number or a phone number; a bulletin never publishes them"),
            code="personal_numbers",
        )
    with transaction.atomic():
        before = {"title_zh": bulletin.title_zh, "body_zh": bulletin.body_zh}
        bulletin.title_zh, bulletin.body_zh = title_zh.strip(), body_zh.strip()
        bulletin.title_en, bulletin.body_en = title_en.strip(), body_en.strip()
        bulletin.edited = True
        bulletin.save()
        audit_updated(
            actor=actor,
            obj=bulletin,
            before=before,
            after={"title_zh": bulletin.title_zh, "body_zh": bulletin.body_zh},
        )
    return bulletin


def bulletin_approve(*, actor, bulletin: Bulletin) -> Bulletin:
    _require(roles.can_approve_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.DRAFT:
        raise CommandRefused(_("only a draft can be approved"), code="not_draft")
    with transaction.atomic():
        bulletin.state = Bulletin.State.APPROVED
        bulletin.approved_by, bulletin.approved_at = actor, timezone.now()
        bulletin.save(update_fields=["state", "approved_by", "approved_at"])
        audit_updated(
            actor=actor, obj=bulletin, before={"state": "draft"}, after={"state": "approved"}
        )
    return bulletin


def bulletin_publish(*, actor, bulletin: Bulletin, pdf_html: str | None = None) -> Bulletin:
    """Publish an approved bulletin; `pdf_html` (its print page) is printed to the stored PDF
    when the server can (see pdf.py), otherwise the PDF link serves the print page."""
    from django.core.files.base import ContentFile

    from .. import pdf

    _require(roles.can_edit_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.APPROVED:
        raise CommandRefused(_("a bulletin is published only after approval"), code="not_approved")
    document = pdf.html_to_pdf(pdf_html) if pdf_html and pdf.pdf_enabled() else None
    with transaction.atomic():
        bulletin.state = Bulletin.State.PUBLISHED
        bulletin.published_by, bulletin.published_at = actor, timezone.now()
        if document:
            bulletin.pdf.save(
                f"bulletin-{bulletin.day.isoformat()}.pdf", ContentFile(document), save=False
            )
        bulletin.save()
        audit_updated(
            actor=actor, obj=bulletin, before={"state": "approved"}, after={"state": "published"}
        )
    return bulletin
