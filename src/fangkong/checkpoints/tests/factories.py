"""Helpers of the checkpoints tests."""

import datetime as dt

from fangkong.checkpoints import services
from fangkong.command.models import RiskArea


def make_checkpoint(node, code="K1", kind="highway_exit"):
    return services.checkpoint_create(
        actor=None, code=code, name=f"Checkpoint {code}", kind=kind, jurisdiction=node
    )


def external_area(name, level, city="上海市", district="浦东新区"):
    today = dt.date.today()
    return RiskArea.objects.create(
        name=name,
        level=level,
        external=True,
        province="上海市",
        city=city,
        district=district,
        external_key=f"{city}|{district}|{name}",
        since=today,
        level_since=today,
    )


def register(checkpoint, person=None, **kwargs):
    values = {
        "origin": "江苏省苏州市",
        "temperature": "36.5",
        "health_code": "green",
        "destination": "玄武区长江路1号",
    }
    if person is not None:
        values["document_number"] = person.document_number
    values.update(kwargs)
    return services.arrival_register(actor=None, checkpoint=checkpoint, **values)
