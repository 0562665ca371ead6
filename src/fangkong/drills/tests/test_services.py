"""The drill's lifecycle through its services: the sandbox's contents, the clock, tabletop steps,
the score card's figures and the refusals with their codes."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from fangkong.common import errors
from fangkong.drills import routing, services
from fangkong.drills.models import Drill, Inject
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person
from fangkong.tracing.models import Case

from .conftest import rewind

pytestmark = pytest.mark.django_db


def _prepare(crew, tree, **kwargs):
    options = {"population": 300, "seed": 7, "cases": 4, **kwargs}
    return services.drill_create(
        actor=crew["commander"],
        name="玄武区聚集性疫情演练",
        jurisdiction=tree["city"],
        participants=[crew["epi"], crew["grid"]],
        **options,
    )


def test_prepare_copies_the_tree_and_accounts_not_the_people(crew, tree, people):
    drill = _prepare(crew, tree)
    assert drill.sandbox_ready and drill.status == Drill.Status.READY
    live_numbers = set(Person.objects.values_list("document_number", flat=True))
    with routing.active(drill.sandbox):
        assert Jurisdiction.objects.count() == 11  # the province above and the city's subtree
        assert Person.objects.count() == 300
        sandbox_numbers = set(Person.objects.values_list("document_number", flat=True))
        grids = set(Person.objects.values_list("jpath", flat=True))
        from django.contrib.auth import get_user_model

        usernames = set(get_user_model().objects.values_list("username", flat=True))
        from fangkong.control.models import Room

        rooms = Room.objects.count()
    assert not live_numbers & sandbox_numbers
    assert grids and grids <= {tree["grid_a"].path, tree["grid_b"].path, tree["grid_c"].path}
    assert usernames == {crew["commander"].username, crew["epi"].username, crew["grid"].username}
    assert rooms == 10  # 20 per 10,000 residents, at least one floor of 10
    assert Person.objects.count() == 6  # the live registry is unchanged
    assert list(drill.injects.values_list("at_hours", flat=True)) == [0.0, 2.0, 5.0, 9.0]


def test_the_clock_releases_due_cases_into_the_sandbox_only(crew, tree):
    drill = _prepare(crew, tree)
    drill = services.drill_start(actor=crew["commander"], drill=drill)
    assert list(drill.injects.exclude(released_at=None).values_list("number", flat=True)) == [1]
    rewind(drill, 5.5)  # 5.5 simulated hours = 5.5 real minutes at 60x
    assert services.drill_tick(drill=drill) == 2
    released = list(Inject.objects.filter(drill=drill).exclude(released_at=None))
    assert [i.number for i in released] == [1, 2, 3]
    assert Case.objects.count() == 0
    with routing.active(drill.sandbox):
        cases = {c.code: c for c in Case.objects.all()}
    assert set(cases) == {i.case_code for i in released}
    third = cases[released[2].case_code]
    # Reported when due on the clock (simulated hour 5), not when the page was loaded.
    due = drill.started_at + dt.timedelta(hours=5) / 60
    assert abs((third.reported_at - due).total_seconds()) < 1
    onset_hours = (third.reported_at - third.onset_at).total_seconds() / 3600 * 60
    assert onset_hours == pytest.approx(released[2].payload["onset_hours_before"], abs=0.01)
    assert services.drill_tick(drill=drill) == 0  # nothing more is due


def test_scorecard_measures_contacts_rooms_and_five_earlies(crew, tree):
    from fangkong.control.services import rooms_assign_batch
    from fangkong.tracing import services as tracing

    drill = services.drill_start(actor=crew["commander"], drill=_prepare(crew, tree, cases=2))
    rewind(drill, 30)  # both cases out (hours 0 and 2), now simulated hour 30
    services.drill_tick(drill=drill)
    with routing.active(drill.sandbox):
        cases = list(Case.objects.order_by("reported_at"))
        household = [
            p
            for p in Person.objects.filter(household_id=cases[0].person.household_id)
            if p.pk != cases[0].person_id
        ]
        others = Person.objects.exclude(pk__in=[c.person_id for c in cases]).order_by("id")
        target = household[0] if household else others[0]
        contact = tracing.contact_add(
            actor=crew["epi"],
            person=target,
            setting="household",
            last_exposure_at=cases[0].reported_at,
            source_case=cases[0],
        )
        contact = tracing.lead_verify(actor=crew["grid"], contact=contact)
        contact = tracing.lead_control(actor=crew["grid"], contact=contact)
        from fangkong.control.models import ControlOrder

        orders = list(ControlOrder.objects.values_list("id", flat=True))
        rooms_assign_batch(actor=None, orders=orders)
    with translation.override("en"):
        drill = services.drill_end(actor=crew["commander"], drill=drill)
    card = drill.scorecard
    assert drill.status == Drill.Status.ENDED
    assert card["simulated_hours"] == pytest.approx(30, abs=0.2)
    assert card["contacts"]["total"] == 1 and card["contacts"]["controlled"] == 1
    # Controlled at simulated hour 30, 28 h after the report of the case due at hour 2 (the case
    # of hour 0 came out before the clock was wound back): late against the 24 h target.
    assert card["contacts"]["median_hours"] == pytest.approx(28, abs=0.2)
    assert card["contacts"]["late"] == 1 and card["contacts"]["met"] is False
    assert card["rooms"]["centralized_orders"] == 1 and card["rooms"]["with_room"] == 1
    assert card["rooms"]["met"] is True
    visit = next(i for i in card["intervals"] if i["key"] == "visit_to_report")
    assert visit["cases"] == 2 and visit["target_hours"] == 2.0
    assert card["tasks"]["total"] == 0 and card["tasks"]["met"] is None
    assert "No test round was started." in card["problems"]
    assert any("contacts not under control" in p for p in card["problems"])
    assert card["targets_scored"] >= 3


def test_tabletop_steps_one_inject_at_a_time_with_the_modules_figures(crew, tree):
    drill = _prepare(crew, tree, mode=Drill.Mode.TABLETOP, cases=2)
    drill = services.drill_start(actor=crew["commander"], drill=drill)
    assert not drill.injects.exclude(released_at=None).exists()  # the clock does not run
    first = services.tabletop_step(actor=crew["commander"], drill=drill)
    assert first.number == 1 and first.case_code
    figures = {f["key"]: f["value"] for f in first.figures["figures"]}
    assert figures["rooms_total"] == 10
    assert sum(v for k, v in figures.items() if k.startswith("cases_") and "new" in k) >= 0
    services.tabletop_step(actor=crew["commander"], drill=drill)
    with pytest.raises(services.Conflict) as refused:
        services.tabletop_step(actor=crew["commander"], drill=drill)
    assert refused.value.code == "no_more_steps"


def test_refusals_carry_codes(crew, tree, make_user):
    with pytest.raises(errors.Forbidden):
        _prepare({**crew, "commander": crew["grid"]}, tree)
    with pytest.raises(services.DrillError) as outside:
        services.drill_create(
            actor=crew["commander"],
            name="x",
            jurisdiction=tree["district"],
            participants=[crew["other_epi"]],
        )
    assert outside.value.code == "participant_outside_area"
    with pytest.raises(errors.NotFound):
        services.drill_create(actor=crew["other"], name="x", jurisdiction=tree["district"])
    with pytest.raises(services.DrillError) as small:
        _prepare(crew, tree, population=5)
    assert small.value.code == "population"
    drill = _prepare(crew, tree)
    with pytest.raises(services.Conflict) as not_running:
        services.drill_end(actor=crew["commander"], drill=drill)
    assert not_running.value.code == "not_running"
    with pytest.raises(services.Conflict) as not_yet:
        services.drill_join(actor=crew["epi"], drill=drill)
    assert not_yet.value.code == "not_running"
    services.drill_start(actor=crew["commander"], drill=drill)
    with pytest.raises(errors.Forbidden):
        services.drill_join(actor=crew["other_epi"], drill=drill)
    assert services.drill_join(actor=crew["epi"], drill=drill).joined_at <= timezone.now()
