"""Who sees personal data in full: masked by default, and every unmasked view audited."""

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import PermissionDenied

from fangkong.accounts.roles import can_see_pii
from fangkong.audit.models import Action
from fangkong.audit.services import audit_pii_view, audit_record
from fangkong.common.masking import age_band, mask_id_number, mask_phone
from fangkong.common.scope import path_within

from .models import Person

PII_FIELDS = ["document_number", "phone"]


def masked(person: Person) -> dict:
    return {
        "document_number": mask_id_number(person.document_number),
        "phone": mask_phone(person.phone),
    }


def birth_fields(actor, person: Person, age: int) -> dict:
    """Birth date and age for roles that may see personal data; an age band for everyone.

    An exact age (or birth date) beside the masked ID would give back the birth-date digits of
    the number, so roles without the right get the ten-year band only."""
    if can_see_pii(actor):
        return {"birth_date": person.birth_date, "age": age, "age_band": age_band(age)}
    return {"birth_date": None, "age": None, "age_band": age_band(age)}


def person_pii_reveal(*, actor, person: Person) -> dict:
    """Full ID number and phone for a role that may see them; the view is written to the audit log."""
    if not can_see_pii(actor):
        raise PermissionDenied("your role may not see personal data")
    audit_pii_view(actor=actor, obj=person, fields=PII_FIELDS)
    return {"document_number": person.document_number, "phone": person.phone}


def number_digest(number: str) -> str:
    """A keyed digest of a looked-up number: an investigator holding the key can confirm that a
    given number was searched, while the audit log itself does not hold it in clear."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def audit_number_lookup(*, actor, number: str, field: str, person_ids: list[int]) -> None:
    """An exact ID-number or phone lookup confirms a guess, so each one is recorded: who, what
    kind of number (masked, plus its keyed digest), and which people it found."""
    shown = mask_id_number(number) if field == "document_number" else mask_phone(number)
    audit_record(
        actor=actor,
        action=Action.VIEW_PII,
        object_type="people.person",
        object_id=",".join(str(pk) for pk in person_ids)[:64],
        object_repr=f"lookup {shown}",
        jurisdiction_path=getattr(getattr(actor, "jurisdiction", None), "path", ""),
        changes={
            "lookup": field,
            "number": shown,
            "digest": number_digest(number),
            "results": person_ids,
        },
    )


def person_for_contact(
    *, actor, person_id: int | None = None, document_number: str = ""
) -> tuple[Person | None, bool]:
    """The person an investigator names as a contact, and whether the actor may read them.

    A contact may live anywhere (exposures cross district borders), so the lead is created for a
    person outside the actor's subtree too; but the caller must answer such a naming without a
    word about the person, and the same way whether the id exists or not, or one case would read
    the registry id by id. Every naming outside the subtree is written to the audit log (found or
    not), so someone walking the ids shows up there."""
    people = Person.objects.select_related("grid")
    try:
        if document_number:
            person = people.filter(document_number=document_number.strip().upper()).first()
        else:
            person = people.filter(pk=int(person_id)).first()
    except (ValueError, TypeError, OverflowError):
        person = None
    readable = person is not None and path_within(actor, person.jpath)
    return person, readable


def audit_contact_named_outside(
    *, actor, person_id, person: Person | None, contact, document_number: str = ""
) -> None:
    audit_record(
        actor=actor,
        action=Action.CREATE,
        object_type="tracing.contact",
        object_id=str(contact.pk) if contact is not None else "",
        object_repr="contact named outside the actor's subtree",
        jurisdiction_path=person.jpath if person is not None else "",
        changes={
            "person": person_id if person_id is not None else (person.pk if person else None),
            "number": mask_id_number(document_number) if document_number else "",
            "found": person is not None,
            "outside_subtree": True,
        },
    )


def shown_numbers(*, actor, people: list[Person]) -> list[dict]:
    """ID numbers and phones of a worklist page as the actor may see them: in full for a role
    that may see personal data (its work needs them, e.g. the sampler registering the untested),
    with one audit entry per person shown, written in one statement; masked for everyone else."""
    if not can_see_pii(actor):
        return [masked(p) for p in people]
    from fangkong.audit.models import AuditEntry
    from fangkong.audit.services import audit_fields

    who = audit_fields(actor)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                **who,
                action=Action.VIEW_PII,
                object_type="people.person",
                object_id=str(p.pk),
                object_repr=str(p)[:200],
                jurisdiction_path=p.jpath,
                changes={"fields": PII_FIELDS, "list": True},
            )
            for p in people
        ]
    )
    return [{"document_number": p.document_number, "phone": p.phone} for p in people]
