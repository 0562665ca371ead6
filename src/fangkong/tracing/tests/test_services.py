"""The rules of tracing: the window per preset, reclassification history, the lead state
machine, the merge of duplicate leads, the event subscriptions, co-location → leads, clusters."""

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fangkong.common import events
from fangkong.common.models import Alert
from fangkong.control.models import ControlOrder, JurisdictionSetting, Policy
from fangkong.control.tests.factories import open_order
from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing import colocation, selectors, services
from fangkong.tracing.models import Case, CaseEvent, Contact, ContactLink, LeadState

from .factories import at, open_case

pytestmark = pytest.mark.usefixtures("english")


def choose(tree, code, node="city"):
    policy = Policy.objects.get(code=code, version=1)
    JurisdictionSetting.objects.update_or_create(
        jurisdiction=tree[node], defaults={"path": tree[node].path, "policy": policy}
    )


@pytest.mark.parametrize(("preset", "days"), [("plan-ed8", 2), ("plan-ed9", 4), ("nov-2022", 4)])
def test_window_derived_from_the_preset(tree, people, preset, days):
    choose(tree, preset)
    case = open_case(
        people["a"][0],
        onset_date=dt.date(2022, 4, 10),
        isolated_at=at("2022-04-12", 9),
        reported_at=at("2022-04-12", 8),
    )
    assert case.window_start == at(f"2022-04-{10 - days:02d}", 0)
    assert case.window_end == at("2022-04-12", 9)


def test_asymptomatic_window_counts_back_from_the_first_positive_sample(tree, people):
    choose(tree, "plan-ed8")
    case = open_case(
        people["a"][0],
        classification="asymptomatic",
        sampling_date=dt.date(2022, 4, 20),
        reported_at=at("2022-04-21"),
    )
    assert case.window_start == at("2022-04-18", 0) and case.window_end is None


def test_nearest_jurisdiction_choice_wins_and_edit_sticks(tree, people):
    choose(tree, "plan-ed9")
    choose(tree, "plan-ed8", node="district2")
    case_c = open_case(
        people["c"][0], onset_date=dt.date(2022, 4, 10), reported_at=at("2022-04-11")
    )
    case_a = open_case(
        people["a"][0], onset_date=dt.date(2022, 4, 10), reported_at=at("2022-04-11")
    )
    assert case_c.window_start == at("2022-04-08", 0)
    assert case_a.window_start == at("2022-04-06", 0)
    services.case_window_set(
        actor=None, case=case_a, start=at("2022-04-07", 0), end=at("2022-04-11")
    )
    case_a = services.case_times_set(actor=None, case=case_a, isolated_at=at("2022-04-11", 20))
    assert (case_a.window_start, case_a.window_end) == (at("2022-04-07", 0), at("2022-04-11"))
    case_a = services.case_window_set(actor=None, case=case_a, start=None, end=None)
    assert (case_a.window_start, case_a.window_end) == (at("2022-04-06", 0), at("2022-04-11", 20))
    with pytest.raises(services.TracingError) as refused:
        services.case_window_set(
            actor=None, case=case_a, start=at("2022-04-09"), end=at("2022-04-08")
        )

    assert refused.value.code == "ends_before_start"


def test_reclassification_keeps_case_and_history(people):
    case = open_case(
        people["a"][0], classification="asymptomatic", sampling_date=dt.date(2022, 4, 20)
    )
    code = case.code
    case = services.case_reclassify(actor=None, case=case, classification="confirmed", note="CT")
    assert (case.code, case.classification, case.diagnosed_at is not None) == (
        code,
        "confirmed",
        True,
    )
    assert list(
        CaseEvent.objects.filter(case=case).values_list("kind", "from_value", "to_value")
    ) == [
        ("opened", "", "asymptomatic"),
        ("reclassified", "asymptomatic", "confirmed"),
    ]
    with pytest.raises(services.TracingError) as refused:
        services.case_reclassify(actor=None, case=case, classification="asymptomatic")
    assert refused.value.code == "reclassify_not_allowed"
    services.case_severity_set(actor=None, case=case, severity="severe")
    assert CaseEvent.objects.filter(case=case, kind="severity", to_value="severe").exists()
    with pytest.raises(services.Conflict):
        open_case(people["a"][0])


