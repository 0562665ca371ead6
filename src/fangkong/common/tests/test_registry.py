"""The discovered registries give what the central lists gave before issue 12 (nav, alert kinds,
figure providers), and undeclared names are refused."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.accounts.roles import Role, WorkingGroup, can_import_people, can_read_audit
from fangkong.common import events, registry
from fangkong.common.context import navigation
from fangkong.control.roles import can_manage_orders
from fangkong.testing.roles import can_report, can_sample
from fangkong.tracing.roles import can_run_colocation, can_work_leads

# common/context.py's MODULES before the inversion (a2da3f5), verbatim: (url name, label, who sees it).
OLD_MODULES = [
    ("home", _("Overview"), None),
    ("analytics:dashboard", _("HQ dashboard"), None),
    ("analytics:situation", _("Situation analysis"), None),
    ("geo:tree", _("Jurisdictions"), None),
    ("people:search", _("Population"), None),
    ("people:import", _("Import"), can_import_people),
    ("testing:rounds", pgettext_lazy("module", "Testing"), None),
    ("testing:scanner", _("Scanner"), can_sample),
    ("testing:lab", _("Lab"), can_report),
    ("testing:rechecks", _("Re-checks"), None),
    ("tracing:cases", _("Cases"), None),
    ("tracing:worklist", _("Lead worklist"), can_work_leads),
    ("tracing:chains", _("Transmission chains"), None),
    ("tracing:colocation", _("Big-data co-location"), can_run_colocation),
    ("control:board", _("Control board"), None),
    ("control:checks", _("Daily health checks"), can_manage_orders),
    ("care:overview", _("Bed board"), None),
    ("checkpoints:register", _("Checkpoint registration"), None),
    ("checkpoints:transfers", _("Transfers"), None),
    ("command:tasks", _("Tasks"), None),
    ("command:inspections", _("Inspections"), None),
    ("command:risk-areas", _("Risk areas"), None),
    ("command:response-level", _("Response level"), None),
    ("command:reports", _("Daily reports"), None),
    ("command:bulletins", _("Bulletins"), None),
    ("supplies:overview", _("Supplies"), None),
    ("supplies:requests", _("Supply requests"), None),
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
    assert len(registry.alert_kinds()) == 16  # 15, and vaccination's serious AEFI


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
