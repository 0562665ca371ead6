"""Pages of tracing through the test client: naming a chain as a cluster event, and the leads
CSV export (scoped, state filter, masking by role, audited, constant query count)."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.audit.models import Action, AuditEntry
from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing import services
from fangkong.tracing.models import Case, ClusterEvent

from .factories import at, open_case


@pytest.fixture
def chain(people):
    """case A1 (grid A) → case A2 (grid A) and → case C (district 2): one chain of three."""
    case_a = open_case(people["a"][0], reported_at=at("2022-04-12"))
    case_a2 = open_case(people["a"][2], reported_at=at("2022-04-12", 13))
    case_c = open_case(people["c"][0], reported_at=at("2022-04-12", 14))
    services.exposure_add(actor=None, case=case_a2, setting="household", source_case=case_a)
    services.exposure_add(actor=None, case=case_c, setting="venue", source_case=case_a)
    return {"a": case_a, "a2": case_a2, "c": case_c}


def login(client, make_user, role="epidemiologist", node="city", **kwargs):
    user = make_user(role=role, node=node, **kwargs)
    client.force_login(user)
    return user


FORM = {
    "code": "XW-2022-01",
    "name": "玄武区某餐馆聚集性疫情",
    "setting": "venue",
    "place": "某餐馆",
    "notes": "同餐厅就餐",
}


def test_naming_a_cluster_event_from_the_chain_page(client, make_user, tree, chain):
    login(client, make_user)
    url = f"/tracing/chains/{chain['a'].pk}/"
    page = client.get(url).content.decode()
    assert 'id="name-cluster"' in page and "命名为聚集性疫情" in page

    response = client.post(url, FORM)

    event = ClusterEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tracing/clusters/{event.pk}/"
    assert (event.code, event.name, event.setting, event.place, event.notes, event.jpath) == (
        "XW-2022-01",
        "玄武区某餐馆聚集性疫情",
        "venue",
        "某餐馆",
        "同餐厅就餐",
        tree["city"].path,
    )
    assert set(Case.objects.filter(cluster_event=event).values_list("code", flat=True)) == {
        chain["a"].code,
        chain["a2"].code,
        chain["c"].code,
    }
    shown = client.get(response["Location"]).content.decode()
    assert "<dt>编码</dt><dd>XW-2022-01</dd>" in shown
    assert "<dt>名称</dt><dd>玄武区某餐馆聚集性疫情</dd>" in shown
    assert "<dt>场所类型</dt><dd>公共场所</dd>" in shown
    assert "<dt>成员病例数</dt><dd>3</dd>" in shown
    assert "已命名聚集性疫情 XW-2022-01，含 3 例病例。" in shown


def test_the_event_names_only_the_cases_the_user_sees(client, make_user, tree, chain):
    login(client, make_user, node="district")  # 玄武区: not case C of 秦淮区
    response = client.post(f"/tracing/chains/{chain['a'].pk}/", FORM)
    event = ClusterEvent.objects.get()
    assert response["Location"] == f"/tracing/clusters/{event.pk}/"
    assert event.jpath == tree["district"].path
    assert set(Case.objects.filter(cluster_event=event).values_list("pk", flat=True)) == {
        chain["a"].pk,
        chain["a2"].pk,
    }
    assert Case.objects.get(pk=chain["c"].pk).cluster_event_id is None
    assert "<dt>成员病例数</dt><dd>2</dd>" in client.get(response["Location"]).content.decode()


def test_the_form_says_which_cases_move_from_another_event(client, make_user, tree, chain):
    earlier = services.cluster_event_create(
        actor=None,
        code="XW-2022-00",
        name="先前的",
        setting="school",
        jpath=tree["city"].path,
        cases=[chain["a"], chain["a2"]],
    )
    login(client, make_user)
    url = f"/tracing/chains/{chain['a'].pk}/"
    assert (
        "已属于其他聚集性疫情，命名后将移入新事件： XW-2022-00 (2 例)"
        in client.get(url).content.decode()
    )
    client.post(url, {**FORM, "code": "XW-2022-01"})
    assert not Case.objects.filter(cluster_event=earlier).exists()
    page = client.get(url).content.decode()
    assert "XW-2022-01 (3 例)" in page


def test_a_role_that_may_not_name_clusters_gets_no_form_and_403(client, make_user, chain):
    login(client, make_user, role="hq_staff", working_group="testing")
    url = f"/tracing/chains/{chain['a'].pk}/"
    page = client.get(url)
    assert page.status_code == 200 and 'id="name-cluster"' not in page.content.decode()
    assert client.post(url, FORM).status_code == 403
    login(client, make_user, role="grid_worker", node="grid_a")
    assert client.post(url, FORM).status_code == 403
    assert not ClusterEvent.objects.exists()
    assert not Case.objects.filter(cluster_event__isnull=False).exists()


def test_a_duplicate_code_shows_the_error_and_writes_nothing(client, make_user, tree, chain):
    services.cluster_event_create(
        actor=None, code="XW-2022-01", name="先前的", setting="school", jpath=tree["city"].path
    )
    login(client, make_user)
    before = AuditEntry.objects.count()
    response = client.post(f"/tracing/chains/{chain['a'].pk}/", FORM)
    assert response.status_code == 200
    page = response.content.decode()
    assert "聚集性疫情 XW-2022-01 已存在。" in page
    assert 'value="玄武区某餐馆聚集性疫情"' in page  # the form keeps what was typed
    assert list(ClusterEvent.objects.values_list("name", flat=True)) == ["先前的"]
    assert not Case.objects.filter(cluster_event__isnull=False).exists()
    assert AuditEntry.objects.count() == before


def test_a_code_taken_between_the_check_and_the_insert_is_the_same_error(
    client, make_user, tree, chain, monkeypatch
):
    """Two epidemiologists naming one code at once: the second is told, not shown a 500."""
    services.cluster_event_create(
        actor=None, code="XW-2022-01", name="先前的", setting="school", jpath=tree["city"].path
    )
    login(client, make_user)
    taken = ClusterEvent.objects.filter(code="XW-2022-01")
    monkeypatch.setattr(type(taken), "exists", lambda self: False)  # the other one not yet seen
    response = client.post(f"/tracing/chains/{chain['a'].pk}/", FORM)
    assert response.status_code == 200
    assert "聚集性疫情 XW-2022-01 已存在。" in response.content.decode()
    assert list(ClusterEvent.objects.values_list("name", flat=True)) == ["先前的"]
    assert not Case.objects.filter(cluster_event__isnull=False).exists()


def test_a_chain_outside_the_subtree_is_404(client, make_user, chain):
    login(client, make_user, node="district2")  # sees case C only, not the chain of case A1
    url = f"/tracing/chains/{chain['a'].pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, FORM).status_code == 404
    assert not ClusterEvent.objects.exists()
    assert not Case.objects.filter(cluster_event__isnull=False).exists()


# --- the leads export --------------------------------------------------------------------------

ID_NUMBER = "320102199005171233"  # valid check digit


@pytest.fixture
def leads(people, tree):
    """Lead 1 in grid A (close contact of case A1), lead 2 in grid B (secondary, of lead 1),
    lead 3 in grid C (district 2)."""
    person = people["a"][1]
    person.document_number, person.phone = ID_NUMBER, "13912345678"
    person.save(update_fields=["document_number", "phone"])
    case_a = open_case(people["a"][0], reported_at=at("2022-04-12"))
    one = services.contact_add(
        actor=None,
        person=person,
        source_case=case_a,
        setting="household",
        last_exposure_at=at("2022-04-11", 12),
    )
    two = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_contact=one,
        setting="workplace",
        last_exposure_at=at("2022-04-11", 20),
    )
    three = services.contact_add(
        actor=None,
        person=PersonFactory(grid=tree["grid_c"]),
        source_case=open_case(people["c"][0], reported_at=at("2022-04-12")),
        setting="venue",
        last_exposure_at=at("2022-04-10", 8),
    )
    return {"case_a": case_a, "one": one, "two": two, "three": three, **people}


def export(client, state=""):
    response = client.get(f"/tracing/leads/export.csv?state={state}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


HEADER = [
    "contact_id",
    "name",
    "id_number",
    "phone",
    "grid",
    "state",
    "kind",
    "setting",
    "source_cases",
    "source_contacts",
    "last_exposure_at",
    "origin",
    "note",
    "excluded_reason",
]


def test_worklist_links_the_export_with_its_state(client, make_user, leads):
    login(client, make_user, role="grid_worker", node="grid_a")
    page = client.get("/tracing/leads/?state=verified").content.decode()
    assert 'href="/tracing/leads/export.csv?state=verified"' in page and "导出 CSV" in page


def test_grid_worker_exports_their_grid_unmasked_and_audited(client, make_user, leads):
    worker = login(client, make_user, role="grid_worker", node="grid_a")
    rows = export(client)
    assert rows == [
        HEADER,
        [
            str(leads["one"].pk),
            leads["a"][1].name,
            ID_NUMBER,
            "13912345678",
            "320102001001G01",
            "pushed",
            "close",
            "household",
            leads["case_a"].code,
            "",
            "2022-04-11 12:00:00",  # Asia/Shanghai, not the stored 04:00 UTC
            "investigation",
            "",
            "",
        ],
    ]
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert (entry.actor, entry.object_type, entry.jurisdiction_path) == (
        worker,
        "tracing.contact",
        "/320000/320100/320102/320102001/320102001001/320102001001G01/",
    )
    assert entry.changes == {"rows": 1, "unmasked": True, "format": "csv", "state": ""}


def test_commander_exports_the_district_masked(client, make_user, leads):
    login(client, make_user, role="commander", node="district")
    rows = export(client)
    assert [r[0] for r in rows[1:]] == [str(leads["two"].pk), str(leads["one"].pk)]
    two, one = rows[1], rows[2]
    assert one[2:4] == ["3****************3", "139******78"]
    assert two == [
        str(leads["two"].pk),
        leads["b"][0].name,
        f"{leads['b'][0].document_number[0]}{'*' * 16}{leads['b'][0].document_number[-1]}",
        f"{leads['b'][0].phone[:3]}******{leads['b'][0].phone[-2:]}",
        "320102001001G02",
        "pushed",
        "secondary",
        "workplace",
        "",
        str(leads["one"].pk),
        "2022-04-11 20:00:00",
        "investigation",
        "",
        "",
    ]
    assert ID_NUMBER not in "".join(",".join(r) for r in rows)
    changes = AuditEntry.objects.get(action=Action.EXPORT).changes
    assert changes == {"rows": 2, "unmasked": False, "format": "csv", "state": ""}


def test_export_honours_the_state_filter(client, make_user, leads):
    login(client, make_user, role="epidemiologist", node="city")
    assert [r[0] for r in export(client)[1:]] == [
        str(leads["two"].pk),
        str(leads["one"].pk),
        str(leads["three"].pk),
    ]
    services.lead_verify(actor=None, contact=leads["one"], note="电话已核实")
    services.lead_exclude(actor=None, contact=leads["three"], reason="当时在外地")
    verified = export(client, "verified")
    assert [(r[0], r[5], r[12]) for r in verified[1:]] == [
        (str(leads["one"].pk), "verified", "电话已核实")
    ]
    excluded = export(client, "excluded")
    assert [(r[0], r[5], r[13]) for r in excluded[1:]] == [
        (str(leads["three"].pk), "excluded", "当时在外地")
    ]
    assert [r[0] for r in export(client, "pushed")[1:]] == [str(leads["two"].pk)]
    # The page's default ("to do"): pushed and verified, not the excluded one.
    assert [r[0] for r in export(client)[1:]] == [str(leads["two"].pk), str(leads["one"].pk)]
    assert client.get("/tracing/leads/export.csv?state=nonsense").status_code == 404
    assert AuditEntry.objects.filter(action=Action.EXPORT).count() == 5


def test_export_query_count_does_not_grow_with_rows(client, make_user, leads, tree):
    login(client, make_user, role="grid_worker", node="community")
    with CaptureQueriesContext(connection) as few:
        assert len(export(client)) == 1 + 2
    for i in range(5):
        services.contact_add(
            actor=None,
            person=PersonFactory(grid=tree["grid_b"]),
            source_case=leads["case_a"],
            setting="workplace",
            last_exposure_at=at("2022-04-09", 8 + i),
        )
    with CaptureQueriesContext(connection) as many:
        assert len(export(client)) == 1 + 7
    assert len(many) == len(few)