def test_case_numbers_and_five_earlies(people):
    first = open_case(people["a"][0], reported_at=at("2022-04-12", 8))
    second = open_case(people["a"][1], reported_at=at("2022-04-12", 9))
    assert (first.code, second.code) == ("20220412-001", "20220412-002")
    case = services.case_times_set(
        actor=None,
        case=first,
        onset_at=at("2022-04-10", 8),
        first_visit_at=at("2022-04-11", 8),
        isolated_at=at("2022-04-12", 10),
        admitted_at=at("2022-04-12", 14),
    )
    assert case.onset_date == dt.date(2022, 4, 10)
    hours = {i["key"]: i["hours"] for i in selectors.case_intervals(case)}
    assert hours == {
        "onset_to_visit": 24.0,
        "visit_to_report": 24.0,
        "onset_to_report": 48.0,
        "report_to_diagnosis": 0.0,
        "onset_to_isolation": 50.0,
        "diagnosis_to_admission": 6.0,
    }
    with pytest.raises(services.TracingError) as refused:
        services.case_times_set(
            actor=None, case=case, isolated_at=timezone.now() + dt.timedelta(days=1)
        )

    assert refused.value.code == "time_in_future"


def test_intervals_in_aggregate(people, make_user):
    for n, person in enumerate(people["a"]):
        case = open_case(person, reported_at=at("2022-04-12", 8))
        services.case_times_set(
            actor=None, case=case, onset_at=at("2022-04-12", 8) - dt.timedelta(hours=10 * (n + 1))
        )
    rows = {r["key"]: r for r in selectors.intervals_aggregate(actor=make_user(node="city"))}
    assert rows["onset_to_report"]["cases"] == 3
    assert rows["onset_to_report"]["mean_hours"] == 20.0
    assert rows["onset_to_report"]["median_hours"] == 20.0
    assert rows["onset_to_visit"]["cases"] == 0


def test_intervals_in_the_wrong_order_are_flagged_not_averaged(people, make_user):
    """Issue 16 point 3: a case admitted three days before it was reported pulled the city's
    diagnosis → admission mean to −25.4 h. Now it is counted apart and left out; a carrier
    admitted once reported and diagnosed in hospital counts 0 h, and so does a contact isolated
    before its onset."""
    good, bad, carrier = people["a"]
    case = open_case(good, reported_at=at("2022-04-12", 8))
    services.case_times_set(actor=None, case=case, admitted_at=at("2022-04-12", 12))
    case = open_case(bad, reported_at=at("2022-04-12", 8))
    case = services.case_times_set(actor=None, case=case, admitted_at=at("2022-04-09", 8))
    by_key = {i["key"]: i for i in selectors.case_intervals(case)}
    assert by_key["diagnosis_to_admission"] == {
        "key": "diagnosis_to_admission",
        "label": by_key["diagnosis_to_admission"]["label"],
        "hours": -72.0,
        "inconsistent": True,
    }
    case = open_case(carrier, reported_at=at("2022-04-12", 8), classification="asymptomatic")
    services.case_times_set(
        actor=None,
        case=case,
        isolated_at=at("2022-04-10", 8),
        admitted_at=at("2022-04-12", 10),
        onset_at=at("2022-04-12", 20),
    )
    services.case_reclassify(
        actor=None, case=case, classification="confirmed", at=at("2022-04-13", 8)
    )
    case.refresh_from_db()
    by_key = {i["key"]: i for i in selectors.case_intervals(case)}
    assert (by_key["diagnosis_to_admission"]["hours"], by_key["onset_to_isolation"]["hours"]) == (
        0.0,
        0.0,
    )
    assert by_key["onset_to_report"] == {**by_key["onset_to_report"], "hours": 0.0}
    assert not any(i["inconsistent"] for i in by_key.values())
    rows = {r["key"]: r for r in selectors.intervals_aggregate(actor=make_user(node="city"))}
    row = rows["diagnosis_to_admission"]
    assert (row["cases"], row["mean_hours"], row["inconsistent"]) == (2, 2.0, 1)
    assert all(r["inconsistent"] == 0 for k, r in rows.items() if k != "diagnosis_to_admission")


