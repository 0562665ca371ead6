"""Vaccination's figures for the daily reports and the HQ dashboard: coverage of the subtree.

Counts, not rates, because reports roll children up by summing (command.figures.roll_up); the
report and the dashboard show the rates beside them. Coverage is current (the counters), not
kept per day: a report signed that day freezes it. One indexed read of the counters."""

import datetime as dt

from django.utils.translation import gettext_lazy as _

from . import coverage


def coverage_figures(path: str, day: dt.date) -> dict:
    data = coverage.read(path=path)
    total = data["total"]
    if not total["population"]:
        return {}
    old, oldest = data["elderly"]["aged_60_plus"], data["elderly"]["aged_80_plus"]
    return {
        "vacc_eligible": total["population"],
        "vacc_first": total["first"],
        "vacc_full": total["full"],
        "vacc_booster": total["booster"],
        "vacc_60_population": old["population"],
        "vacc_60_full": old["full"],
        "vacc_60_booster": old["booster"],
        "vacc_80_population": oldest["population"],
        "vacc_80_full": oldest["full"],
    }


coverage_figures.figure_labels = {
    "vacc_eligible": _("People aged 3 and over"),
    "vacc_first": _("Vaccinated: first dose"),
    "vacc_full": _("Vaccinated: full course"),
    "vacc_booster": _("Vaccinated: booster"),
    "vacc_60_population": _("People aged 60 and over"),
    "vacc_60_full": _("Aged 60+: full course"),
    "vacc_60_booster": _("Aged 60+: booster"),
    "vacc_80_population": _("People aged 80 and over"),
    "vacc_80_full": _("Aged 80+: full course"),
}
