"""Response levels, risk areas, downgrade proposals per preset, the import and origin matching."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from fangkong.audit.models import AuditEntry
from fangkong.command import selectors, services
from fangkong.command.models import Proposal, ResponseLevel, RiskArea
from fangkong.common.models import Alert
from fangkong.geo.tests.factories import BuildingFactory

D = dt.date(2022, 6, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


@pytest.fixture
def hq(make_user):
    return make_user(role="commander", node="city")


def declare(hq, tree, level="high", preset="2022-06", node="grid_a", **kw):
    return services.risk_area_declare(
        actor=hq, level=level, preset=preset, since=D, jurisdiction=tree[node], **kw
    )


def test_response_level_history_and_current(tree, make_user, hq):
    first = services.response_level_declare(actor=hq, level=1, reason="首例本土病例")
    second = services.response_level_declare(actor=hq, level=2, reason="疫情趋稳")
    assert first.jpath == tree["city"].path
    assert list(ResponseLevel.objects.values_list("level", flat=True)) == [2, 1]
    grid_user = make_user(node="grid_a")
    assert selectors.response_level_current(actor=grid_user) == second
    assert list(selectors.response_level_history(actor=grid_user)) == [second, first]
    assert AuditEntry.objects.filter(object_type="command.responselevel").count() == 2
    with pytest.raises(services.CommandRefused) as refused:
        services.response_level_declare(actor=hq, level=5)
    assert refused.value.code == "response_level_unknown"
    with pytest.raises(PermissionDenied):
        services.response_level_declare(actor=grid_user, level=3)


def test_declare_checks_preset_and_place(tree, hq):
    with pytest.raises(services.CommandRefused) as refused:
        declare(hq, tree, level="medium", preset="2022-11")
    assert refused.value.code == "level_not_in_preset"
    with pytest.raises(services.CommandRefused) as refused:
        services.risk_area_declare(actor=hq, level="high", since=D)
    assert refused.value.code == "node_or_building"
    building = BuildingFactory(grid=tree["grid_b"], name="3号楼")
    area = services.risk_area_declare(actor=hq, level="high", since=D, building=building)
    assert (area.name, area.jpath) == ("3号楼", tree["grid_b"].path)


@pytest.mark.parametrize(
    ("preset", "level", "days", "needs_round", "to_level"),
    [
        ("2022-06", "high", 7, True, "medium"),
        ("2022-06", "medium", 7, False, "low"),
        ("2022-11", "high", 5, False, "low"),
        ("zones", "sealed", 14, True, ""),
        ("zones", "controlled", 14, True, ""),
        ("zones", "precaution", 14, True, ""),
    ],
)
def test_downgrade_boundaries_per_preset(tree, hq, preset, level, days, needs_round, to_level):
    area = declare(hq, tree, level=level, preset=preset)
    services.risk_area_update(actor=hq, area=area, last_case_on=day(2))
    if needs_round:
        services.risk_area_update(actor=hq, area=area, negative_round_on=day(2 + days))
    # One clean day short: nothing.
    assert services.risk_areas_review(today=day(2 + days - 1), last_case_on_by_path={}) == []
    [proposal] = services.risk_areas_review(today=day(2 + days), last_case_on_by_path={})
    assert (proposal.from_level, proposal.to_level, proposal.clean_days) == (level, to_level, days)
    # The pending proposal is not proposed twice.
    assert services.risk_areas_review(today=day(3 + days), last_case_on_by_path={}) == []


def test_negative_round_is_required_where_the_preset_says(tree, hq):
    area = declare(hq, tree)
    services.risk_area_update(actor=hq, area=area, last_case_on=day(2))
    assert services.risk_areas_review(today=day(20), last_case_on_by_path={}) == []
    # A round before the last case does not count.
    services.risk_area_update(actor=hq, area=area, negative_round_on=day(1))
    assert services.risk_areas_review(today=day(20), last_case_on_by_path={}) == []
    services.risk_area_update(actor=hq, area=area, negative_round_on=day(5))
    assert len(services.risk_areas_review(today=day(20), last_case_on_by_path={})) == 1


def test_cases_under_the_area_path_reset_the_clock(tree, hq):
    area = declare(hq, tree, level="medium", node="community")
    cases = {tree["grid_b"].path: day(5), tree["grid_c"].path: day(9)}
    # A case in grid B (inside the community) on day 5: 7 clean days end on day 12.
    assert services.risk_areas_review(today=day(11), last_case_on_by_path=cases) == []
    [proposal] = services.risk_areas_review(today=day(12), last_case_on_by_path=cases)
    assert proposal.area == area
    alert = Alert.objects.get(kind="command.risk_proposal")
    assert alert.jurisdiction_path == tree["community"].path


def test_last_case_from_testing_findings(tree, hq, people):
    from fangkong.testing.models import PositiveFinding, Tube
    from fangkong.testing.tests.factories import SiteFactory, make_round

    declare(hq, tree, level="medium", node="grid_a")
    round_ = make_round("R1", tree["district"])
    site = SiteFactory(jurisdiction=tree["grid_a"])
    person = people["a"][0]
    tube = Tube.objects.create(barcode="T1", round=round_, site=site, jpath=site.jpath)
    # 23:30 local on day 4 is still day 4 (15:30 UTC): the local date counts.
    PositiveFinding.objects.create(
        round=round_,
        person=person,
        tube=tube,
        jpath=person.jpath,
        at=dt.datetime(2022, 6, 5, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    assert services.last_cases_from_findings() == {person.jpath: day(4)}
    assert services.risk_areas_review(today=day(10)) == []
    assert len(services.risk_areas_review(today=day(11))) == 1


def test_approve_downgrades_then_needs_a_fresh_clean_period(tree, hq):
    area = declare(hq, tree)
    services.risk_area_update(actor=hq, area=area, negative_round_on=day(6))
    [proposal] = services.risk_areas_review(today=day(7), last_case_on_by_path={})
    services.proposal_decide(actor=hq, proposal=proposal, approve=True, today=day(7))
    area.refresh_from_db()
    assert (area.level, area.level_since) == ("medium", day(7))
    assert AuditEntry.objects.filter(object_type="command.riskarea", action="update").exists()
    # The medium level counts its own seven days from the day it took effect.
    assert services.risk_areas_review(today=day(13), last_case_on_by_path={}) == []
    [second] = services.risk_areas_review(today=day(14), last_case_on_by_path={})
    services.proposal_decide(actor=hq, proposal=second, approve=False)
    area.refresh_from_db()
    assert area.level == "medium"
    assert second.state == Proposal.State.REJECTED
    with pytest.raises(services.CommandRefused) as refused:
        services.proposal_decide(actor=hq, proposal=second, approve=True)

    assert refused.value.code == "already_decided"


def test_approving_a_lift_ends_the_area(tree, hq):
    area = declare(hq, tree, level="sealed", preset="zones")
    services.risk_area_update(actor=hq, area=area, negative_round_on=day(10))
    [proposal] = services.risk_areas_review(today=day(14), last_case_on_by_path={})
    services.proposal_decide(actor=hq, proposal=proposal, approve=True, today=day(14))
    area.refresh_from_db()
    assert area.ended_on == day(14)
    assert selectors.is_risk_origin(tree["grid_a"].code) is None


CSV = (
    "province,city,district,area_name,level,since\n"
    "上海市,上海市,浦东新区,陆家嘴街道,高风险,2022-04-01\n"
    "广东省,广州市,白云区,太和镇,medium,2022/04/03\n"
    "北京市,北京市,朝阳区,,high,2022-04-01\n"
    "北京市,北京市,朝阳区,望京街道,严重,2022-04-01\n"
    "北京市,北京市,朝阳区,三里屯街道,low,yesterday\n"
    "上海市,上海市,浦东新区,陆家嘴街道,low,2022-04-05\n"
)


def test_import_reports_errors_by_line_and_is_idempotent(db):
    job = services.risk_areas_import(actor=None, source=io.BytesIO(CSV.encode()), filename="r.csv")
    assert (job.status, job.created, job.updated, job.rejected) == ("done", 2, 0, 4)
    assert [(e["line"], e["column"]) for e in job.errors] == [
        (4, "area_name"),
        (5, "level"),
        (6, "since"),
        (7, "area_name"),
    ]
    assert job.errors[3]["reason"] == "the same area appears on line 2"
    area = RiskArea.objects.get(name="陆家嘴街道")
    assert (area.level, area.since, area.external) == ("high", dt.date(2022, 4, 1), True)
    again = services.risk_areas_import(
        actor=None, source=io.BytesIO(CSV.encode()), filename="r.csv"
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert RiskArea.objects.count() == 2
    changed = CSV.replace("高风险,2022-04-01", "低风险,2022-04-10")
    third = services.risk_areas_import(
        actor=None, source=io.BytesIO(changed.encode()), filename="r.csv"
    )
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    area.refresh_from_db()
    assert (area.level, area.since) == ("low", dt.date(2022, 4, 10))


def test_import_refuses_a_file_without_the_columns(db):
    job = services.risk_areas_import(
        actor=None, source=io.BytesIO(b"city,name\n"), filename="r.csv"
    )
    assert job.status == "failed"
    assert "required columns are missing" in job.message


def test_is_risk_origin(tree, hq):
    services.risk_areas_import(actor=None, source=io.BytesIO(CSV.encode()), filename="r.csv")
    area = declare(hq, tree, level="medium", node="community")
    strict = declare(hq, tree, level="high", node="grid_a")
    assert selectors.is_risk_origin("上海市浦东新区陆家嘴街道100号").name == "陆家嘴街道"
    assert selectors.is_risk_origin("广州市 白云区 太和镇").level == "medium"
    assert selectors.is_risk_origin("杭州市西湖区") is None
    assert selectors.is_risk_origin("") is None
    # By code: the strictest area on the node or above it.
    assert selectors.is_risk_origin(tree["grid_a"].code) == strict
    assert selectors.is_risk_origin(tree["grid_b"].code) == area
    assert selectors.is_risk_origin(tree["grid_c"].code) is None
    # A local area by its name inside an address.
    assert selectors.is_risk_origin("南京市玄武区长江路社区5号") == area
