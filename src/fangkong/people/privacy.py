"""Who sees personal data in full: masked by default, and every unmasked view audited."""

from django.core.exceptions import PermissionDenied

from fangkong.accounts.roles import can_see_pii
from fangkong.audit.services import audit_pii_view
from fangkong.common.masking import mask_id_number, mask_phone

from .models import Person

PII_FIELDS = ["document_number", "phone"]


def masked(person: Person) -> dict:
    return {
        "document_number": mask_id_number(person.document_number),
        "phone": mask_phone(person.phone),
    }


def person_pii_reveal(*, actor, person: Person) -> dict:
    """Full ID number and phone for a role that may see them; the view is written to the audit log."""
    if not can_see_pii(actor):
        raise PermissionDenied("your role may not see personal data")
    audit_pii_view(actor=actor, obj=person, fields=PII_FIELDS)
    return {"document_number": person.document_number, "phone": person.phone}
