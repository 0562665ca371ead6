"""A whole drill through the pages and the API, and what it leaves in the live database:
nothing but the drills app's own bookkeeping (and the audit entries of that bookkeeping)."""

import hashlib

import pytest
from django.apps import apps
from django.db import connections
from django.urls import reverse

from fangkong.drills import routing
from fangkong.drills.middleware import SESSION_KEY
from fangkong.drills.models import Drill
from fangkong.people.models import Person
from fangkong.tracing.models import Case, Contact

from .conftest import rewind

pytestmark = pytest.mark.django_db

BOOKKEEPING = {"drills_drill", "drills_participant", "drills_inject"}
# The logins' sessions change (the drill flag); they are not city data.
SESSIONS = {"django_session"}


def _live_snapshot() -> dict[str, tuple[int, str]]:
    """Rows and a digest of every row of every table of every model, on the live database."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        tables.add(model._meta.db_table)
    out = {}
    with connections["default"].cursor() as cursor:
        for table in sorted(tables - BOOKKEEPING - SESSIONS):
            quoted = connections["default"].ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted} ORDER BY 1")
            rows = cursor.fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def _prepare_through_the_page(client, crew, tree, *, login=True):
    if login:
        client.force_login(crew["commander"])
    response = client.post(
        reverse("drills:list"),
        {
            "name": "全市聚集性疫情演练",
            "mode": "live",
            "speed": 60,
            "population": 300,
            "cases": 3,
            "seed": 11,
            "participants": [str(crew["epi"].pk)],
        },
    )
    drill = Drill.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/drills/{drill.pk}/"
    return drill


def test_a_whole_drill_writes_no_row_into_the_live_database(client, crew, tree, people):
    from fangkong.audit.models import AuditEntry

    # The logins happen on the live database before anything else (last_login, the audit).
    client.force_login(crew["commander"])
    epi = client.__class__()
    epi.force_login(crew["epi"])
    before = _live_snapshot()
    audit_before = AuditEntry.objects.count()

    drill = _prepare_through_the_page(client, crew, tree, login=False)
    assert client.post(reverse("drills:start", args=[drill.pk])).status_code == 302
    drill.refresh_from_db()
    rewind(drill, 6)

    assert epi.post(reverse("drills:join", args=[drill.pk])).status_code == 302
    assert epi.session[SESSION_KEY] == drill.pk
    # In the drill, the real tracing page lists the sandbox's cases (released on the clock).
    page = epi.get(reverse("tracing:cases"))
    drill.refresh_from_db()
    codes = list(drill.injects.exclude(case_code="").values_list("case_code", flat=True))
    assert len(codes) == 3
    for code in codes:
        assert code in page.content.decode()
    assert "drill-banner" in page.content.decode()
    # The epidemiologist handles the first case through the real investigation page.
    with routing.active(drill.sandbox):
        case = Case.objects.get(code=codes[0])
        contact_person = Person.objects.exclude(pk=case.person_id).order_by("id").first()
    response = epi.post(
        reverse("tracing:investigate", args=[case.pk]),
        {
            "part": "contact",
            "k-id_number": contact_person.document_number,
            "k-kind": "close",
            "k-setting": "household",
            "k-last_exposure_at": "2026-01-01 08:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    with routing.active(drill.sandbox):
        assert Contact.objects.filter(person_id=contact_person.pk).count() == 1
    # The API answers from the sandbox as well.
    api = epi.get(f"/api/v1/tracing/cases/?q={codes[0]}")
    assert api.status_code == 200 and codes[0] in api.content.decode()

    assert client.post(reverse("drills:end", args=[drill.pk])).status_code == 302
    detail = client.get(reverse("drills:drill", args=[drill.pk])).content.decode()
    drill.refresh_from_db()
    assert drill.status == "ended" and drill.scorecard["contacts"]["total"] == 1
    assert "drill-status" in detail and drill.scorecard["problems"][0] in detail
    # The participant is back in the live city.
    assert "drill-banner" not in epi.get(reverse("tracing:cases")).content.decode()

    assert Case.objects.count() == 0 and Contact.objects.count() == 0
    after = _live_snapshot()
    changed = {t for t in before if before[t] != after[t]}
    assert changed <= {"audit_auditentry"}
    new_audit = AuditEntry.objects.order_by("id")[audit_before:]
    assert {e.object_type for e in new_audit} == {"drills.drill"}
    assert len(new_audit) >= 3  # prepared, started, ended


def test_scope_of_the_pages_and_the_api(client, crew, tree):
    drill = _prepare_through_the_page(client, crew, tree)
    detail = f"/api/v1/drills/{drill.pk}/"
    body = client.get(detail).json()
    assert body["name"] == "全市聚集性疫情演练" and body["status"] == "ready"
    assert [i["at_hours"] for i in body["injects"]] == [0.0, 2.0, 5.0]
    assert body["scorecard"] is None
    # District 2's commander: the city's drill does not exist for them.
    other = client.__class__()
    other.force_login(crew["other"])
    assert other.get(reverse("drills:drill", args=[drill.pk])).status_code == 404
    assert other.get(detail).status_code == 404
    assert other.get(detail).json()["code"] == "not_found"
    assert other.get("/api/v1/drills/").json()["count"] == 0
    assert "全市聚集性疫情演练" not in other.get(reverse("drills:list")).content.decode()
    # A participant sees it without being a director; a grid worker of the city does not.
    epi = client.__class__()
    epi.force_login(crew["epi"])
    assert epi.get(detail).status_code == 200
    assert epi.post(reverse("drills:start", args=[drill.pk])).status_code == 403
    grid = client.__class__()
    grid.force_login(crew["grid"])
    assert grid.get(detail).status_code == 404
    assert "/drills/" not in grid.get("/").content.decode()  # no menu entry


def test_list_endpoint_queries_do_not_grow_with_drills(
    client, crew, tree, django_assert_max_num_queries
):
    _prepare_through_the_page(client, crew, tree)
    _prepare_through_the_page_again = client.post(
        reverse("drills:list"),
        {
            "name": "第二次演练",
            "mode": "tabletop",
            "speed": 60,
            "population": 50,
            "cases": 1,
            "seed": 2,
        },
    )
    assert _prepare_through_the_page_again.status_code == 302
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/drills/").json()
    assert body["count"] == 2


def test_no_personal_data_in_the_drill_api(client, crew, tree):
    drill = _prepare_through_the_page(client, crew, tree)
    client.post(reverse("drills:start", args=[drill.pk]))
    body = client.get(f"/api/v1/drills/{drill.pk}/").content.decode()
    with routing.active(drill.sandbox):
        person = Case.objects.get().person
    assert person.document_number not in body and person.name not in body


def test_tabletop_page_steps_and_shows_the_figures(client, crew, tree):
    client.force_login(crew["commander"])
    client.post(
        reverse("drills:list"),
        {
            "name": "桌面推演",
            "mode": "tabletop",
            "speed": 60,
            "population": 50,
            "cases": 2,
            "seed": 3,
        },
    )
    drill = Drill.objects.get()
    client.post(reverse("drills:start", args=[drill.pk]))
    assert client.post(reverse("drills:step", args=[drill.pk])).status_code == 302
    page = client.get(reverse("drills:drill", args=[drill.pk])).content.decode()
    first = drill.injects.get(number=1)
    assert first.case_code in page and first.figures["figures"]
    assert 'name="step"' in page
    client.post(reverse("drills:step", args=[drill.pk]))
    refused = client.post(reverse("drills:step", args=[drill.pk]), follow=True).content.decode()
    assert "所有步骤均已推演" in refused


def test_actions_on_a_drill_outside_the_subtree_are_404_and_change_nothing(client, crew, tree):
    drill = _prepare_through_the_page(client, crew, tree)
    other = client.__class__()
    other.force_login(crew["other"])
    for name in ("start", "step", "end", "join", "leave"):
        answer = other.post(reverse(f"drills:{name}", args=[drill.pk]))
        assert (name, answer.status_code) == (name, 404)
    with routing.live():
        drill.refresh_from_db()
    assert (drill.status, drill.started_at) == ("ready", None)
    assert SESSION_KEY not in other.session


def test_participants_offered_and_accepted_only_inside_the_directors_subtree(client, crew, tree):
    client.force_login(crew["other"])
    form = client.get(reverse("drills:list")).content.decode()
    assert f'value="{crew["other_epi"].pk}"' in form
    assert f'value="{crew["epi"].pk}"' not in form  # district 1's epidemiologist
    refused = client.post(
        reverse("drills:list"),
        {
            "name": "秦淮区演练",
            "mode": "live",
            "speed": 60,
            "population": 100,
            "cases": 1,
            "seed": 1,
            "participants": [str(crew["epi"].pk)],
        },
    )
    assert refused.status_code == 200 and not Drill.objects.exists()
