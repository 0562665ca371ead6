"""The command part of the demo story: units, tasks (one overdue and escalated), an inspection with an
open finding, response level II declared 20 days ago, and a high-risk area in the first district
with a downgrade proposal waiting for HQ.

Everything goes through the module's services with the demo logins; times are relative to now.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.accounts.roles import WorkingGroup
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level

from . import services
from .models import CheckItem, Unit

HQ_NAME = "市疫情防控指挥部"
WORKING_GROUPS = [
    (WorkingGroup.TRACING, "流调溯源组"),
    (WorkingGroup.TESTING, "核酸检测组"),
    (WorkingGroup.TREATMENT, "医疗救治组"),
    (WorkingGroup.ISOLATION, "隔离管控组"),
    (WorkingGroup.SUPPLIES, "物资保障组"),
    (WorkingGroup.PUBLICITY, "宣传组"),
    (WorkingGroup.INSPECTION, "督查组"),
]


def command_demo(stdout, seed: int) -> None:
    nodes = demo_nodes()
    city, district = nodes[Level.CITY], nodes[Level.DISTRICT]
    if Unit.objects.filter(jurisdiction=city, name=HQ_NAME).exists():
        stdout.write("指挥调度: 演示数据已存在，保持不变。")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["commander", "inspector"])}
    if len(users) != 2:
        stdout.write("指挥调度: 缺少演示账号，跳过。")
        return
    commander, inspector = users["commander"], users["inspector"]
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        services.unit_create(actor=None, name=HQ_NAME, kind=Unit.Kind.HQ, jurisdiction=city)
        services.unit_create(
            actor=None, name="指挥部领导小组", kind=Unit.Kind.LEADING_GROUP, jurisdiction=city
        )
        groups = {
            code: services.unit_create(
                actor=None,
                name=name,
                kind=Unit.Kind.WORKING_GROUP,
                jurisdiction=city,
                working_group=code,
            )
            for code, name in WORKING_GROUPS
        }
        district_hq = services.unit_create(
            actor=None,
            name=f"{district.name}疫情防控指挥部",
            kind=Unit.Kind.HQ,
            jurisdiction=district,
        )

        services.response_level_declare(
            actor=commander,
            level=1,
            reason="本土聚集性疫情暴发，启动一级响应",
            jurisdiction=city,
            declared_at=now - dt.timedelta(days=45),
        )
        services.response_level_declare(
            actor=commander,
            level=2,
            reason="疫情得到初步控制，调整为二级响应",
            jurisdiction=city,
            declared_at=now - dt.timedelta(days=20),
        )

        services.task_dispatch(
            actor=commander,
            title="完成第二轮全员核酸检测样本转运",
            description="各采样点样本两小时内送达实验室。",
            deadline=now + dt.timedelta(hours=10),
            priority="urgent",
            unit=groups[WorkingGroup.TESTING],
        )
        services.task_dispatch(
            actor=commander,
            title="新增 2000 间隔离房间",
            deadline=now + dt.timedelta(days=2),
            priority="high",
            unit=groups[WorkingGroup.ISOLATION],
        )
        services.task_dispatch(
            actor=commander,
            title=f"{nodes[Level.GRID].name}：逐户排查返城人员",
            deadline=now + dt.timedelta(days=1),
            node=nodes[Level.GRID],
        )
        late = services.task_dispatch(
            actor=commander,
            title=f"{district.name}：封控区生活物资配送到户",
            description="封控区每户每三天配送一次蔬菜包。",
            deadline=now - dt.timedelta(hours=30),
            priority="urgent",
            unit=district_hq,
        )
        services.tasks_escalate(now=now)

        inspection = services.inspection_start(
            actor=inspector,
            place=f"{nodes[Level.COMMUNITY].name}东门卡口",
            jurisdiction=nodes[Level.COMMUNITY],
            unannounced=True,
            visited_at=now - dt.timedelta(days=1, hours=3),
        )
        items = list(
            CheckItem.objects.filter(gate__template_id=inspection.template_id).values_list(
                "pk", "gate__code"
            )
        )
        answers = {pk: ("ok", "") for pk, _code in items}
        traffic = next(pk for pk, code in items if code == "traffic")
        answers[traffic] = ("finding", "夜间卡口无人值守，未查验行程码")
        services.inspection_submit(
            actor=inspector,
            inspection=inspection,
            answers=answers,
            deadline=today + dt.timedelta(days=2),
        )

        area_node = _community_without_cases(district) or nodes[Level.COMMUNITY]
        area = services.risk_area_declare(
            actor=commander,
            level="high",
            preset="2022-06",
            since=today - dt.timedelta(days=12),
            jurisdiction=area_node,
            reason="发现聚集性病例，划为高风险区",
        )
        services.risk_area_update(
            actor=commander,
            area=area,
            last_case_on=today - dt.timedelta(days=8),
            negative_round_on=today - dt.timedelta(days=1),
        )
        proposals = services.risk_areas_review(today=today)
    stdout.write(
        f"指挥调度: {Unit.objects.count()} 个单位，任务“{late.title}”已超期升级，"
        f"一次督查待整改，二级响应，{area.name}高风险区{'已' if proposals else '未'}提出降级建议。"
    )


def _community_without_cases(district: Jurisdiction) -> Jurisdiction | None:
    """A community of the district where mass testing found no positive, so it can be downgraded."""
    from fangkong.testing.models import PositiveFinding

    case_paths = set(
        PositiveFinding.objects.filter(jpath__startswith=district.path).values_list(
            "jpath", flat=True
        )
    )
    for community in Jurisdiction.objects.filter(
        level=Level.COMMUNITY, path__startswith=district.path
    ).order_by("path"):
        if not any(path.startswith(community.path) for path in case_paths):
            return community
    return None
