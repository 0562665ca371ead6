"""`fangkong analytics rt`: the time-varying reproduction number of a daily case series, to a CSV."""

from __future__ import annotations

import csv

from django.core.management.base import BaseCommand, CommandError

from fangkong.analytics.rt import read_incidence_csv, rt_cori

# Four decimals: a thousandth of the narrowest credible interval seen in practice, and stable
# across platforms where the 15th digit of a gamma quantile is not.
DECIMALS = 4


class Command(BaseCommand):
    help = "Situation analysis of case counts: Rt (more analyses to come as subcommands)."
    # The command touches no models; skipping the system checks keeps start-up fast.
    requires_system_checks = []

    def add_arguments(self, parser):
        analyses = parser.add_subparsers(dest="analysis", required=True, metavar="{rt,outlines}")
        outlines = analyses.add_parser(
            "outlines",
            help="give jurisdictions without an outline a deterministic synthetic one (the map)",
        )
        outlines.add_argument(
            "--overwrite", action="store_true", help="replace every outline, imported ones too"
        )

        rt = analyses.add_parser(
            "rt",
            help="Rt by Cori et al. (EpiEstim's parametric_si) over sliding windows",
            description=(
                "Estimate Rt on the window of --window days ending on each date, from the day "
                "window+1 on (EpiEstim's t_start = 2:(T-window+1)). Days missing from the input "
                "count as 0 cases. Output: date,rt_mean,rt_lower,rt_upper with the 95% "
                f"credible interval, {DECIMALS} decimals."
            ),
        )
        rt.add_argument("--incidence", required=True, help="CSV with a header date,cases")
        rt.add_argument(
            "--si-mean", type=float, required=True, help="serial interval mean, days (> 1)"
        )
        rt.add_argument("--si-sd", type=float, required=True, help="serial interval sd, days")
        rt.add_argument("--window", type=int, default=7, help="window length in days (7)")
        rt.add_argument("--out", required=True, help="the output CSV")

    def handle(self, *args, **options):
        if options["analysis"] == "rt":
            self._rt(options)
        elif options["analysis"] == "outlines":
            from fangkong.analytics.outlines import outlines_generate

            count = outlines_generate(overwrite=options["overwrite"])
            self.stdout.write(f"{count} outlines set")

    def _rt(self, options):
        if options["window"] < 1:
            raise CommandError("--window must be at least 1 day")
        try:
            dates, cases = read_incidence_csv(options["incidence"])
            rows = rt_cori(
                dates,
                cases,
                si_mean=options["si_mean"],
                si_sd=options["si_sd"],
                window=options["window"],
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        with open(options["out"], "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["date", "rt_mean", "rt_lower", "rt_upper"])
            for row in rows:
                writer.writerow(
                    [
                        row.date.isoformat(),
                        f"{row.rt_mean:.{DECIMALS}f}",
                        f"{row.rt_lower:.{DECIMALS}f}",
                        f"{row.rt_upper:.{DECIMALS}f}",
                    ]
                )
        if options["verbosity"] >= 1:
            if rows:
                self.stdout.write(
                    f"{len(rows)} Rt estimates from {rows[0].date} to {rows[-1].date} "
                    f"written to {options['out']}"
                )
            else:
                span = (dates[-1] - dates[0]).days + 1 if dates else 0
                self.stdout.write(
                    f"no Rt estimate: {span} days of data, more than {options['window']} are "
                    f"needed; only the header was written to {options['out']}"
                )
