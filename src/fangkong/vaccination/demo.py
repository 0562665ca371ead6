"""The vaccination part of the demo story: a site per district, the city's doses of 2021–22
imported as the vaccination system's file (about 90 % first dose, 85 % full course, 50 % booster,
fewer among the oldest), a few adverse events with their follow-up, and overdue people in the
demo grid. Deterministic from the seed; idempotent (a second run changes nothing)."""

from __future__ import annotations

import datetime as dt
import io
import time

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level

from . import bulk, services
from .models import Aefi, Dose, Product, Site

# (first dose, full course, booster) by age band, as shares of the band (cumulative).
RATES = {
    0: (0.86, 0.80, 0.05),  # 3–11
    1: (0.96, 0.93, 0.40),  # 12–17
    2: (0.95, 0.92, 0.60),  # 18–59
    3: (0.88, 0.83, 0.52),  # 60–69
    4: (0.80, 0.72, 0.42),  # 70–79
    5: (0.60, 0.50, 0.25),  # 80+
}
# Which product started the course, by share.
MIX = [("BBIBP", 0.42), ("CORONAVAC", 0.33), ("WIBP", 0.08), ("ZF2001", 0.10), ("AD5NCOV", 0.07)]
CAMPAIGN_START = dt.date(2021, 3, 1)


