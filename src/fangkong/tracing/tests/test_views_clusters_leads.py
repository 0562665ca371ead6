"""Pages of tracing through the test client: naming a chain as a cluster event."""

import pytest

from fangkong.audit.models import AuditEntry
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


def test_a_chain_outside_the_subtree_is_404(client, make_user, chain):
    login(client, make_user, node="district2")  # sees case C only, not the chain of case A1
    url = f"/tracing/chains/{chain['a'].pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, FORM).status_code == 404
    assert not ClusterEvent.objects.exists()
    assert not Case.objects.filter(cluster_event__isnull=False).exists()
