"""The small state machines of places people are put in (isolation rooms, hospital beds)."""

from __future__ import annotations

from django.db import transaction

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record

# Cleaning done (cleaning → vacant), or a place taken out of / back into service. Occupying and
# freeing go through the admission and assignment services, which also move the person.
MANUAL_MOVES = {
    ("cleaning", "vacant"),
    ("vacant", "out_of_service"),
    ("cleaning", "out_of_service"),
    ("out_of_service", "vacant"),
}


def place_state_set(*, actor, place, state: str, jpath: str, refused, changed):
    """Move `place` (a model with a `state` field) by one of MANUAL_MOVES, checked against the
    row as stored so two operators cannot both win, and audited. `refused(before, state)` and
    `changed()` build the caller's own exceptions."""
    before = place.state
    if (before, state) not in MANUAL_MOVES:
        raise refused(before, state)
    with transaction.atomic():
        if not type(place).objects.filter(pk=place.pk, state=before).update(state=state):
            raise changed()
        place.state = state
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=place,
            jurisdiction_path=jpath,
            changes={"state": [before, state]},
        )
    return place