def vaccination_demo(stdout, seed: int) -> None:
    nodes = demo_nodes()
    if Site.objects.filter(code=_site_code(nodes[Level.DISTRICT])).exists():
        stdout.write("疫苗接种: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 75)
    with transaction.atomic():
        sites = _sites(nodes)
    data, n_people = _file(rng, sites)
    job = bulk.import_doses(actor=None, source=io.BytesIO(data), filename="demo-doses.csv")
    aefis = _aefis(rng, nodes)
    stdout.write(
        f"疫苗接种: 接种点 {len(sites)} 个，{n_people:,} 名居民的 {job.created:,} 剂次，"
        f"疑似异常反应 {aefis} 例（{time.perf_counter() - began:.1f} 秒）。"
    )


def _site_code(district: Jurisdiction) -> str:
    return f"JZ-{district.code}"


def _sites(nodes) -> dict[str, str]:
    """One site per district (and a second in the demo district): district path -> site code."""
    out = {}
    for district in Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path"):
        site = services.site_create(
            actor=None,
            code=_site_code(district),
            name=f"{district.name}新冠疫苗接种点",
            jurisdiction=district,
            daily_capacity=3000,
        )
        out[district.path] = site.code
    street = nodes[Level.STREET]
    if street is not None:
        services.site_create(
            actor=None,
            code=f"JZ-{street.code}",
            name=f"{street.name}社区卫生服务中心接种点",
            jurisdiction=street,
            daily_capacity=800,
        )
    return out


def _file(rng, sites: dict[str, str]) -> tuple[bytes, int]:
    """The doses of everyone, as the vaccination system would export them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, document_number, birth_date, jpath FROM people_person ORDER BY id"
        )
        rows = cursor.fetchall()
    if not rows:
        return b"id_number,product_code,lot,dose_number,given_at,site_code\n", 0
    numbers = [r[1] for r in rows]
    births = [r[2] if isinstance(r[2], dt.date) else dt.date.fromisoformat(str(r[2])) for r in rows]
    district_site = [sites.get(_district_path(r[3]), next(iter(sites.values()))) for r in rows]
    today = timezone.localdate()
    from .schedule import age_on, band_of

    bands = np.array([band_of(age_on(b, dt.date(2022, 6, 1))) for b in births])
    n = len(rows)
    draw = rng.random(n)
    products = {p.code: p for p in Product.objects.all()}
    mix_codes = [c for c, _s in MIX]
    course = rng.choice(len(MIX), size=n, p=[s for _c, s in MIX])
    start = rng.integers(0, 240, size=n)  # days after the campaign's start
    gap = rng.integers(21, 50, size=n)
    booster_gap = rng.integers(185, 300, size=n)
    minute = rng.integers(8 * 60, 17 * 60, size=n)
    # A few in the course who never came back: the overdue list of the grid.
    stopped = rng.random(n) < 0.04
    out = io.StringIO()
    out.write("id_number,product_code,lot,dose_number,given_at,site_code\n")
    for i in range(n):
        band = int(bands[i])
        if band not in RATES:
            continue
        first, full, booster = RATES[band]
        if draw[i] >= first:
            continue
        product = products[mix_codes[course[i]]]
        want = 1
        if draw[i] < full and not stopped[i]:
            want = product.primary_doses
            if draw[i] < booster:
                want += 1
                if band >= 3 and draw[i] < booster * 0.3:
                    want += 1  # the elderly's second booster (from December 2022)
        elif product.primary_doses > 1:
            want = 1
        day = CAMPAIGN_START + dt.timedelta(days=int(start[i]))
        for dose in range(1, want + 1):
            if dose > 1:
                step = (
                    int(booster_gap[i])
                    if dose > product.primary_doses
                    else max(int(gap[i]), product.interval_min_days)
                )
                day = day + dt.timedelta(days=step)
            if day > today:
                break
            code = product.code if dose <= product.primary_doses else "BBIBP"
            lot = f"{code[:2]}{day:%Y%m}{(i % 7) + 1:02d}"
            at = f"{day:%Y-%m-%d} {minute[i] // 60:02d}:{minute[i] % 60:02d}:00"
            out.write(f"{numbers[i]},{code},{lot},{dose},{at},{district_site[i]}\n")
    return out.getvalue().encode(), n


def _district_path(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:3]) + "/"


def _aefis(rng, nodes) -> int:
    """Six adverse events in the demo district: common reactions closed, one serious followed."""
    district = nodes[Level.DISTRICT]
    doses = list(
        Dose.objects.filter(person__jpath__startswith=district.path)
        .select_related("person")
        .order_by("id")[:2000]
    )
    if not doses:
        return 0
    picks = rng.choice(len(doses), size=min(6, len(doses)), replace=False)
    stories = [
        ("接种部位红肿、疼痛", Aefi.Severity.COMMON, Aefi.Status.CLOSED),
        ("发热37.8℃，乏力", Aefi.Severity.COMMON, Aefi.Status.RECOVERED),
        ("头痛、肌肉酸痛", Aefi.Severity.COMMON, Aefi.Status.REPORTED),
        ("全身荨麻疹", Aefi.Severity.RARE, Aefi.Status.INVESTIGATING),
        ("过敏性休克，已送医救治", Aefi.Severity.SERIOUS, Aefi.Status.INVESTIGATING),
        ("接种后晕厥，数分钟后恢复", Aefi.Severity.RARE, Aefi.Status.RECOVERED),
    ]
    made = 0
    with transaction.atomic():
        for k, (symptoms, severity, status) in zip(picks.tolist(), stories, strict=False):
            dose = doses[k]
            aefi = services.aefi_report(
                actor=None,
                dose=dose,
                onset_at=dose.given_at + dt.timedelta(hours=int(rng.integers(1, 30))),
                symptoms=symptoms,
                severity=severity,
            )
            if status in (Aefi.Status.INVESTIGATING, Aefi.Status.RECOVERED, Aefi.Status.CLOSED):
                services.aefi_follow_up(
                    actor=None,
                    aefi=aefi,
                    status=Aefi.Status.INVESTIGATING
                    if status != Aefi.Status.CLOSED
                    else Aefi.Status.RECOVERED,
                    note="区疾控中心已电话随访并组织调查诊断",
                )
            if status in (Aefi.Status.RECOVERED,):
                services.aefi_follow_up(
                    actor=None, aefi=aefi, status=status, note="症状消失，已康复"
                )
            if status == Aefi.Status.CLOSED:
                services.aefi_follow_up(actor=None, aefi=aefi, status=status, note="结案")
            made += 1
    return made
