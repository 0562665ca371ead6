"""The mass-testing part of the demo story: one finished city-wide round and one under way.

Round 1 (three days ago) is done: about 97 % of the city sampled at the sites of every district,
every tube reported by two labs, six positive pools in the demo's first district whose members
were re-checked one tube each (four single-tube positives, the rest negative), and one invalid
pool whose members were sampled again. Round 2 started this morning: about 60 % sampled, about
70 % of those tubes reported, two new positive pools with their re-checks still to do, and tubes
sampled more than the warning threshold ago still waiting for a result.

Everything goes through the module's own writes: the site and lab services, and sample and
result CSV files fed to the same bulk imports the `fangkong testing` command uses, as the
system (actor None). Times are local (Asia/Shanghai) and relative to now; the draw is fixed by
the seed, so the same seed and the same start time tell the same story.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time

import numpy as np
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from . import bulk, services
from .models import PositiveFinding, Recheck, Round, Site, TemporaryControl, Tube

LOCAL = bulk.LOCAL
ROUND_1 = ("R2022-01", "第一轮全员核酸检测")
ROUND_2 = ("R2022-02", "第二轮全员核酸检测")
POOL_SIZE = 10
# code, name, share of the city's tubes per day it can test
LABS = [("LAB-JY", "金域医学检验所", 0.7), ("LAB-CDC", "市疾控中心实验室", 0.45)]
ROUND_1_POSITIVE_POOLS = 6
ROUND_1_POSITIVE_PEOPLE = 4
ROUND_2_POSITIVE_POOLS = 2
ROUND_1_COVERAGE = 0.97
ROUND_2_COVERAGE = 0.60
ROUND_2_REPORTED = 0.70
MIN_DAY_HOURS = 7  # round 2 has sampled at least this long, so some tubes are overdue


def testing_demo(stdout, seed: int) -> None:
    if Round.objects.filter(code__in=[ROUND_1[0], ROUND_2[0]]).exists():
        stdout.write("核酸检测: 演示轮次已存在，保持不变。")
        return
    began = time.perf_counter()
    with transaction.atomic():
        story = _Story(seed)
        if story.n == 0:
            stdout.write("核酸检测: 登记人口为空，跳过。")
            return
        story.sites_and_labs()
        story.round_1()
        story.round_2()
    stdout.write(story.summary(time.perf_counter() - began))


def _fmt(seconds: np.ndarray, base: dt.datetime) -> np.ndarray:
    """Local wall-clock texts 'YYYY-MM-DD HH:MM:SS' for whole seconds after a naive local base."""
    stamps = np.datetime64(base.replace(tzinfo=None), "s") + seconds.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(stamps, unit="s"), "T", " ")


def _import(kind: str, header: list[str], rows, *, round_=None) -> None:
    """Write the rows as CSV into a temporary file and feed it to the bulk import."""
    with tempfile.TemporaryFile("w+b") as handle:
        lines = [",".join(header), *(",".join(map(str, row)) for row in rows)]
        handle.write(("\n".join(lines) + "\n").encode())
        handle.seek(0)
        name = f"demo-{kind}.csv"
        if kind == "samples":
            job = bulk.import_samples(actor=None, round_=round_, source=handle, filename=name)
        else:
            job = bulk.import_results(actor=None, source=handle, filename=name)
    if job.status != job.Status.DONE or job.rejected:
        raise RuntimeError(f"demo {kind} import: {job.message} {job.errors[:3]}")


class _Story:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes = demo_nodes()
        self.city = self.nodes[Level.CITY]
        self.first_district = self.nodes[Level.DISTRICT]
        self.demo_grid = self.nodes[Level.GRID]
        self.now = timezone.localtime(timezone.now(), LOCAL).replace(microsecond=0)
        # Registry order: neighbours of one household and grid end up in one pool.
        rows = list(
            Person.objects.filter(jpath__startswith=self.city.path)
            .order_by("jpath", "household_id", "id")
            .values_list("id", "grid_id", "document_number")
        )
        self.n = len(rows)
        ids, grids, numbers = zip(*rows, strict=True) if rows else ((), (), ())
        self.person_id = np.array(ids, dtype=np.int64)
        self.grid = np.array(grids, dtype=np.int64)
        self.number = np.array(numbers, dtype=object)
        self.stats: dict[str, int] = {}

    # ------------------------------------------------------------------ sites and labs

    def sites_and_labs(self) -> None:
        """A few sampling points per district, each serving the grids of a run of communities,
        a home-visit team in the first district, and the two labs."""
        districts = list(
            Jurisdiction.objects.filter(
                level=Level.DISTRICT, path__startswith=self.city.path
            ).order_by("path")
        )
        communities = list(
            Jurisdiction.objects.filter(
                level=Level.COMMUNITY, path__startswith=self.city.path
            ).order_by("path")
        )
        grids = list(
            Jurisdiction.objects.filter(level=Level.GRID, path__startswith=self.city.path)
            .order_by("path")
            .values_list("id", "parent_id", "path")
        )
        size = max(int(self.grid.max(initial=0)), max((g[0] for g in grids), default=0)) + 1
        self.grid_ids = np.array([g[0] for g in grids], dtype=np.int64)  # in path order
        per_grid = np.bincount(self.grid, minlength=size)
        self.site_of_grid = np.full(size, -1, dtype=np.int64)
        self.district_of_grid = np.full(size, -1, dtype=np.int64)
        self.sites: list[Site] = []
        self.site_district: list[int] = []
        self.home_team = None
        for d, district in enumerate(districts):
            mine = [c for c in communities if c.path.startswith(district.path)]
            if not mine:
                continue
            grids_of = {c.pk: [g for g in grids if g[1] == c.pk] for c in mine}
            people = sum(int(per_grid[g[0]]) for c in mine for g in grids_of[c.pk])
            k = int(np.clip(round(people / 8000), 2, 6))
            for chunk in np.array_split(np.arange(len(mine)), min(k, len(mine))):
                at = mine[int(chunk[0])]
                served = [g for i in chunk for g in grids_of[mine[int(i)].pk]]
                load = sum(int(per_grid[g[0]]) for g in served)
                desks = int(np.clip(math.ceil(load / 700), 1, 30))
                site = services.site_create(
                    actor=None,
                    code=f"CY{at.code}",
                    name=f"{district.name}{at.name}采样点",
                    jurisdiction=at,
                    grids=[g[0] for g in served],
                    desks=desks,
                    samplers=desks * 2,
                    opening_hours="07:00-21:00",
                    address=f"{district.name}{at.name}党群服务中心广场",
                )
                for g in served:
                    self.site_of_grid[g[0]] = len(self.sites)
                    self.district_of_grid[g[0]] = d
                self.sites.append(site)
                self.site_district.append(d)
            if district.pk == self.first_district.pk:
                self.home_team = services.site_create(
                    actor=None,
                    code=f"HT{district.code}",
                    name=f"{district.name}上门采样队",
                    jurisdiction=district,
                    kind=Site.Kind.HOME_TEAM,
                    samplers=12,
                )
        self.first_d = next(
            d for d, district in enumerate(districts) if district.pk == self.first_district.pk
        )
        tubes_per_day = max(1, self.n // POOL_SIZE)
        self.labs = [
            services.lab_create(
                actor=None,
                code=code,
                name=name,
                jurisdiction=self.city,
                daily_capacity=int(math.ceil(tubes_per_day * share / 100) * 100),
            )
            for code, name, share in LABS
        ]
        # Each district sends its tubes to one lab, the biggest districts first to the lab with
        # the most capacity left.
        load = np.bincount(self.district_of_grid[self.grid].clip(0), minlength=len(districts))
        used = np.zeros(len(self.labs))
        capacity = np.array([lab.daily_capacity for lab in self.labs], dtype=float)
        self.lab_of_district = np.zeros(len(districts), dtype=np.int64)
        for d in np.argsort(-load, kind="stable"):
            lab = int(np.argmin((used + load[d] / POOL_SIZE) / capacity))
            self.lab_of_district[d] = lab
            used[lab] += load[d] / POOL_SIZE
        self.site_code = np.array([s.code for s in self.sites], dtype=object)
        self.person_site = self.site_of_grid[self.grid]
        self.person_district = self.district_of_grid[self.grid]

    # ------------------------------------------------------------------ pooling

    def _pools(self, chosen: np.ndarray) -> tuple[np.ndarray, ...]:
        """Pool the chosen people (indexes, in registry order) ten to a tube within each site.

        Returns the people sorted by tube, each one's tube number and place in it, and each
        tube's site."""
        site = self.person_site[chosen]
        order = np.argsort(site, kind="stable")
        chosen, site = chosen[order], site[order]
        starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
        counts = np.diff(np.r_[starts, len(site)])
        rank = np.arange(len(site)) - np.repeat(starts, counts)
        tubes_per_site = -(-counts // POOL_SIZE)
        first_tube = np.r_[0, np.cumsum(tubes_per_site)[:-1]]
        tube = np.repeat(first_tube, counts) + rank // POOL_SIZE
        tube_site = np.repeat(site[starts], tubes_per_site)
        return chosen, tube, rank % POOL_SIZE, tube_site

    def _tube_times(self, tube_site: np.ndarray, span: float) -> np.ndarray:
        """Seconds after the round's start at which each tube was closed: every site works its
        way through its tubes over `span` seconds, busier in the morning."""
        out = np.empty(len(tube_site))
        for s in np.unique(tube_site):
            mine = np.flatnonzero(tube_site == s)
            share = (np.arange(len(mine)) + self.rng.random(len(mine))) / len(mine)
            out[mine] = span * share**1.3
        return out

    def _pick_pools(
        self, tube_members: list[np.ndarray], candidates: np.ndarray, k: int
    ) -> list[int]:
        """k tubes among the candidates, the first holding someone of the demo grid, the rest
        as close to it as the registry order allows (neighbouring grids of the same district)."""
        in_demo = [t for t in candidates if np.any(self.grid[tube_members[t]] == self.demo_grid.pk)]
        picked = []
        if in_demo:
            picked.append(int(self.rng.choice(in_demo)))
        rest = [int(t) for t in candidates if int(t) not in picked]
        # Nearest in registry (path) order to the demo grid's first tube: a cluster, not noise.
        near = sorted(rest, key=lambda t: abs(t - (picked[0] if picked else rest[0])))
        pool = near[: 25 * k]
        more = self.rng.choice(len(pool), size=min(k - len(picked), len(pool)), replace=False)
        picked += [pool[int(i)] for i in sorted(more)]
        return picked

    # ------------------------------------------------------------------ round 1

    def round_1(self) -> None:
        day = self.now.date() - dt.timedelta(days=3)
        start = dt.datetime.combine(day, dt.time(7, 0), tzinfo=LOCAL)
        round_ = services.round_create(
            actor=None,
            code=ROUND_1[0],
            name=ROUND_1[1],
            scope=[self.city],
            pool_size=POOL_SIZE,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=30),
        )
        sampled = np.flatnonzero(self.rng.random(self.n) < ROUND_1_COVERAGE)
        people, tube, place, tube_site = self._pools(sampled)
        n_tubes = len(tube_site)
        closed = self._tube_times(tube_site, 13 * 3600)
        member_s = (closed[tube] - (POOL_SIZE - 1 - place) * 40).clip(0).astype(np.int64)
        barcodes = np.array([f"22010{i:07d}" for i in range(n_tubes)], dtype=object)
        self._samples(round_, barcodes[tube], people, _fmt(member_s, start), tube_site[tube])

        members = np.split(people, np.flatnonzero(np.diff(tube)) + 1)
        first = np.flatnonzero(self.site_district_arr[tube_site] == self.first_d)
        positive = self._pick_pools(members, first, ROUND_1_POSITIVE_POOLS)
        others = np.setdiff1d(
            np.flatnonzero(self.site_district_arr[tube_site] != self.first_d), positive
        )
        invalid = int(self.rng.choice(others)) if len(others) else None
        result = np.full(n_tubes, "negative", dtype=object)
        result[positive] = "positive"
        if invalid is not None:
            result[invalid] = "invalid"
        reported_s = closed + self.rng.uniform(3, 9, n_tubes) * 3600
        self._results(barcodes, result, reported_s.astype(np.int64), start, tube_site)

        # The re-check worklist: one single tube per member, sampled an hour or three after the
        # pool was reported, by the home-visit team (positive pools) or at the site (invalid).
        positive_members = np.concatenate([members[t] for t in positive])
        sick = self._sick(members, positive)
        items = list(
            Recheck.objects.filter(round=round_)
            .order_by("id")
            .values_list("person_id", "source_tube__barcode", "reason")
        )
        index_of = {int(p): i for i, p in enumerate(self.person_id)}
        tube_of = {b: i for i, b in enumerate(barcodes)}
        rows, res = [], []
        for k, (person_id, source, reason) in enumerate(items):
            t = tube_of[source]
            at = int(reported_s[t] + self.rng.uniform(1, 3) * 3600)
            site = (
                self.home_team.code
                if reason == Recheck.Reason.POSITIVE_POOL and self.home_team is not None
                else self.site_code[tube_site[t]]
            )
            barcode = f"22019{k:07d}"
            rows.append((barcode, self.number[index_of[person_id]], at, site))
            outcome = "positive" if person_id in sick else "negative"
            res.append((barcode, outcome, at + int(self.rng.uniform(3, 6) * 3600), t))
        texts = _fmt(np.array([r[2] for r in rows], dtype=np.int64), start)
        _import(
            "samples",
            [*bulk.SAMPLE_COLUMNS, "kind"],
            [(b, num, texts[i], s, "recheck") for i, (b, num, _a, s) in enumerate(rows)],
            round_=round_,
        )
        rtexts = _fmt(np.array([r[2] for r in res], dtype=np.int64), start)
        self._import_results(
            [
                (b, o, rtexts[i], self._lab_for(tube_site[t]), *self._ct(o))
                for i, (b, o, _a, t) in enumerate(res)
            ]
        )
        end = start + dt.timedelta(seconds=int(max([r[2] for r in res], default=0)) + 1800)
        Round.objects.filter(pk=round_.pk).update(status=Round.Status.CLOSED, ends_at=end)
        audit_record(
            actor=None,
            action=Action.UPDATE,
            obj=round_,
            jurisdiction_path=self.city.path,
            changes={"status": ["open", "closed"]},
        )
        self._backdate(round_)
        self.stats.update(
            r1_people=len(people),
            r1_tubes=n_tubes,
            r1_pools=len(positive),
            r1_pool_people=len(positive_members),
            r1_invalid=int(invalid is not None),
            r1_findings=PositiveFinding.objects.filter(round=round_).count(),
        )
        self.findings_1 = set(
            PositiveFinding.objects.filter(round=round_).values_list("person_id", flat=True)
        )

    def _sick(self, members: list[np.ndarray], positive: list[int]) -> set[int]:
        """Who in the positive pools is really infected: two in the demo grid's pool (one
        household, neighbours in registry order), the others one each in further pools."""
        sick: list[int] = []
        for n, t in enumerate(positive):
            if len(sick) >= ROUND_1_POSITIVE_PEOPLE:
                break
            take = 2 if n == 0 else 1
            start = int(self.rng.integers(0, max(1, len(members[t]) - take + 1)))
            sick += [int(self.person_id[i]) for i in members[t][start : start + take]]
        return set(sick[:ROUND_1_POSITIVE_PEOPLE])

    # ------------------------------------------------------------------ round 2

    def round_2(self) -> None:
        morning = dt.datetime.combine(self.now.date(), dt.time(7, 0), tzinfo=LOCAL)
        start = min(morning, self.now - dt.timedelta(hours=MIN_DAY_HOURS))
        round_ = services.round_create(
            actor=None,
            code=ROUND_2[0],
            name=ROUND_2[1],
            scope=[self.city],
            pool_size=POOL_SIZE,
            starts_at=start,
            ends_at=morning + dt.timedelta(days=1),
        )
        # Coverage varies by grid around 60 %; confirmed cases of round 1 are in isolation.
        # One draw per grid in path order, so the story does not depend on the grids' keys.
        coverage = np.zeros(len(self.site_of_grid))
        coverage[self.grid_ids] = self.rng.beta(
            10 * ROUND_2_COVERAGE, 10 * (1 - ROUND_2_COVERAGE), len(self.grid_ids)
        )
        coverage[self.demo_grid.pk] = min(max(coverage[self.demo_grid.pk], 0.45), 0.75)
        keep = self.rng.random(self.n) < coverage[self.grid]
        keep &= ~np.isin(self.person_id, list(self.findings_1))
        # Someone of the demo grid is sampled, so its worklists have a positive pool member.
        in_grid = np.flatnonzero(self.grid == self.demo_grid.pk)
        keep[in_grid[: max(1, len(in_grid) // 2)][::2]] = True
        keep[in_grid[-1:]] = False
        people, tube, place, tube_site = self._pools(np.flatnonzero(keep))
        n_tubes = len(tube_site)
        span = (self.now - start).total_seconds() - 600
        closed = self._tube_times(tube_site, span)
        member_s = (closed[tube] - (POOL_SIZE - 1 - place) * 40).clip(0).astype(np.int64)
        barcodes = np.array([f"22020{i:07d}" for i in range(n_tubes)], dtype=object)
        self._samples(round_, barcodes[tube], people, _fmt(member_s, start), tube_site[tube])

        # The oldest ~70 % are reported, except a few old tubes stuck on the way to a lab.
        order = np.argsort(closed, kind="stable")
        age_h = (span + 600 - closed) / 3600
        old = order[age_h[order] >= 6.5]
        stuck = (
            self.rng.choice(old, size=max(1, len(old) // 40), replace=False)
            if len(old)
            else np.array([], dtype=np.int64)
        )
        wanted = int(round(ROUND_2_REPORTED * n_tubes))
        reported = np.setdiff1d(order, stuck, assume_unique=True)
        reported = reported[np.argsort(closed[reported], kind="stable")][:wanted]
        latest = span + 600 - self.rng.uniform(120, 1800, n_tubes)
        turnaround = self.rng.uniform(1.5, 5.5, n_tubes) * 3600
        reported_s = np.minimum(closed + turnaround, latest)
        reported_s = np.maximum(reported_s, closed + 900).clip(max=span + 540)

        members = np.split(people, np.flatnonzero(np.diff(tube)) + 1)
        first = np.intersect1d(
            reported, np.flatnonzero(self.site_district_arr[tube_site] == self.first_d)
        )
        positive = self._pick_pools(members, first, ROUND_2_POSITIVE_POOLS) if len(first) else []
        result = np.full(n_tubes, "negative", dtype=object)
        result[positive] = "positive"
        self._results(
            barcodes[reported],
            result[reported],
            reported_s[reported].astype(np.int64),
            start,
            tube_site[reported],
        )
        self._backdate(round_)
        overdue_cut = self.now - dt.timedelta(hours=round_.thresholds[0])
        self.stats.update(
            r2_people=len(people),
            r2_tubes=n_tubes,
            r2_reported=len(reported),
            r2_pools=len(positive),
            r2_rechecks=Recheck.objects.filter(round=round_, status=Recheck.Status.PENDING).count(),
            r2_overdue=Tube.objects.filter(
                round=round_, reported_at__isnull=True, sampled_at__lte=overdue_cut
            ).count(),
        )

    # ------------------------------------------------------------------ files

    @property
    def site_district_arr(self) -> np.ndarray:
        return np.array(self.site_district, dtype=np.int64)

    def _lab_for(self, site: int) -> str:
        return self.labs[self.lab_of_district[self.site_district[site]]].code

    def _ct(self, outcome: str) -> tuple[str, str]:
        if outcome != "positive":
            return ("", "")
        return (f"{self.rng.uniform(24, 34):.2f}", f"{self.rng.uniform(23, 33):.2f}")

    def _samples(self, round_, barcodes, people, texts, sites) -> None:
        rows = zip(barcodes, self.number[people], texts, self.site_code[sites], strict=True)
        _import("samples", bulk.SAMPLE_COLUMNS, rows, round_=round_)

    def _results(self, barcodes, result, seconds, start, sites) -> None:
        texts = _fmt(seconds, start)
        labs = np.array([lab.code for lab in self.labs], dtype=object)
        lab = labs[self.lab_of_district[self.site_district_arr[sites]]]
        cts = [self._ct(r) for r in result]
        self._import_results(
            (b, r, t, code, *ct)
            for b, r, t, code, ct in zip(barcodes, result, texts, lab, cts, strict=True)
        )

    def _import_results(self, rows) -> None:
        _import("results", [*bulk.RESULT_COLUMNS, "ct_orf1ab", "ct_n"], rows)

    def _backdate(self, round_: Round) -> None:
        """The bulk engine stamps worklist items and controls with the wall clock of the import;
        in the story they happened when the lab reported, so take the tubes' report times."""
        reported = Tube.objects.filter(pk=OuterRef("source_tube_id")).values("reported_at")[:1]
        Recheck.objects.filter(round=round_).update(created_at=Subquery(reported))
        pool = Tube.objects.filter(pk=OuterRef("tube_id")).values("reported_at")[:1]
        TemporaryControl.objects.filter(round=round_).update(since=Subquery(pool))
        released = Recheck.objects.filter(
            round=round_, person_id=OuterRef("person_id"), result="negative"
        ).values("recheck_tube__reported_at")[:1]
        TemporaryControl.objects.filter(round=round_, released_at__isnull=False).update(
            released_at=Subquery(released)
        )

    # ------------------------------------------------------------------ summary

    def summary(self, seconds: float) -> str:
        s = self.stats
        r2_rate = 100 * s["r2_reported"] / max(1, s["r2_tubes"])
        return (
            f"核酸检测: 2 轮, {len(self.sites)} 个采样点, {len(self.labs)} 家检测机构; "
            f"第一轮 {s['r1_people']:,} 人 ({100 * s['r1_people'] / self.n:.0f}%) "
            f"{s['r1_tubes']:,} 管全部出结果, 阳性混管 {s['r1_pools']} 管, "
            f"单管复核阳性 {s['r1_findings']} 人, 无效 {s['r1_invalid']} 管已重采; "
            f"第二轮进行中 {s['r2_people']:,} 人 ({100 * s['r2_people'] / self.n:.0f}%) "
            f"{s['r2_tubes']:,} 管, 已出结果 {r2_rate:.0f}%, 阳性混管 {s['r2_pools']} 管, "
            f"待复核 {s['r2_rechecks']} 人, 超时未出结果 {s['r2_overdue']} 管 ({seconds:.1f} s)"
        )