def test_lead_state_machine_and_control_order(tree, people):
    case = open_case(people["a"][0])
    contact = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    assert contact.state == LeadState.PUSHED and contact.pushed_at is not None
    assert (
        Alert.objects.filter(kind="tracing_leads", jurisdiction_path=people["b"][0].jpath).count()
        == 1
    )
    with pytest.raises(services.Conflict):
        services.lead_control(actor=None, contact=contact)
    contact = services.lead_verify(actor=None, contact=contact, reachable=False, note="no answer")
    assert (contact.state, contact.reachable) == (LeadState.PUSHED, False)
    contact = services.lead_verify(actor=None, contact=contact)
    assert (contact.state, contact.reachable) == (LeadState.VERIFIED, True)
    contact = services.lead_control(actor=None, contact=contact)
    order = ControlOrder.objects.get(person=people["b"][0], status="open")
    assert (contact.state, contact.control_order_id, order.category) == (
        LeadState.UNDER_CONTROL,
        order.pk,
        "close_contact",
    )
    with pytest.raises(services.Conflict):
        services.lead_exclude(actor=None, contact=contact, reason="x")


def test_exclusion_needs_a_reason_and_a_newer_exposure_reopens(people):
    case = open_case(people["a"][0])
    contact = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case,
        setting="venue",
        last_exposure_at=at("2022-04-11"),
    )
    with pytest.raises(services.TracingError) as refused:
        services.lead_exclude(actor=None, contact=contact, reason="  ")
    assert refused.value.code == "reason_required"
    contact = services.lead_exclude(actor=None, contact=contact, reason="not in the city")
    assert (contact.state, contact.excluded_reason) == (LeadState.EXCLUDED, "not in the city")
    again = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case,
        setting="venue",
        last_exposure_at=at("2022-04-10"),
    )
    assert again.state == LeadState.EXCLUDED  # an older exposure changes nothing
    later = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case,
        setting="venue",
        last_exposure_at=timezone.now(),
    )
    assert later.state == LeadState.PUSHED and later.excluded_reason == ""


