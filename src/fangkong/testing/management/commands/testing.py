"""`fangkong testing …`: create a round, import sample and result files, export statuses, plan."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from fangkong.common import priority
from fangkong.geo.models import Jurisdiction
from fangkong.testing import bulk, services
from fangkong.testing.models import Round


class Command(BaseCommand):
    help = "Mass nucleic-acid testing: rounds, sample and result files, statuses."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        create = verbs.add_parser(
            "round-create", help="create a testing round over one or more nodes"
        )
        create.add_argument("--code", required=True)
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scope",
            required=True,
            action="append",
            help="jurisdiction code; repeat or separate by commas for several",
        )
        create.add_argument("--pool-size", type=int, default=10)

        samples = verbs.add_parser(
            "import-samples", help="CSV tube_barcode,id_number,sampled_at,site_code[,kind]"
        )
        samples.add_argument("--round", required=True, dest="round_code")
        samples.add_argument("file")

        results = verbs.add_parser(
            "import-results", help="CSV tube_barcode,result,reported_at,lab_code[,ct_orf1ab,ct_n]"
        )
        results.add_argument("file")

        export = verbs.add_parser(
            "export-status", help="CSV id_number,status for everyone in the round's scope"
        )
        export.add_argument("--round", required=True, dest="round_code")
        export.add_argument("--out", required=True)

        plan = verbs.add_parser(
            "plan", help="what a round over a node needs, and the shortfall per district"
        )
        plan.add_argument("--scope", required=True)
        plan.add_argument("--hours", type=int, default=24)
        plan.add_argument("--pool-size", type=int, default=10)
        plan.add_argument(
            "--prevalence",
            type=float,
            default=None,
            help="expected prevalence in per cent (default: each area's last rounds)",
        )

        stats = verbs.add_parser("refresh-stats", help="recount a round per grid")
        stats.add_argument("--round", required=True, dest="round_code")

    def handle(self, *args, verb, **options):
        self.verbosity = options["verbosity"]
        started = time.perf_counter()
        bulk.TIMINGS.clear()
        getattr(self, "_" + verb.replace("-", "_"))(**options)
        if options["verbosity"] >= 2:
            for name, seconds in bulk.TIMINGS.items():
                self.stderr.write(f"timing {name}: {seconds:.3f} s")
        self.stderr.write(f"{verb}: {time.perf_counter() - started:.2f} s")

    def _round(self, code: str) -> Round:
        try:
            return Round.objects.get(code=code)
        except Round.DoesNotExist:
            raise CommandError(f"no round {code}") from None

    def _node(self, code: str) -> Jurisdiction:
        try:
            return Jurisdiction.objects.get(code=code)
        except Jurisdiction.DoesNotExist:
            raise CommandError(f"no jurisdiction {code}") from None

    def _round_create(self, *, code, name, scope, pool_size, **_):
        nodes = [self._node(c.strip()) for value in scope for c in value.split(",") if c.strip()]
        try:
            round_ = services.round_create(
                actor=None, code=code, name=name, scope=nodes, pool_size=pool_size
            )
        except services.TestingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"round {round_.code} created over {', '.join(n.code for n in nodes)}")

    def _report(self, job):
        for error in job.errors:
            self.stderr.write(
                f"line {error['line']}: {error['column']} {error['value']!r}: {error['reason']}"
            )
        if job.rejected > len(job.errors):
            self.stderr.write(f"… and {job.rejected - len(job.errors)} more rejected rows")
        if job.status == job.Status.FAILED:
            raise CommandError(job.message)
        self.stdout.write(
            f"{job.total_rows} rows: {job.created} created, {job.updated} updated, "
            f"{job.unchanged} unchanged, {job.rejected} rejected (job {job.pk})"
        )

    def _import_samples(self, *, round_code, file, **_):
        round_ = self._round(round_code)
        # At background priority (FANGKONG_IMPORT_NICE): the desks' scans come first.
        with priority.background() as niced, self._open(file) as source:
            job = bulk.import_samples(actor=None, round_=round_, source=source, filename=file)
        self._niced(niced)
        self._report(job)

    def _import_results(self, *, file, **_):
        with priority.background() as niced, self._open(file) as source:
            job = bulk.import_results(actor=None, source=source, filename=file)
        self._niced(niced)
        self._report(job)

    def _niced(self, niced: dict) -> None:
        if self.verbosity >= 2:
            self.stderr.write(
                f"priority: nice {niced['nice']}, {niced['reniced']} of {niced['backends']} "
                "database backends reniced"
            )

    def _open(self, file):
        if file == "-":
            return sys.stdin.buffer
        try:
            return open(file, "rb")  # noqa: SIM115 - closed by the caller's with
        except OSError as exc:
            raise CommandError(str(exc)) from None

    def _export_status(self, *, round_code, out, **_):
        round_ = self._round(round_code)
        with open(out, "w", encoding="utf-8", newline="") as handle:
            n = bulk.export_status(round_=round_, out=handle)
        self.stdout.write(f"{n} people written to {out}")

    def _plan(self, *, scope, hours, pool_size, prevalence, **_):
        if prevalence is not None and not 0 <= prevalence <= 100:
            raise CommandError("--prevalence is a percentage from 0 to 100")
        if not 1 <= pool_size <= 20 or not 1 <= hours <= 72:
            raise CommandError("--pool-size from 1 to 20 and --hours from 1 to 72")
        rows = services.plan_round(
            node=self._node(scope),
            hours=hours,
            pool_size=pool_size,
            prevalence=None if prevalence is None else prevalence / 100,
        )
        self.stdout.write(
            "node,population,points,desks,samplers,tubes,prevalence_pct,prevalence_from,"
            "retests,tests,tests_per_person,best_pool,best_tests_per_person,lab_per_day,"
            "short_points,short_desks,short_samplers,short_lab"
        )
        for r in rows:
            s = r.shortfall
            self.stdout.write(
                f"{r.node.code},{r.population},{r.points_min}-{r.points_max},{r.desks_min}-{r.desks_max},"
                f"{r.samplers},{r.tubes},{r.prevalence * 100:.4f},{r.prevalence_source},"
                f"{r.retests},{r.tests},{r.tests_per_person:.4f},{r.recommended_pool_size},"
                f"{r.recommended_tests_per_person:.4f},{r.lab_per_day},"
                f"{s['points']},{s['desks']},{s['samplers']},{s['lab_per_day']}"
            )

    def _refresh_stats(self, *, round_code, **_):
        n = bulk.stats_refresh(round_id=self._round(round_code).pk)
        self.stdout.write(f"{n} grids counted")
