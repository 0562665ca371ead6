"""Figures that agree (issue 16 point 3), checked on the demo city: the daily report, the HQ
dashboard and the module pages give the same number for each node and day; no five-earlies
interval is negative; no Rt is shown where the window holds too few cases; and the demo's
printout names the figures the pages show."""

import datetime as dt
import io

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from fangkong.accounts.demo import DEMO_PASSWORD
from fangkong.accounts.models import User
from fangkong.analytics import situation
from fangkong.care.models import Admission
from fangkong.command import figures as providers
from fangkong.command import selectors as command_selectors
from fangkong.command.models import DailyReport
from fangkong.command.services import daily_reports_assemble
from fangkong.common import democlock
from fangkong.control.models import Measure
from fangkong.control.selectors import control_board
from fangkong.geo.models import Jurisdiction, Level
from fangkong.tracing import selectors as tracing
from fangkong.tracing.models import Case


@pytest.fixture
def demo_city(db):
    # The dashboard keeps a node's figures for a minute under its path and day, in a cache that
    # outlives each test: another test's demo city (same node codes) must not answer for this one.
    cache.clear()
    out = io.StringIO()
    call_command("demo", population=3000, seed=5, no_serve=True, stdout=out)
    assert not democlock.installed()  # --no-serve prepares on the real clock
    return out.getvalue()


def _control(values: dict) -> dict:
    return {m: values[f"control_{m}"] for m in Measure.values} | {"total": values["control_total"]}


def test_the_demo_city_figures_agree_everywhere(demo_city, client):
    city = Jurisdiction.objects.get(level=Level.CITY)
    today = timezone.localdate()
    commander = User.objects.get(username="commander")
    daily_reports_assemble(day=today, root=city)
    reports = list(DailyReport.objects.select_related("jurisdiction").order_by("day", "jpath"))
    assert {r.day for r in reports} >= {today - dt.timedelta(days=1), today}
    # The daily report of every node and day = the control board of that node on that day.
    for report in reports:
        board = control_board(actor=None, node=report.jurisdiction, day=report.day)
        wanted = _control(report.figures)
        got = {m: board["total"][m] for m in Measure.values} | {"total": board["total"]["total"]}
        assert got == wanted, (report.jurisdiction.name, report.day)
        # ... and each child's row of the board = that child's own report.
        for row in board["children"]:
            child = next(
                (r for r in reports if r.jurisdiction_id == row["node"].pk and r.day == report.day),
                None,
            )
            if child is not None:
                assert {m: row[m] for m in Measure.values} | {"total": row["total"]} == _control(
                    child.figures
                ), (row["node"].name, report.day)
    # The dashboard's tiles are today's report's figures, for the city and each district.
    assert client.login(username="commander", password=DEMO_PASSWORD)
    for node in [city, *Jurisdiction.objects.filter(level=Level.DISTRICT)]:
        page = client.get("/analytics/", {"node": node.code})
        assert page.status_code == 200
        report = DailyReport.objects.get(jurisdiction=node, day=today)
        shown = page.context["figures"]
        for key, value in report.figures.items():
            assert shown[key] == value, (node.name, key)
    # The control page the commander opens says what today's city report says.
    board_page = client.get("/control/")
    assert (
        board_page.context["data"]["total"]["total"]
        == DailyReport.objects.get(jurisdiction=city, day=today).figures["control_total"]
    )
    # Cases: the report's running totals = the tracing pages' key figures.
    key = tracing.key_figures(actor=commander)
    today_city = providers.collect(city.path, today)
    assert key["confirmed"] == today_city["cases_total_confirmed"]
    assert key["asymptomatic"] == today_city["cases_total_asymptomatic"]


def test_no_negative_interval_and_no_thin_rt(demo_city):
    commander = User.objects.get(username="commander")
    rows = tracing.intervals_aggregate(actor=commander)
    assert all(r["inconsistent"] == 0 for r in rows), rows
    assert all(r["mean_hours"] is None or r["mean_hours"] >= 0 for r in rows), rows
    for case in Case.objects.all():
        for interval in tracing.case_intervals(case):
            assert interval["hours"] is None or interval["hours"] >= 0, (case.code, interval)
        if case.admitted_at is not None:
            assert case.admitted_at >= case.reported_at, case.code
    for admission in Admission.objects.select_related("case"):
        assert admission.admitted_at >= admission.case.reported_at, admission.case.code
    city = Jurisdiction.objects.get(level=Level.CITY)
    today = timezone.localdate()
    result = situation.situation(node=city, today=today)
    minimum = situation.config()["min_window_cases"]
    series = result["rt"]
    for mean, cases in zip(series.mean, series.window_cases, strict=True):
        assert mean is None or cases >= minimum
    start = today - dt.timedelta(days=59)
    counts = situation.child_series(node=city, start=start, end=today)
    window = {
        c.code: int(np.sum(counts["counts"][i, -7:])) for i, c in enumerate(counts["children"])
    }
    for child in result["children"]:
        if window[child["code"]] < minimum:
            assert child["rt_mean"] is None and child["rt_upper"] is None, child
        else:
            assert child["rt_mean"] is not None, child


def test_the_printout_names_the_figures_the_pages_show(demo_city):
    commander = User.objects.get(username="commander")
    clusters = tracing.key_figures(actor=commander)["clusters"]
    assert f"{clusters} 起聚集性疫情" in demo_city
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    counts = command_selectors.daily_report_counts(actor=commander, day=yesterday)
    assert f"逾期 {counts['late']}）" in demo_city
    assert f"昨日 {counts['reports']} 份" in demo_city
