"""Daily reports: assembly from the modules, sign-off level by level, roll-up across three levels,
the late flag and scope."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from fangkong.accounts.tests.factories import UserFactory
from fangkong.command import figures, selectors, services
from fangkong.command.models import DailyReport
from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.control.tests.factories import make_site, open_order
from fangkong.geo.models import Jurisdiction
from fangkong.people.tests.factories import PersonFactory

from .factories import CaseFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2022, 4, 1)


def at(day, hour, minute=0):
    return dt.datetime(2022, 4, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def story(tree, people, make_user):
    street2 = Jurisdiction.objects.get(code="320104001")
    # District 1: 2 confirmed (one found under control), 1 asymptomatic; district 2: 1 confirmed.
    CaseFactory(person=people["a"][0], found_by="under_control", under_control_when_found=True)
    CaseFactory(person=people["a"][1], found_by="fever_clinic")
    CaseFactory(person=people["b"][0], classification="asymptomatic")
    CaseFactory(person=people["c"][0])
    CaseFactory(person=PersonFactory(grid=tree["grid_c"]), report_date=DAY - dt.timedelta(days=1))
    services.daily_reports_assemble(day=DAY)
    users = {
        "city": make_user(role="commander", node="city"),
        "district": make_user(role="hq_staff", node="district"),
        "district2": make_user(role="hq_staff", node="district2"),
        "street": make_user(role="hq_staff", node="street"),
        "street2": UserFactory(role="hq_staff", jurisdiction=street2),
    }
    reports = {r.jurisdiction.code: r for r in DailyReport.objects.filter(day=DAY)}
    return {"users": users, "reports": reports, "tree": tree}


def test_assembly_creates_one_report_per_node_of_the_three_levels(story):
    reports = story["reports"]
    assert sorted(reports) == ["320100", "320102", "320102001", "320104", "320104001"]
    assert {r.level for r in reports.values()} == {"city", "district", "street"}
    city = reports["320100"].figures
    assert (city["cases_confirmed"], city["cases_asymptomatic"]) == (3, 1)
    assert (city["cases_under_control"], city["cases_community"]) == (1, 3)
    assert city["cases_total_confirmed"] == 4
    street = reports["320102001"].figures
    assert (street["cases_confirmed"], street["cases_asymptomatic"]) == (2, 1)
    assert reports["320104001"].figures["cases_confirmed"] == 1
    # Due the next morning: streets at 08:00, districts 09:00, the city 10:00.
    assert reports["320102001"].due_at == at(2, 8)
    assert reports["320100"].due_at == at(2, 10)


def test_sign_off_goes_up_level_by_level_and_rolls_up(story):
    users, reports = story["users"], story["reports"]
    city, district = reports["320100"], reports["320102"]
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_sign(actor=users["district"], report=district, now=at(2, 7))
    assert refused.value.code == "reports_unsigned"
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_sign(actor=users["city"], report=city, now=at(2, 7))
    assert refused.value.code == "reports_unsigned"
    services.daily_report_fill(
        actor=users["street"],
        report=reports["320102001"],
        entries={"volunteers": "10", "staff_on_duty": 40, "key_work": "完成第一轮核酸"},
    )
    services.daily_report_fill(
        actor=users["street2"], report=reports["320104001"], entries={"volunteers": 5}
    )
    services.daily_report_sign(actor=users["street"], report=reports["320102001"], now=at(2, 7))
    services.daily_report_sign(actor=users["street2"], report=reports["320104001"], now=at(2, 7))
    services.daily_report_fill(actor=users["district"], report=district, entries={"volunteers": 3})
    district = services.daily_report_sign(actor=users["district"], report=district, now=at(2, 8))
    assert district.rollup["cases_confirmed"] == 2
    assert district.rollup["entry_volunteers"] == 10
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_sign(actor=users["city"], report=city, now=at(2, 9))
    assert refused.value.code == "reports_unsigned"
    services.daily_report_sign(actor=users["district2"], report=reports["320104"], now=at(2, 8, 30))
    city = services.daily_report_sign(actor=users["city"], report=city, now=at(2, 9, 30))
    # The city's roll-up sums the districts' signed figures and every level's own entries.
    assert city.rollup["cases_confirmed"] == 3
    assert city.rollup["cases_asymptomatic"] == 1
    assert city.rollup["entry_volunteers"] == 3 + 10 + 5
    assert city.rollup["entry_staff_on_duty"] == 40
    assert city.figures["cases_confirmed"] == 3
    assert (city.state, city.late, city.signed_by) == ("signed", False, users["city"])
    assert city.signer == str(users["city"])
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_sign(actor=users["city"], report=city, now=at(2, 9, 40))

    assert refused.value.code == "already_signed"


def test_only_the_nodes_own_staff_sign_and_fill(story):
    users, reports = story["users"], story["reports"]
    with pytest.raises(PermissionDenied):
        services.daily_report_sign(actor=users["district"], report=reports["320102001"])
    with pytest.raises(PermissionDenied):
        services.daily_report_fill(
            actor=users["city"], report=reports["320102001"], entries={"volunteers": 1}
        )
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_fill(
            actor=users["street"], report=reports["320102001"], entries={"volunteers": "many"}
        )

    assert refused.value.code == "not_a_whole_number"


def test_late_signature_and_late_alerts(story):
    users, reports = story["users"], story["reports"]
    street = services.daily_report_sign(
        actor=users["street"], report=reports["320102001"], now=at(2, 8, 5)
    )
    assert street.late is True
    raised = services.daily_reports_flag_late(now=at(2, 9, 30))
    # Still unsigned and past due at 09:30: street 2 (08:00) and both districts (09:00).
    assert raised == 3
    titles = sorted(
        Alert.objects.filter(kind="command.report_late").values_list("title", flat=True)
    )
    assert titles[0].startswith("Daily report of 夫子庙街道 for 2022-04-01")
    assert services.daily_reports_flag_late(now=at(2, 9, 30)) == 3
    assert Alert.objects.filter(kind="command.report_late").count() == 3


def test_the_level_above_returns_a_signed_report(story):
    users, reports = story["users"], story["reports"]
    street = services.daily_report_sign(
        actor=users["street"], report=reports["320102001"], now=at(2, 7)
    )
    with pytest.raises(PermissionDenied):
        services.daily_report_return(actor=users["district2"], report=street, reason="数字有误")
    street = services.daily_report_return(actor=users["district"], report=street, reason="数字有误")
    assert (street.state, street.signed_at) == ("draft", None)


def test_scope_of_the_report_list(story):
    users = story["users"]
    codes = lambda u: sorted(r.jurisdiction.code for r in selectors.daily_report_list(actor=u))  # noqa: E731
    assert codes(users["district2"]) == ["320104", "320104001"]
    assert codes(users["city"]) == ["320100", "320102", "320102001", "320104", "320104001"]
    with pytest.raises(errors.NotFound):
        selectors.access_daily_report(users["district2"], story["reports"]["320102"].pk)


def test_control_rooms_and_a_plugged_in_provider(story, settings, people):
    tree = story["tree"]
    make_site(tree["street"], code="S1", floors=1, rooms=3)
    open_order(people["a"][2], days_ago=0)
    today = dt.date.today()
    values = figures.collect(tree["district"].path, today)
    assert values["rooms_total"] == 3
    assert values["control_total"] == 1
    settings.FANGKONG_FIGURE_PROVIDERS = ["fangkong.command.tests.test_reports.beds"]
    values = figures.collect(tree["district"].path, today)
    assert values["beds_free_cabin"] == 12
    assert figures.roll_up(
        [
            {"supplies_min_cover_days": 4.0, "beds_free_cabin": 1},
            {"supplies_min_cover_days": 2.5, "beds_free_cabin": 2},
        ]
    ) == {"supplies_min_cover_days": 2.5, "beds_free_cabin": 3}


def beds(path, day):
    return {"beds_free_cabin": 12}


def test_cli_assembles_and_flags(story):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("command", "daily-reports", "--day", "2022-03-31", stdout=out)
    assert out.getvalue().strip() == "5 daily reports for 2022-03-31 assembled"
    call_command("command", "reports-late", stdout=out)
    assert "10 reports late" in out.getvalue()


def test_operator_records_a_paper_signature(story):
    street = story["reports"]["320104001"]
    with pytest.raises(services.CommandRefused) as refused:
        services.daily_report_sign(actor=None, report=street, now=at(2, 7))
    assert refused.value.code == "signer_required"
    street = services.daily_report_sign(
        actor=None, report=street, now=at(2, 7), signer="夫子庙街道值班长"
    )
    assert (street.signed_by, street.signer, street.late) == (None, "夫子庙街道值班长", False)


def test_assembly_is_audited_once_per_run(story):
    from fangkong.audit.models import AuditEntry

    entries = AuditEntry.objects.filter(object_type="command.dailyreport", actor=None)
    assert entries.count() == 1
    assert entries.get().changes == {"created": [None, 5], "refreshed": [None, 0]}
