"""The resumption part of the demo story: the mask plant and two schools of the first district
(and the reagent maker of the last) file for resumption — one approved, one returned with its
reasons, two awaiting the district — the plant's and a school's returning staff and students
are registered, those from a risk area put under control; one readiness gap gets its task.

Everything goes through the module's services with the demo logins; idempotent."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.command.models import RiskArea
from fangkong.control.models import ControlOrder
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person
from fangkong.supplies.models import Enterprise

from . import readiness, services
from .models import Organisation

CLEAN_ORIGINS = [
    "江苏省苏州市姑苏区",
    "安徽省合肥市蜀山区",
    "浙江省杭州市西湖区",
    "江苏省扬州市邗江区",
]

PLAN = {
    "duty_officer": "周建国",
    "duty_phone": "13905170001",
    "canteen": "错峰分三批就餐，单人单桌，餐桌间距一米以上",
    "dormitory": "每间不超过4人；外地返岗人员单独楼层，设临时观察室2间",
    "plan": (
        "一、每日上下班两次测温并登记；二、外地返岗人员凭48小时核酸阴性证明返岗；"
        "三、公共区域每日两次消毒；四、发现发热等症状立即隔离并报告属地社区。"
    ),
}


def _risk_origin() -> str:
    """Where a returning worker from a risk area comes from: an active area another city
    declared (as arrivals name it), else one of this city's own (its node code)."""
    area = (
        RiskArea.objects.filter(ended_on__isnull=True, level__in=["high", "medium"])
        .order_by("-external", "level", "pk")
        .first()
    )
    if area is None:
        return ""
    if area.external:
        return f"{area.province}{area.city}{area.district}{area.name}"
    return area.jpath.rstrip("/").rsplit("/", 1)[-1]


def _people(node: Jurisdiction, n: int, skip: int) -> list[Person]:
    free = Person.objects.filter(jpath__startswith=node.path).exclude(
        pk__in=ControlOrder.objects.filter(status="open").values("person_id")
    )
    return list(free.order_by("pk")[skip : skip + n])


def resumption_demo(stdout, seed: int) -> None:
    if Organisation.objects.exists():
        stdout.write("复工复产: 演示数据已存在，保持不变。")
        return
    nodes = demo_nodes()
    district = nodes[Level.DISTRICT]
    users = {
        u.username: u for u in User.objects.filter(username__in=["district", "enterprise_staff"])
    }
    if len(users) != 2:
        stdout.write("复工复产: 缺少演示账号，跳过。")
        return
    hq, officer = users["district"], users["enterprise_staff"]
    rng = np.random.default_rng(seed)
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        plant = Enterprise.objects.filter(jpath__startswith=district.path).order_by("code").first()
        organisations = []
        if plant is not None:
            organisations.append(
                services.organisation_register(actor=hq, kind="enterprise", enterprise=plant)
            )
        street = nodes[Level.STREET] or district
        for code, name in (("SCH-XW-01", "第一中学"), ("SCH-XW-02", "实验小学")):
            organisations.append(
                services.organisation_register(
                    actor=hq,
                    kind="school",
                    code=code,
                    name=f"{district.name}{name}",
                    jurisdiction=street,
                )
            )
        for organisation in organisations[:2]:
            services.organisation_officer_add(actor=hq, organisation=organisation, user=officer)
        first, second, third = (organisations + organisations[-1:])[:3]
        decisions = [
            (first, 260, 48, "approve", ""),
            (
                second,
                1200,
                85,
                "return",
                "学生宿舍未落实临时观察室，食堂就餐未错峰，请补充后重新申报",
            ),
            (third, 640, 12, "", ""),
        ]
        for organisation, staff, nonlocal_, decision, reason in decisions:
            application = services.application_submit(
                actor=None if organisation.officers.count() == 0 else officer,
                organisation=organisation,
                resume_on=today + dt.timedelta(days=3),
                staff_count=staff,
                nonlocal_staff=nonlocal_,
                masks=int(staff * 14 * rng.uniform(0.6, 1.4)),
                thermometers=max(2, staff // 50),
                at=now - dt.timedelta(days=2),
                **PLAN,
            )
            if decision == "approve":
                services.application_approve(
                    actor=hq, application=application, at=now - dt.timedelta(days=1)
                )
            elif decision == "return":
                services.application_return(
                    actor=hq, application=application, reason=reason, at=now - dt.timedelta(days=1)
                )
        other = Enterprise.objects.exclude(jpath__startswith=district.path).order_by("code").first()
        if other is not None:
            elsewhere = services.organisation_register(
                actor=None, kind="enterprise", enterprise=other
            )
            services.application_submit(
                actor=None,
                organisation=elsewhere,
                resume_on=today + dt.timedelta(days=5),
                staff_count=180,
                nonlocal_staff=22,
                masks=3000,
                thermometers=6,
                **PLAN,
            )
        # The workforce: most from places without risk, a few from a risk area.
        risky = _risk_origin()
        registered = under_control = 0
        for organisation, count, kind in ((first, 12, "staff"), (second, 8, "student")):
            for i, person in enumerate(_people(district, count, skip=registered * 3 + 40)):
                from_risk = bool(risky) and i % 4 == 3
                worker = services.worker_register(
                    actor=officer,
                    organisation=organisation,
                    document_number=person.document_number,
                    name=person.name,
                    phone=person.phone,
                    kind=kind,
                    origin=risky if from_risk else CLEAN_ORIGINS[i % len(CLEAN_ORIGINS)],
                    arrival_date=today - dt.timedelta(days=int(rng.integers(0, 4))),
                )
                registered += 1
                under_control += worker.order_id is not None
        # One gap of the district gets its task, so the page shows both states.
        state = readiness.readiness(actor=hq, node=district)
        dispatched = ""
        if state["gaps"]:
            gap = state["gaps"][0]
            readiness.gap_dispatch(actor=hq, node=district, key=gap.key)
            dispatched = gap.label
    stdout.write(
        f"复工复产: {len(organisations) + (other is not None)} 家企业和学校申报，"
        f"{registered} 名返岗返校人员登记（{under_control} 人来自风险地区，已落实管控）；"
        f"战备缺口 {len(state['gaps'])} 项，已就「{dispatched}」派发任务。"
    )
