"""The discovered registries give what the central lists gave before issue 12 (nav, alert kinds,
figure providers), and undeclared names are refused."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.accounts.roles import (
    Role,
    WorkingGroup,
    can_import_people,
    can_read_audit,
    can_search_people,
)
from fangkong.analytics.roles import can_view_dashboard, can_view_situation
from fangkong.care.roles import can_view_care
from fangkong.checkpoints.roles import can_register, can_transfer
from fangkong.command.roles import (
    can_edit_bulletin,
    can_view_inspections,
    can_view_picture,
    can_view_risk_areas,
)
from fangkong.common import events, registry
from fangkong.common.context import navigation
from fangkong.control.roles import can_manage_orders, can_view_board
from fangkong.supplies.roles import can_request, can_view_stock
from fangkong.testing.roles import can_report, can_sample, can_view_rechecks, can_view_rounds
from fangkong.tracing.roles import (
    can_run_colocation,
    can_view_cases,
    can_view_chains,
    can_work_leads,
)
from fangkong.voluntary.roles import can_view_bookings

# common/context.py's MODULES before the inversion (a2da3f5): (url name, label, who sees it), with
# the per-role predicates of issue 16 (each role's menu is the module pages it may open).
OLD_MODULES = [
    ("home", _("Overview"), None),
    ("analytics:dashboard", _("HQ dashboard"), can_view_dashboard),
    ("analytics:situation", _("Situation analysis"), can_view_situation),
    ("geo:tree", _("Jurisdictions"), None),
    ("people:search", _("Population"), can_search_people),
    ("people:import", _("Import"), can_import_people),
    ("testing:rounds", pgettext_lazy("module", "Testing"), can_view_rounds),
    ("testing:scanner", _("Scanner"), can_sample),
    ("voluntary:staff", _("Voluntary testing"), can_view_bookings),  # issue 13
    ("testing:lab", _("Lab"), can_report),
    ("testing:rechecks", _("Re-checks"), can_view_rechecks),
    ("tracing:cases", _("Cases"), can_view_cases),
    ("tracing:worklist", _("Lead worklist"), can_work_leads),
    ("tracing:chains", _("Transmission chains"), can_view_chains),
    ("tracing:colocation", _("Big-data co-location"), can_run_colocation),
    ("control:board", _("Control board"), can_view_board),
    ("control:checks", _("Daily health checks"), can_manage_orders),
    ("care:overview", _("Bed board"), can_view_care),
    ("checkpoints:register", _("Checkpoint registration"), can_register),
    ("checkpoints:transfers", _("Transfers"), can_transfer),
    ("command:tasks", _("Tasks"), None),
    ("command:inspections", _("Inspections"), can_view_inspections),
    ("command:risk-areas", _("Risk areas"), can_view_risk_areas),
    ("command:response-level", _("Response level"), None),
    ("command:reports", _("Daily reports"), can_view_picture),
    ("command:bulletins", _("Bulletins"), can_edit_bulletin),
    ("supplies:overview", _("Supplies"), can_view_stock),
    ("supplies:requests", _("Supply requests"), can_request),
    ("common:alerts", _("Alert centre"), None),
    ("audit:list", _("Audit log"), can_read_audit),
]
# Modules added since (vaccination, …) declare entries of their own; they are not compared here.
OLD_NAMES = {name for name, _label, _allowed in OLD_MODULES}


def test_the_declared_nav_is_the_old_list():
    with translation.override("zh-hans"):
        declared = [
            (e.url_name, str(e.label), e.allowed)
            for e in registry.nav_entries()
            if e.url_name in OLD_NAMES
        ]
        old = [(name, str(label), allowed) for name, label, allowed in OLD_MODULES]
    assert [d[0] for d in declared] == [o[0] for o in old]
    assert [d[2] for d in declared] == [o[2] for o in old]
    assert [d[1] for d in declared] == [o[1] for o in old]


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_entries_it_saw(make_user, role):
    user = make_user(role=role, node="city", working_group=WorkingGroup.TRACING)
    request = RequestFactory().get("/")
    request.user = user
    old_urls = {reverse(name) for name in OLD_NAMES}
    shown = [e["url"] for e in navigation(request)["nav_entries"] if e["url"] in old_urls]
    expected = [reverse(n) for n, _, allowed in OLD_MODULES if allowed is None or allowed(user)]
    assert shown == expected


def test_alert_kinds_are_declared_by_their_apps():
    with translation.override("zh-hans"):
        assert registry.alert_kind_label("pool_positive") == "混管阳性"
        assert registry.alert_kind_label("command.report_late") != "command.report_late"
        assert registry.alert_kind_label("no_such_kind") == "no_such_kind"
    assert len(registry.alert_kinds()) == 18  # 15, vaccination's serious AEFI, screening's two


def test_figure_providers_keep_their_order():
    assert registry.figure_providers() == [
        "fangkong.command.figures.case_figures",
        "fangkong.command.figures.control_figures",
        "fangkong.command.figures.testing_figures",
        "fangkong.command.figures.room_figures",
        "fangkong.care.figures.bed_figures",
        "fangkong.vaccination.figures.coverage_figures",
        "fangkong.command.figures.supply_figures",
        "fangkong.command.figures.task_figures",
    ]


def test_publishing_an_undeclared_event_is_refused():
    with pytest.raises(LookupError):
        events.publish("testing.pool_postive", tube_id=1)


def test_every_subscription_is_to_a_declared_event(monkeypatch):
    assert events.check_subscriptions() == []
    monkeypatch.setitem(events._subscribers, "tracing.case_opend", [lambda **kw: None])
    assert [e.id for e in events.check_subscriptions()] == ["common.E001"]


def test_two_nav_entries_with_one_order_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "_nav", dict(registry._nav))
    with pytest.raises(ValueError):
        registry.nav(10, "somewhere:else", "x")