def test_duplicate_leads_merge_and_secondary_contacts(people):
    one = open_case(people["a"][0])
    two = open_case(people["a"][1])
    person = people["b"][0]
    first = services.contact_add(
        actor=None,
        person=person,
        source_contact=None,
        source_case=one,
        kind="secondary",
        setting="venue",
        last_exposure_at=at("2022-04-10"),
    )
    second = services.contact_add(
        actor=None,
        person=person,
        source_case=two,
        setting="workplace",
        last_exposure_at=at("2022-04-11"),
    )
    assert first.pk == second.pk and Contact.objects.count() == 1
    assert (second.kind, second.setting, second.last_exposure_at) == (
        "close",
        "workplace",
        at("2022-04-11"),
    )
    assert ContactLink.objects.filter(contact=second).count() == 2
    secondary = services.contact_add(
        actor=None,
        person=people["b"][1],
        source_contact=second,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    assert secondary.kind == "secondary"
    assert set(selectors.case_contacts(actor=_root(), case=one)) == {second, secondary}
    with pytest.raises(services.TracingError) as refused:
        services.contact_add(
            actor=None,
            person=people["a"][0],
            source_case=one,
            setting="venue",
            last_exposure_at=at("2022-04-11"),
        )

    assert refused.value.code == "own_contact"


def _root():
    from fangkong.accounts.tests.factories import UserFactory

    return UserFactory(role="admin", is_superuser=True)


def test_contact_becomes_case_keeping_links_and_found_under_control(people):
    index = open_case(people["a"][0])
    contact = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=index,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    services.lead_control(actor=None, contact=services.lead_verify(actor=None, contact=contact))
    case = open_case(people["b"][0], classification="asymptomatic")
    contact.refresh_from_db()
    assert contact.case_id == case.pk and contact.links.get().source_case_id == index.pk
    assert case.under_control_when_found is True and case.found_by == "under_control"
    graph = selectors.transmission_graph(actor=_root())
    assert graph["edges"] == [(index.pk, case.pk, "household")]
    assert {c["id"]: c["generation"] for c in graph["cases"]} == {index.pk: 1, case.pk: 2}


def test_single_tube_positive_opens_one_case(people):
    person = people["a"][0]
    payload = dict(
        round_id=1, tube_id=999, barcode="T-1", person_id=person.pk, at=at("2022-04-12", 9)
    )
    events.publish("testing.person_positive", **payload)
    events.publish("testing.person_positive", **payload)
    case = Case.objects.get(person=person)
    assert (
        case.classification,
        case.found_by,
        case.source_tube,
        case.under_control_when_found,
    ) == (
        "asymptomatic",
        "pool_screening",
        "T-1",
        False,
    )
    assert case.sampling_date == dt.date(2022, 4, 12)
    assert Case.objects.count() == 1


def test_positive_with_open_order_is_found_under_control(people):
    person = people["a"][1]
    open_order(person)
    events.publish(
        "testing.person_positive",
        round_id=1,
        tube_id=1,
        barcode="T-2",
        person_id=person.pk,
        at=timezone.now(),
    )
    assert Case.objects.get(person=person).under_control_when_found is True


def test_positive_test_under_control_opens_case(people):
    from fangkong.control import services as control

    order = open_order(people["a"][2])
    control.control_test_record(actor=None, test=order.tests.first(), result="positive")
    case = Case.objects.get(person=people["a"][2])
    assert (case.found_by, case.under_control_when_found) == ("under_control", True)


def _result(rows):
    return pa.table(
        {
            "index_person_id": pa.array([str(r[0]) for r in rows]),
            "contact_person_id": pa.array([str(r[1]) for r in rows]),
            "episodes": pa.array([r[2] for r in rows], pa.int64()),
            "overlap_minutes": pa.array([None for _r in rows], pa.decimal128(18, 2)),
            "first_contact_at": pa.array(
                [dt.datetime(2022, 4, 11, 9, r[2]) for r in rows], pa.timestamp("s")
            ),
        }
    )


def test_colocation_rows_become_pushed_leads_set_based(people, django_assert_max_num_queries):
    index = open_case(people["a"][0])
    other = open_case(people["c"][0])
    existing = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=other,
        setting="household",
        last_exposure_at=at("2022-04-01"),
    )
    rows = [
        (people["a"][0].pk, people["a"][1].pk, 2),
        (people["a"][0].pk, people["b"][0].pk, 1),
        (people["a"][0].pk, people["b"][1].pk, 3),
        (people["a"][0].pk, people["c"][0].pk, 1),  # a case already: no lead
        (people["a"][0].pk, 987654321, 1),  # not in the registry
    ]
    with django_assert_max_num_queries(25):
        stats = colocation.leads_from_colocation(actor=None, result=_result(rows), rule="cell")
    assert {k: stats[k] for k in ("created", "merged", "unknown", "cases_skipped", "pushed")} == {
        "created": 2,
        "merged": 1,
        "unknown": 1,
        "cases_skipped": 1,
        "pushed": 2,
    }
    leads = {c.person_id: c for c in Contact.objects.all()}
    assert leads[people["a"][1].pk].state == LeadState.PUSHED
    assert leads[people["a"][1].pk].jpath == people["a"][1].jpath
    assert leads[people["b"][0].pk].pk == existing.pk
    assert leads[people["b"][0].pk].last_exposure_at == at("2022-04-11", 9).replace(minute=1)
    assert ContactLink.objects.filter(source_case=index, origin="cell").count() == 3
    again = colocation.leads_from_colocation(actor=None, result=_result(rows), rule="cell")
    assert (again["created"], again["pushed"], Contact.objects.count()) == (0, 0, 3)


