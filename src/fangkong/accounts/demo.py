"""The demo's logins: one per role, placed on the demo city's nodes (people.demo runs the demo)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import translation

from fangkong.audit.services import audit_updated

from .models import User
from .roles import Role, WorkingGroup
from .services import user_create

DEMO_PASSWORD = "fangkong2022"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    level: str  # the level of the node it works in (geo's Level values): see geo.demo.demo_nodes
    display_name: str
    working_group: str = ""


# HQ staff without a working group see masked personal data; the district user is in the
# tracing group and sees it in full, so the two logins show both sides of the masking rule.
DEMO_ACCOUNTS = [
    DemoAccount("commander", Role.COMMANDER, "city", "王指挥"),
    DemoAccount("hq_staff", Role.HQ_STAFF, "city", "李参谋"),
    DemoAccount("district", Role.HQ_STAFF, "district", "张区长", WorkingGroup.TRACING),
    DemoAccount("epidemiologist", Role.EPIDEMIOLOGIST, "city", "刘流调", WorkingGroup.TRACING),
    DemoAccount("grid_worker", Role.GRID_WORKER, "grid", "陈网格"),
    DemoAccount("sampler", Role.SAMPLER, "community", "杨采样", WorkingGroup.TESTING),
    DemoAccount("lab_staff", Role.LAB_STAFF, "city", "黄检测", WorkingGroup.TESTING),
    DemoAccount(
        "isolation_staff", Role.ISOLATION_STAFF, "district", "赵隔离", WorkingGroup.ISOLATION
    ),
    DemoAccount("hospital_staff", Role.HOSPITAL_STAFF, "city", "周医生", WorkingGroup.TREATMENT),
    DemoAccount("checkpoint_staff", Role.CHECKPOINT_STAFF, "district", "吴卡口"),
    DemoAccount("supply_officer", Role.SUPPLY_OFFICER, "city", "徐物资", WorkingGroup.SUPPLIES),
    DemoAccount("inspector", Role.INSPECTOR, "city", "孙督查", WorkingGroup.INSPECTION),
    DemoAccount("place_staff", Role.PLACE_STAFF, "community", "林场所"),
    DemoAccount("vaccinator", Role.VACCINATOR, "district", "何接种"),
    DemoAccount("enterprise_staff", Role.ENTERPRISE_STAFF, "district", "郑企业"),
    DemoAccount("auditor", Role.AUDITOR, "city", "马审计"),
    DemoAccount("admin", Role.ADMIN, "city", "朱管理"),
]


def demo_accounts_ensure(*, nodes: Mapping[str, object]) -> list[User]:
    """Create or rebind one login per role on ``nodes`` (level -> jurisdiction); an existing
    password is kept (hashing it again on every start costs seconds, and a presenter may have
    changed it on purpose)."""
    users = []
    with transaction.atomic():
        for account in DEMO_ACCOUNTS:
            wanted = {
                "role": account.role,
                "working_group": account.working_group,
                "jurisdiction": nodes[account.level],
                "display_name": account.display_name,
            }
            user = User.objects.filter(username=account.username).first()
            if user is None:
                user = user_create(username=account.username, password=DEMO_PASSWORD, **wanted)
            else:
                before = {field: getattr(user, field) for field in wanted}
                if before != wanted or not user.is_active:
                    for field, value in wanted.items():
                        setattr(user, field, value)
                    user.is_active = True
                    user.save()
                    audit_updated(actor=None, obj=user, before=before, after=wanted)
            users.append(user)
    return users


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def logins_table(users: list[User]) -> str:
    """The logins as an aligned text table (CJK characters count two columns)."""
    rows = [("username", "角色", "role", "辖区 jurisdiction", "姓名")]
    for user in users:
        role = Role(user.role)
        with translation.override("zh-hans"):
            chinese = str(role.label)
        with translation.override("en"):
            english = str(role.label)
        rows.append((user.username, chinese, english, user.jurisdiction.name, user.display_name))
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
