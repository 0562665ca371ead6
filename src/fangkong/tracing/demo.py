"""The tracing part of the demo story: the testing round's positives become cases, and a
60-day outbreak rises to its peak and turns.

About 270 cases are reported over the last 60 days, most in the demo's first district: a wet
market cluster (venue), a logistics park (workplace), a primary school, a family gathering and a
small chess-room chain below the cluster threshold, plus sporadic and imported cases. Every case
has a classification, severity, onset and report dates, how it was found and whether it was
already under control — a share that grows as control outruns transmission. Cases carry their
five-earlies moments, activities at public places with times, exposures naming their source,
and recent cases have close and secondary contacts in every lead state. Contacts put under
control outside the first district get real control orders; in the first district the control
demo step opens the orders for the household contacts itself. Deterministic for the seed.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.audit.services import audit_record
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person

from . import colocation, handlers, selectors, services
from .models import (
    Activity,
    Case,
    Classification,
    ClusterEvent,
    Contact,
    ContactKind,
    ContactLink,
    FoundBy,
    LeadState,
    Origin,
    Setting,
)

LOCAL = services.LOCAL
DAYS = 60
PEAK_DAY = 38
CLUSTERS = [
    # code, name, setting, place, first day, size
    ("JJ-2022-01", "龙蟠中路农贸市场聚集性疫情", Setting.VENUE, "龙蟠中路农贸市场", 18, 42),
    ("JJ-2022-02", "某物流园区聚集性疫情", Setting.WORKPLACE, "玄武物流园区B区仓库", 27, 18),
    ("JJ-2022-03", "某小学聚集性疫情", Setting.SCHOOL, "梅园小学三年级", 33, 9),
    ("JJ-2022-04", "家庭聚餐聚集性疫情", Setting.HOUSEHOLD, "红山路某小区家庭聚餐", 40, 6),
]
CHESS_ROOM = (Setting.VENUE, "兰园棋牌室", 45, 4)  # a chain of four: below the threshold
PLACES = [
    (Setting.VENUE, "苏果超市（北京东路店）", "北京东路41号"),
    (Setting.VENUE, "龙蟠中路农贸市场", "龙蟠中路218号"),
    (Setting.VENUE, "老门东小吃店", "箍桶巷32号"),
    (Setting.VENUE, "新街口德基广场", "中山路18号"),
    (Setting.VENUE, "玄武湖公园", "玄武巷1号"),
    (Setting.VENUE, "乐健健身房（珠江路店）", "珠江路88号"),
    (Setting.TRANSPORT, "地铁3号线（鸡鸣寺—大行宫）", "地铁3号线"),
    (Setting.TRANSPORT, "公交33路", "公交33路"),
    (Setting.HEALTHCARE, "东南大学附属中大医院发热门诊", "丁家桥87号"),
    (Setting.VENUE, "兰园棋牌室", "兰园12号"),
    (Setting.VENUE, "华润苏果便利店（太平北路店）", "太平北路120号"),
]
EXCLUDE_REASONS = [
    "核实当时不在南京",
    "同一时段在单位上班，有考勤记录",
    "号码已转让他人",
    "接触时佩戴N95口罩且间隔超过2米",
]


def stale_data_forget(stdout, seed: int) -> None:
    """Runs before the testing step: big data left on disk by an earlier demo database at the
    same path must not feed this one's first positives (the story would then depend on what an
    earlier run left behind). Data is only written once cases exist, so none means stale."""
    if not Case.objects.exists():
        colocation.data_dir_forget()


def tracing_demo(stdout, seed: int) -> None:
    if ClusterEvent.objects.filter(code=CLUSTERS[0][0]).exists():
        stdout.write("流调溯源: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    with transaction.atomic():
        story = _Story(seed)
        if not story.people:
            stdout.write("流调溯源: 登记人口为空，跳过。")
            return
        story.testing_positives()
        story.outbreak()
        story.contacts()
    # After the commit, as in the live system: the big data of the first district, and one
    # co-location run over it for the newest cases, whose companions go to their grids.
    story.colocation()
    stdout.write(story.summary(time.perf_counter() - began))


class _Story:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed + 4)
        self.now = timezone.localtime(timezone.now(), LOCAL).replace(second=0, microsecond=0)
        self.today = self.now.date()
        nodes = demo_nodes()
        self.district = nodes[Level.DISTRICT]
        self.grid = nodes[Level.GRID]
        taken = set(Case.objects.values_list("person_id", flat=True))
        rows = list(
            Person.objects.order_by("jpath", "id").values_list("id", "jpath", "household_id")
        )
        self.people = [r for r in rows if r[0] not in taken]
        self.in_district = [r for r in self.people if r[1].startswith(self.district.path)]
        self.elsewhere = [r for r in self.people if not r[1].startswith(self.district.path)]
        self.used = set(taken)
        self.stats = {"positives": 0, "orders": 0}

    # ------------------------------------------------------------ the testing round's positives

    def testing_positives(self) -> None:
        """The subscription opened these cases when the lab reported; fill in the clinical side."""
        try:
            from fangkong.testing.models import PositiveFinding
        except ImportError:  # the testing module is not installed
            return
        for finding in PositiveFinding.objects.order_by("at", "id").select_related("tube"):
            handlers.on_person_positive(
                round_id=finding.round_id,
                tube_id=finding.tube_id,
                barcode=finding.tube.barcode,
                person_id=finding.person_id,
                at=finding.at,
            )
        cases = list(
            Case.objects.filter(found_by=FoundBy.POOL_SCREENING, source_tube__gt="").order_by(
                "reported_at", "id"
            )
        )
        for n, case in enumerate(cases):
            isolated = case.reported_at + dt.timedelta(hours=1, minutes=20 + 7 * n)
            services.case_times_set(
                actor=None,
                case=case,
                isolated_at=min(isolated, timezone.now()),
                admitted_at=min(isolated + dt.timedelta(hours=3), timezone.now()),
            )
            if n % 2 == 0:
                # Symptoms appeared in hospital: the carrier is reclassified, keeping its history.
                services.case_times_set(
                    actor=None, case=case, onset_at=case.reported_at + dt.timedelta(hours=10)
                )
                services.case_reclassify(
                    actor=None,
                    case=case,
                    classification=Classification.CONFIRMED,
                    note="入院后出现咽痛、发热，CT示肺部磨玻璃影",
                    at=min(case.reported_at + dt.timedelta(hours=20), timezone.now()),
                )
            services.case_severity_set(actor=None, case=case, severity="mild")
            self.activities(case, days=3)
        self.stats["positives"] = len(cases)
        self.used.update(c.person_id for c in cases)

    # ------------------------------------------------------------------ the outbreak

    def _pick(self, pool) -> tuple:
        for _ in range(50):
            row = pool[int(self.rng.integers(0, len(pool)))]
            if row[0] not in self.used:
                self.used.add(row[0])
                return row
        row = next(r for r in pool if r[0] not in self.used)
        self.used.add(row[0])
        return row

    def outbreak(self) -> None:
        d = np.arange(DAYS)
        shape = 13 * np.exp(-(((d - PEAK_DAY) / 10.5) ** 2)) + 0.6 * (d < PEAK_DAY) * (d > 8)
        counts = self.rng.poisson(shape)
        counts[0], counts[DAYS - 1] = max(counts[0], 1), max(counts[DAYS - 1], 1)
        days = np.repeat(d, counts)
        n = len(days)
        assigned = np.full(n, -1)
        members: list[list[int]] = []
        groups = [*CLUSTERS, (None, None, *CHESS_ROOM)]
        for g, (_code, _name, _setting, _place, first, size) in enumerate(groups):
            window = np.flatnonzero((days >= first) & (days <= first + 16) & (assigned < 0))
            chosen = np.sort(self.rng.choice(window, size=min(size, len(window)), replace=False))
            assigned[chosen] = g
            members.append([int(i) for i in chosen])
        self.cases: list[Case] = []
        self.source: dict[int, int] = {}
        for i in range(n):
            g = int(assigned[i])
            # Clusters live in the first district (the grid worker's), sporadic cases all over.
            pool = self.in_district if g >= 0 or self.rng.random() < 0.45 else self.elsewhere
            person = self._pick(pool or self.people)
            if g < 0 and i > 5 and self.rng.random() < 0.35:
                earlier = [
                    j for j in range(max(0, i - 25), i) if assigned[j] < 0 and days[j] < days[i]
                ]
                if earlier:
                    self.source[i] = earlier[int(self.rng.integers(0, len(earlier)))]
            if g >= 0 and members[g][0] != i:
                earlier = [j for j in members[g] if j < i and days[j] < days[i]] or [members[g][0]]
                self.source[i] = earlier[int(self.rng.integers(0, len(earlier)))]
            self.cases.append(self._case(i, int(days[i]), person, g, n))
        self.events = []
        for g, (code, name, setting, place, _first, _size) in enumerate(CLUSTERS):
            group = [self.cases[i] for i in members[g]]
            self.events.append(
                services.cluster_event_create(
                    actor=None,
                    code=code,
                    name=name,
                    setting=setting,
                    place=place,
                    jpath=self.district.path,
                    cases=group,
                    notes=f"首例 {group[0].code}，共 {len(group)} 例",
                )
            )
        for i, j in sorted(self.source.items()):
            g = int(assigned[i])
            setting, place = (
                (groups[g][2], groups[g][3]) if g >= 0 else (Setting.HOUSEHOLD, "家庭共同居住")
            )
            source = self.cases[j]
            services.exposure_add(
                actor=None,
                case=self.cases[i],
                setting=setting,
                place=place,
                start=source.window_start
                + dt.timedelta(days=2, hours=int(self.rng.integers(8, 20))),
                source_case=source,
                notes="流调确认的传播关系",
            )
            if self.cases[i].under_control_when_found:
                contact = Contact.objects.filter(case=self.cases[i]).first()
                if contact is not None:
                    ContactLink.objects.create(
                        contact=contact,
                        source_case=source,
                        setting=setting,
                        last_exposure_at=source.reported_at - dt.timedelta(hours=6),
                        origin=Origin.INVESTIGATION,
                    )
        self.groups = members
        self.days = days

    def _case(self, i: int, day: int, person: tuple, group: int, n: int) -> Case:
        rng = self.rng
        report_date = self.today - dt.timedelta(days=DAYS - 1 - day)
        reported_at = dt.datetime.combine(
            report_date, dt.time(int(rng.integers(7, 22)), int(rng.integers(0, 60))), tzinfo=LOCAL
        )
        reported_at = min(reported_at, self.now - dt.timedelta(minutes=30 + i % 50))
        recent = day >= DAYS - 2
        # Control outruns transmission: early on most cases turn up in the community; after the
        # peak most are already contacts under control when they test positive.
        p_control = 0.08 + 0.72 / (1 + np.exp(-(day - PEAK_DAY + 4) / 4))
        controlled = (
            i in self.source
            and rng.random() < min(0.95, p_control * 1.3)
            or rng.random() < p_control * 0.3
        )
        symptomatic = rng.random() < 0.68
        if recent and i % 9 == 0:
            classification = Classification.SUSPECTED
        else:
            classification = (
                Classification.CONFIRMED if symptomatic else Classification.ASYMPTOMATIC
            )
        onset_at = None
        if symptomatic:
            onset_at = reported_at - dt.timedelta(hours=float(rng.uniform(8, 80)))
        if controlled:
            found_by = FoundBy.UNDER_CONTROL
        elif group < 0 and i not in self.source and rng.random() < 0.12:
            found_by = FoundBy.IMPORTED
        else:
            found_by = rng.choice(
                [
                    FoundBy.POOL_SCREENING,
                    FoundBy.FEVER_CLINIC,
                    FoundBy.COMMUNITY,
                    FoundBy.CHECKPOINT,
                ],
                p=[0.45, 0.35, 0.12, 0.08] if symptomatic else [0.75, 0.05, 0.12, 0.08],
            )
        first_visit = None
        if onset_at is not None and found_by != FoundBy.UNDER_CONTROL:
            first_visit = onset_at + (reported_at - onset_at) * float(rng.uniform(0.3, 0.8))
        sampled = first_visit or reported_at - dt.timedelta(hours=float(rng.uniform(4, 14)))
        if controlled:
            isolated = reported_at - dt.timedelta(days=float(rng.uniform(1, 5)))
            contact_person = Person.objects.get(pk=person[0])
            # The person may already be a lead: the testing step's positives ran the
            # configured big data after their commit (when a previous demo left it on disk).
            Contact.objects.update_or_create(
                person=contact_person,
                defaults=dict(
                    jpath=contact_person.jpath,
                    kind=ContactKind.CLOSE,
                    state=LeadState.UNDER_CONTROL,
                    setting=Setting.HOUSEHOLD,
                    last_exposure_at=isolated - dt.timedelta(hours=12),
                    origin=Origin.INVESTIGATION,
                    pushed_at=isolated - dt.timedelta(hours=8),
                    verified_at=isolated - dt.timedelta(hours=5),
                    reachable=True,
                    controlled_at=isolated,
                ),
            )
        else:
            isolated = reported_at + dt.timedelta(hours=float(rng.uniform(0.5, 5)))
        late = min(self.now - dt.timedelta(minutes=5), timezone.now())
        severity = ""
        if classification != Classification.SUSPECTED:
            severity = (
                rng.choice(["mild", "moderate", "severe", "critical"], p=[0.55, 0.37, 0.06, 0.02])
                if symptomatic
                else "mild"
            )
        diagnosed = (
            min(reported_at + dt.timedelta(hours=float(rng.uniform(1, 8))), late)
            if classification == Classification.CONFIRMED
            else None
        )
        # Admitted once reported (and diagnosed, for a confirmed case) and isolated: a contact
        # isolated days before testing positive is admitted after the report, never before.
        ready = max(min(isolated, late), diagnosed or reported_at, reported_at)
        times = {
            "onset_at": onset_at,
            "first_visit_at": first_visit,
            "diagnosed_at": diagnosed,
            "isolated_at": min(isolated, late),
            "admitted_at": max(
                ready, min(ready + dt.timedelta(hours=float(rng.uniform(1, 6))), late)
            )
            if classification != Classification.SUSPECTED
            else None,
        }
        case = services.case_open(
            actor=None,
            person=Person.objects.get(pk=person[0]),
            classification=classification,
            reported_at=reported_at,
            found_by=str(found_by),
            severity=str(severity),
            sampling_date=timezone.localdate(sampled),
            under_control_when_found=bool(controlled),
            colocate=False,
            notes="",
            **times,
        )
        if case.onset_date is None and classification == Classification.SUSPECTED:
            pass
        self.activities(case, days=3 if controlled else 4)
        return case

    def activities(self, case: Case, days: int) -> None:
        """Two to four outings in the days before isolation, at public places with times."""
        rng = self.rng
        end = case.isolated_at or case.reported_at
        rows = []
        for k in range(int(rng.integers(2, 5))):
            setting, place, address = PLACES[int(rng.integers(0, len(PLACES)))]
            day = end - dt.timedelta(days=int(rng.integers(1, days + 1)))
            start = dt.datetime.combine(
                timezone.localdate(day),
                dt.time(int(rng.integers(8, 20)), 10 * int(rng.integers(0, 6))),
                tzinfo=LOCAL,
            )
            if start >= end:
                continue
            rows.append(
                Activity(
                    case=case,
                    setting=setting,
                    place=place,
                    address=f"南京市{address}",
                    place_jpath=self.district.path,
                    start=start,
                    end=start + dt.timedelta(minutes=int(rng.integers(15, 120))),
                    companions="家人" if k == 0 else "",
                    public=setting != Setting.HOUSEHOLD,
                )
            )
        rows.append(
            Activity(
                case=case,
                setting=Setting.HOUSEHOLD,
                place="居住地",
                address=case.person.address,
                place_jpath=case.jpath,
                start=end - dt.timedelta(days=days),
                end=end,
                companions="共同居住家庭成员",
            )
        )
        Activity.objects.bulk_create(rows)

    # ------------------------------------------------------------------ contacts

    def contacts(self) -> None:
        """Close and secondary contacts of the last ten days' cases, in every lead state."""
        recent = [c for c in self.cases if c.report_date >= self.today - dt.timedelta(days=10)]
        recent += list(Case.objects.filter(found_by=FoundBy.POOL_SCREENING, source_tube__gt=""))
        # The demo grid's worker has work: its people are the contacts of the newest case.
        grid_people = [
            r for r in self.in_district if r[1] == self.grid.path and r[0] not in self.used
        ]
        for n, case in enumerate(sorted(recent, key=lambda c: (c.reported_at, c.pk))):
            age = (self.now - case.reported_at).total_seconds() / 86400
            pool = self.in_district if case.jpath.startswith(self.district.path) else self.elsewhere
            household = (
                list(
                    Person.objects.filter(household_id=case.person.household_id)
                    .exclude(pk=case.person_id)
                    .exclude(pk__in=self.used)
                    .values_list("id", "jpath", "household_id")[:4]
                )
                if case.person.household_id
                else []
            )
            people = household + [self._pick(pool) for _ in range(int(self.rng.integers(2, 6)))]
            if n % 3 == 0 and grid_people:
                people += [grid_people.pop(0) for _ in range(min(2, len(grid_people)))]
            for k, row in enumerate(people):
                self.used.add(row[0])
                person = Person.objects.get(pk=row[0])
                setting = (
                    Setting.HOUSEHOLD
                    if k < len(household)
                    else self.rng.choice([Setting.WORKPLACE, Setting.VENUE, Setting.TRANSPORT])
                )
                at = case.reported_at - dt.timedelta(hours=float(self.rng.uniform(6, 60)))
                origin = (
                    Origin.INVESTIGATION
                    if k < len(household)
                    else self.rng.choice([Origin.INVESTIGATION, Origin.CELL, Origin.VENUE])
                )
                contact = services.contact_add(
                    actor=None,
                    person=person,
                    source_case=case,
                    setting=str(setting),
                    last_exposure_at=at,
                    origin=str(origin),
                    push=not (age < 0.6 and k % 3 == 2),
                    episodes=int(self.rng.integers(1, 4)),
                )
                self._advance(contact, age, k, in_first=person.jpath.startswith(self.district.path))
                if k == 0 and contact.state in (LeadState.VERIFIED, LeadState.UNDER_CONTROL):
                    row2 = self._pick(pool)
                    services.contact_add(
                        actor=None,
                        person=Person.objects.get(pk=row2[0]),
                        source_contact=contact,
                        setting=Setting.WORKPLACE,
                        last_exposure_at=at - dt.timedelta(hours=3),
                    )

    def _advance(self, contact: Contact, age: float, k: int, *, in_first: bool) -> None:
        if contact.state != LeadState.PUSHED:
            return
        roll = self.rng.random()
        if age < 1 and roll < 0.55:
            return  # still on the grid worker's list
        if roll < 0.12:
            services.lead_exclude(
                actor=None, contact=contact, reason=EXCLUDE_REASONS[k % len(EXCLUDE_REASONS)]
            )
            return
        contact = services.lead_verify(actor=None, contact=contact, note="已电话及上门核实")
        # The control demo opens the first district's orders itself; opening them here would
        # collide with its one-open-order-per-person rule.
        if not in_first and age > 1.5:
            services.lead_control(actor=None, contact=contact, start=contact.verified_at)
            self.stats["orders"] += 1

    def colocation(self) -> None:
        from django.conf import settings

        from . import colocation
        from .synthdata import write_data

        if settings.FANGKONG_COLOCATION_DATA or not self.in_district:
            return  # an operator's own data is never overwritten
        grid_of = dict(
            Person.objects.filter(jpath__startswith=self.district.path).values_list("id", "grid_id")
        )
        ids = np.array(sorted(grid_of), dtype=np.int64)
        grids = np.array([grid_of[int(p)] for p in ids], dtype=np.int64)
        out = colocation.data_dir()
        colocation.mark_data_dir(out)
        self.stats["presence"], self.stats["scans"] = write_data(
            out,
            ids,
            grids,
            self.today - dt.timedelta(days=13),
            days=14,
            seed=int(self.rng.integers(0, 2**31)),
        )
        newest = list(
            Case.objects.filter(
                jpath__startswith=self.district.path, classification=Classification.CONFIRMED
            )
            .order_by("-reported_at", "-id")
            .values_list("id", flat=True)[:3]
        )
        from .models import ColocationRun

        run = ColocationRun.objects.create(
            rule=Origin.CELL, data=str(out / "presence"), case_ids=newest, jpath=self.district.path
        )
        colocation.colocation_run_execute(run_id=run.pk)
        run.refresh_from_db()
        self.stats["run"] = (run.status, run.rows, run.leads_created, run.pushed)

    def summary(self, seconds: float) -> str:
        cases = Case.objects.exclude(classification=Classification.EXCLUDED)
        under = cases.filter(under_control_when_found=True).count()
        states = {s: Contact.objects.filter(state=s).count() for s in LeadState.values}
        audit_record(
            actor=None,
            action="create",
            object_type="tracing.demo",
            object_id="outbreak",
            object_repr="tracing demo",
            jurisdiction_path=self.district.path,
            changes={"cases": [None, cases.count()]},
        )
        # The figures the chains page shows the commander (the same selector), not the story's
        # own plan: chains that grew past the threshold count as clusters there too.
        from fangkong.accounts.models import User

        commander = User.objects.filter(username="commander").first()
        figures = selectors.key_figures(actor=commander) if commander else {}
        clusters = figures.get("clusters", len(CLUSTERS))
        share = figures.get("under_control_share")
        if share is None:
            share = 100 * under / max(1, cases.count())
        return (
            f"流调溯源: {cases.count()} 例 ({self.stats['positives']} 例来自核酸筛查), "
            f"{clusters} 起聚集性疫情, 管控内发现 {share:.0f}%, "
            f"密接/次密接 {sum(states.values())} 人 (待推送 {states['candidate']}, 待核实 {states['pushed']}, "
            f"已核实 {states['verified']}, 已管控 {states['under_control']}, 已排除 {states['excluded']}); "
            f"时空伴随碰撞 {self.stats.get('presence', 0):,} 条基站记录, "
            f"新增线索 {self.stats.get('run', ('', 0, 0, 0))[2]} 条 ({seconds:.1f} s)"
        )
