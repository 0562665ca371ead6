"""Helpers of the screening tests: one visit as the phone sends it."""

import uuid

from django.utils import timezone

from fangkong.screening import services
from fangkong.screening.models import Assignment


def assignment_of(campaign, household) -> Assignment:
    return Assignment.objects.get(campaign=campaign, household=household)


def payload(campaign, household, people=(), outcome="met", client_id=None, **answers) -> dict:
    assignment = assignment_of(campaign, household)
    return {
        "client_id": str(client_id or uuid.uuid4()),
        "assignment": assignment.pk,
        "version": assignment.version,
        "outcome": outcome,
        "visited_at": timezone.now().isoformat(),
        "people": [{"person": p.pk, "name": p.name, **answers} for p in people],
    }


def visit(actor, campaign, household, people=(), **kwargs):
    data = payload(campaign, household, people, **kwargs)
    return services.visit_record(
        actor=actor,
        client_id=data["client_id"],
        assignment_id=data["assignment"],
        version=data["version"],
        outcome=data["outcome"],
        visited_at=data["visited_at"],
        people=data["people"],
    )