def test_colocation_run_on_a_file(tmp_path, people, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    index = open_case(
        people["a"][0],
        onset_date=dt.date(2022, 4, 10),
        reported_at=at("2022-04-12"),
        isolated_at=at("2022-04-12", 20),
    )
    scans = tmp_path / "scans.csv"
    scans.write_text(
        "person_id,venue_id,scanned_at\n"
        f"{people['a'][0].pk},V1,2022-04-11 10:00:00\n"
        f"{people['b'][0].pk},V1,2022-04-11 10:20:00\n"
        f"{people['b'][1].pk},V1,2022-04-11 10:31:00\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = colocation.colocation_run_start(
            actor=None, rule="venue", data=str(scans), jpath="/", case_ids=[index.pk]
        )
    run.refresh_from_db()
    assert (
        run.status,
        run.progress,
        run.index_persons,
        run.rows,
        run.leads_created,
        run.pushed,
    ) == ("done", 100, 1, 1, 1, 1)
    assert Contact.objects.get().person_id == people["b"][0].pk
    assert (
        colocation.result_path(run)
        .read_text()
        .splitlines()[1]
        .startswith(f"{people['a'][0].pk},{people['b'][0].pk},1,")
    )


def test_cluster_threshold_four_versus_five(people, tree):
    persons = people["a"] + people["b"] + [PersonFactory(grid=tree["grid_a"])]
    cases = [open_case(p, reported_at=at("2022-04-10", 8 + n)) for n, p in enumerate(persons)]
    for source, target in zip(cases[:3], cases[1:4], strict=True):
        services.exposure_add(actor=None, case=target, setting="venue", source_case=source)
    root = _root()
    graph = selectors.transmission_graph(actor=root)
    assert [(c["cases"], c["is_cluster"]) for c in graph["components"]] == [(4, False)]
    services.exposure_add(actor=None, case=cases[4], setting="venue", source_case=cases[3])
    graph = selectors.transmission_graph(actor=root)
    assert [(c["cases"], c["is_cluster"], c["generations"]) for c in graph["components"]] == [
        (5, True, 5)
    ]
    figures = selectors.key_figures(actor=root)
    assert (figures["clusters"], figures["cases_per_cluster"], figures["cases"]) == (1, 5.0, 6)


@given(
    onset=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2023, 12, 31)),
    preset=st.sampled_from(["plan-ed8", "plan-ed9", "nov-2022"]),
)
@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_window_opens_at_local_midnight_n_days_before_onset(tree, onset, preset):
    choose(tree, preset)
    case = Case(
        jpath=tree["grid_a"].path, onset_date=onset, report_date=onset, classification="confirmed"
    )
    start, end = services.window_derive(case)
    local = timezone.localtime(start)
    assert (local.hour, local.minute) == (0, 0)
    assert (onset - local.date()).days == services.LOOKBACK_DAYS[preset]
    assert end is None


def test_lead_under_control_keeps_an_existing_order_and_respects_the_policy(tree, people):
    case = open_case(people["a"][0])
    already = open_order(people["b"][0], category="positive_pool")
    lead = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case,
        setting="venue",
        last_exposure_at=at("2022-04-11"),
    )
    lead = services.lead_control(actor=None, contact=services.lead_verify(actor=None, contact=lead))
    assert lead.control_order_id == already.pk
    choose(tree, "nov-2022")
    secondary = services.contact_add(
        actor=None,
        person=people["b"][1],
        source_contact=lead,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    secondary = services.lead_verify(actor=None, contact=secondary)
    with pytest.raises(services.TracingError) as refused:
        services.lead_control(actor=None, contact=secondary)
    assert refused.value.code == "category_not_controlled"
    assert Contact.objects.get(pk=secondary.pk).state == LeadState.VERIFIED
