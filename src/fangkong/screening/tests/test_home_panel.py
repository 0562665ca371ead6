"""The grid worker's home lists the households of open campaigns still to visit, in their grid."""

from django.utils import translation

from .factories import visit


def _home(client, user):
    client.force_login(user)
    with translation.override("zh-hans"):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    panel = next(p for p in response.context["panels"] if p.key == "households")
    with translation.override("zh-hans"):
        return {str(label): n for label, n in panel.figures}, panel.link


def test_grid_worker_home_counts_the_households_to_visit(client, make_user, campaign, homes):
    worker = make_user(role="grid_worker", node="grid_a")
    figures, link = _home(client, worker)
    assert figures == {"尚未走访": 4} and link == "/screening/work/"
    visit(worker, campaign, homes["a"][1])
    assert _home(client, worker)[0] == {"尚未走访": 3}
    # Grid B's worker sees grid B's two households, none of grid A's.
    other = make_user(role="grid_worker", node="grid_b")
    assert _home(client, other)[0] == {"尚未走访": 2}
