"""Factories and helpers of the control tests."""

from datetime import timedelta

from django.utils import timezone

from fangkong.control import services


def open_order(person, category="close_contact", days_ago=0, actor=None, **kwargs):
    start = timezone.now() - timedelta(days=days_ago)
    return services.control_order_open(
        actor=actor, person=person, category=category, start=start, reason="test", **kwargs
    )


def make_site(node, code="S1", floors=1, rooms=2, **kwargs):
    return services.site_create(
        actor=None,
        code=code,
        name=f"Site {code}",
        jurisdiction=node,
        floors=floors,
        rooms_per_floor=rooms,
        **kwargs,
    )
