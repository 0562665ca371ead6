"""The last part of the demo story: outlines for the HQ map, the daily reports of the last days at
three levels (city, districts, streets: the older days signed, one street late, yesterday's still
going up the levels), and the published bulletins of the last week with this morning's draft.

It builds on every earlier step's data and creates no cases itself: the figures and bulletins
show whatever the tracing, control, testing and supplies steps put there.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.command import selectors as command_selectors
from fangkong.command import services as command
from fangkong.command.models import Bulletin, DailyReport
from fangkong.geo.models import Jurisdiction, Level

from .outlines import outlines_generate

REPORT_DAYS = 4  # yesterday and the three days before
BULLETIN_DAYS = 7
DUTY = ["值班长", "值班员", "副主任", "常务副指挥"]


def _signer(node: Jurisdiction, rng: random.Random) -> str:
    """The duty officer of a district or street: their reports come in on paper and by phone
    and HQ records the signature under that name (the demo's logins are the ones printed)."""
    return f"{node.name}{rng.choice(DUTY)}"


def _entries(rng: random.Random, level: str) -> dict:
    scale = {"street": 1, "district": 0, "city": 0}[level]
    if not scale:
        return {"key_work": "统筹调度各街道核酸检测和隔离转运，督导封控区物资保障。"}
    return {
        "staff_on_duty": rng.randint(60, 180),
        "volunteers": rng.randint(80, 400),
        "households_supplied": rng.randint(200, 1500),
        "key_work": rng.choice(
            [
                "完成辖区全员核酸采样，转运密接人员至集中隔离点。",
                "逐户排查返城人员，落实居家健康监测。",
                "封控小区生活物资配送到户，重点人群上门服务。",
            ]
        ),
        "problems": rng.choice(["", "采样人员紧张，请求区级支援 20 人。", "防护服库存偏紧。"]),
    }


def analytics_demo(stdout, seed: int) -> None:
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    outlined = outlines_generate()
    city = Jurisdiction.objects.filter(level=Level.CITY).order_by("path").first()
    if city is None:
        return
    if DailyReport.objects.filter(jurisdiction=city, day=yesterday).exists():
        stdout.write(f"研判与日报: 演示数据已存在，保持不变（地图边界新增 {outlined} 个）。")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["commander", "hq_staff"])}
    if len(users) != 2:
        stdout.write("研判与日报: 缺少演示账号，跳过。")
        return
    rng = random.Random(seed)
    districts = list(
        Jurisdiction.objects.filter(level=Level.DISTRICT, parent=city).order_by("path")
    )
    streets = list(
        Jurisdiction.objects.filter(level=Level.STREET, path__startswith=city.path).order_by("path")
    )
    now = timezone.now()
    late_street = streets[min(2, len(streets) - 1)] if streets else None
    pending_district = districts[-1] if len(districts) > 1 else None
    with transaction.atomic():
        signers = {n.pk: _signer(n, rng) for n in districts + streets}
        for back in range(REPORT_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            command.daily_reports_assemble(day=day, root=city)
            reports = {r.jurisdiction_id: r for r in DailyReport.objects.filter(day=day)}
            for street in streets:
                report = reports[street.pk]
                command.daily_report_fill(
                    actor=None, report=report, entries=_entries(rng, "street")
                )
                if (
                    day == yesterday
                    and pending_district
                    and street.path.startswith(pending_district.path)
                    and street == _last(streets, pending_district)
                ):
                    continue  # yesterday: one street of the last district has not reported yet
                minutes = rng.randint(20, 110)
                when = report.due_at - dt.timedelta(minutes=minutes)
                if street == late_street and back == 2:
                    when = report.due_at + dt.timedelta(hours=2, minutes=14)
                command.daily_report_sign(
                    actor=None, report=report, now=min(when, now), signer=signers[street.pk]
                )
            if day == yesterday:
                # Yesterday's reports are going up: the districts sign this morning, live.
                continue
            for district in districts:
                report = reports[district.pk]
                command.daily_report_fill(
                    actor=None, report=report, entries=_entries(rng, "district")
                )
                command.daily_report_sign(
                    actor=None,
                    signer=signers[district.pk],
                    report=report,
                    now=min(report.due_at - dt.timedelta(minutes=rng.randint(5, 40)), now),
                )
            report = reports[city.pk]
            command.daily_report_sign(
                actor=users["commander"],
                report=report,
                now=min(report.due_at - dt.timedelta(minutes=rng.randint(5, 30)), now),
            )
        command.daily_reports_flag_late(now=now)

        for back in range(BULLETIN_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            bulletin = command.bulletin_generate(actor=users["hq_staff"], node=city, day=day)
            if back == 1:
                continue  # this morning's draft, waiting for the commander
            command.bulletin_approve(actor=users["commander"], bulletin=bulletin)
            command.bulletin_publish(actor=users["hq_staff"], bulletin=bulletin)
            # Published the next morning, as the real ones were.
            Bulletin.objects.filter(pk=bulletin.pk).update(
                approved_at=_morning(day, 7, 40), published_at=_morning(day, 8, 0)
            )
    # The figures the daily-reports page shows the commander for yesterday (its default day).
    counts = command_selectors.daily_report_counts(actor=users["commander"], day=yesterday)
    stdout.write(
        f"研判与日报: 地图边界 {outlined} 个；近 {REPORT_DAYS} 天三级日报 "
        f"{DailyReport.objects.count()} 份；昨日 {counts['reports']} 份（已签发 "
        f"{counts['signed']}，逾期 {counts['late']}）；"
        f"通报 {BULLETIN_DAYS - 1} 期已发布，今日草稿待审核。"
    )


def _last(streets: list[Jurisdiction], district: Jurisdiction) -> Jurisdiction | None:
    inside = [s for s in streets if s.path.startswith(district.path)]
    return inside[-1] if inside else None


def _morning(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour, minute))
    )
