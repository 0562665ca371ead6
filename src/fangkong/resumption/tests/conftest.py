"""Fixtures of resumption: an enterprise and a school in district 320102, an officer bound to
the enterprise, HQ of each district, and a high-risk area declared on district 320104."""

import datetime as dt

import pytest

from fangkong.command import services as command
from fangkong.resumption import services
from fangkong.supplies.tests.factories import EnterpriseFactory


@pytest.fixture
def org(tree, make_user):
    hq = make_user(role="hq_staff", node="district")
    enterprise = EnterpriseFactory(code="E-XW1", name="玄武口罩厂", jurisdiction=tree["street"])
    factory = services.organisation_register(actor=hq, kind="enterprise", enterprise=enterprise)
    school = services.organisation_register(
        actor=hq, kind="school", code="S-XW1", name="玄武中学", jurisdiction=tree["community"]
    )
    officer = make_user(role="enterprise_staff", node="district")
    services.organisation_officer_add(actor=hq, organisation=factory, user=officer)
    hq2 = make_user(role="hq_staff", node="district2")
    other = services.organisation_register(
        actor=hq2, kind="school", code="S-QH1", name="秦淮小学", jurisdiction=tree["district2"]
    )
    officer2 = make_user(role="enterprise_staff", node="district2")
    services.organisation_officer_add(actor=hq2, organisation=other, user=officer2)
    commander = make_user(role="commander", node="city")
    area = command.risk_area_declare(
        actor=commander,
        level="high",
        since=dt.date.today(),
        jurisdiction=tree["district2"],
        reason="本土疫情",
    )
    return {
        "hq": hq,
        "hq2": hq2,
        "factory": factory,
        "school": school,
        "other": other,
        "officer": officer,
        "officer2": officer2,
        "commander": commander,
        "area": area,
    }


PLAN = {
    "resume_on": dt.date(2026, 12, 10),
    "duty_officer": "周主任",
    "duty_phone": "13912345678",
    "staff_count": 120,
    "nonlocal_staff": 30,
    "canteen": "错峰分餐，单人单桌",
    "dormitory": "每间不超过4人，外地返岗人员单独安排",
    "masks": 5000,
    "thermometers": 10,
    "plan": "每日两次测温，进出登记，发现发热立即报告社区",
}


@pytest.fixture
def plan():
    return dict(PLAN)
