"""The demo: a synthetic city, one login per role, and the hook where each module adds its story."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.core.management import call_command
from django.db import transaction
from django.utils import translation

from fangkong.audit.services import audit_updated
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person
from fangkong.people.synth import registry_is_empty, synth_city

from .models import User
from .roles import Role, WorkingGroup
from .services import user_create

DEMO_PASSWORD = "fangkong2022"
DEFAULT_POPULATION = 200_000
DEFAULT_SEED = 2022


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    level: str  # the node it works in: the city, or the first district and the nodes below it
    display_name: str
    working_group: str = ""


# HQ staff without a working group see masked personal data; the district user is in the
# tracing group and sees it in full, so the two logins show both sides of the masking rule.
DEMO_ACCOUNTS = [
    DemoAccount("commander", Role.COMMANDER, Level.CITY, "王指挥"),
    DemoAccount("hq_staff", Role.HQ_STAFF, Level.CITY, "李参谋"),
    DemoAccount("district", Role.HQ_STAFF, Level.DISTRICT, "张区长", WorkingGroup.TRACING),
    DemoAccount("epidemiologist", Role.EPIDEMIOLOGIST, Level.CITY, "刘流调", WorkingGroup.TRACING),
    DemoAccount("grid_worker", Role.GRID_WORKER, Level.GRID, "陈网格"),
    DemoAccount("sampler", Role.SAMPLER, Level.COMMUNITY, "杨采样", WorkingGroup.TESTING),
    DemoAccount("lab_staff", Role.LAB_STAFF, Level.CITY, "黄检测", WorkingGroup.TESTING),
    DemoAccount(
        "isolation_staff", Role.ISOLATION_STAFF, Level.DISTRICT, "赵隔离", WorkingGroup.ISOLATION
    ),
    DemoAccount(
        "hospital_staff", Role.HOSPITAL_STAFF, Level.CITY, "周医生", WorkingGroup.TREATMENT
    ),
    DemoAccount("checkpoint_staff", Role.CHECKPOINT_STAFF, Level.DISTRICT, "吴卡口"),
    DemoAccount("supply_officer", Role.SUPPLY_OFFICER, Level.CITY, "徐物资", WorkingGroup.SUPPLIES),
    DemoAccount("inspector", Role.INSPECTOR, Level.CITY, "孙督查", WorkingGroup.INSPECTION),
    DemoAccount("auditor", Role.AUDITOR, Level.CITY, "马审计"),
    DemoAccount("admin", Role.ADMIN, Level.CITY, "朱管理"),
]

DemoStep = Callable[..., None]

# Each module adds its part of the story here, as a callable or a dotted path to one (a path
# keeps this module free of imports from apps that may themselves import accounts). A step is
# called as step(stdout, seed) after the city and the accounts exist, on every demo start, so
# it must be idempotent: create its data only when it is missing. Steps run in list order,
# so a later module may build on an earlier one's data (e.g. tracing on testing results).
DEMO_STEPS: list[DemoStep | str] = [
    "fangkong.tracing.demo.stale_data_forget",
    "fangkong.testing.demo.testing_demo",
    "fangkong.tracing.demo.tracing_demo",
    "fangkong.control.demo.control_demo",
    "fangkong.care.demo.care_demo",
    "fangkong.checkpoints.demo.checkpoints_demo",
    "fangkong.supplies.demo.supplies_demo",
    "fangkong.command.demo.command_demo",
    "fangkong.analytics.demo.analytics_demo",
]


def demo_nodes() -> dict[str, Jurisdiction]:
    """The city, its first district, and the first street, community and grid inside it."""
    city = Jurisdiction.objects.filter(level=Level.CITY).order_by("path").first()
    district = Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path").first()
    if city is None or district is None:
        raise RuntimeError("the jurisdiction tree has no city or no district")
    nodes = {Level.CITY: city, Level.DISTRICT: district}
    for level in (Level.STREET, Level.COMMUNITY, Level.GRID):
        nodes[level] = (
            Jurisdiction.objects.filter(level=level, path__startswith=district.path)
            .order_by("path")
            .first()
        )
    return nodes


def demo_accounts_ensure() -> list[User]:
    """Create or rebind one login per role; an existing password is kept (hashing it again on
    every start costs seconds, and a presenter may have changed it on purpose)."""
    nodes = demo_nodes()
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


def run_steps(stdout, seed: int) -> None:
    for step in DEMO_STEPS:
        if isinstance(step, str):
            module, _, name = step.rpartition(".")
            step = getattr(import_module(module), name)
        step(stdout, seed)


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


def demo_prepare(
    *, stdout, population: int = DEFAULT_POPULATION, seed: int = DEFAULT_SEED, migrate: bool = True
) -> list[User]:
    """Everything the demo needs before serving; safe to run again and again."""
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    if registry_is_empty():
        stdout.write(f"Building a synthetic city of {population:,} people (seed {seed}) ...")
        summary = synth_city(population=population, seed=seed)
        stdout.write(
            f"  {summary['district']} districts, {summary['street']} streets/towns, "
            f"{summary['community']} communities/villages, {summary['grid']} grids, "
            f"{summary['households']:,} households, {summary['persons']:,} people "
            f"in {summary['seconds']} s"
        )
    else:
        stdout.write(
            f"The registry already holds {Person.objects.count():,} people; kept as it is."
        )
    users = demo_accounts_ensure()
    run_steps(stdout, seed)
    return users
