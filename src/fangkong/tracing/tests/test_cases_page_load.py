"""The cases page under load (issue 15): the list is one keyset page whose query count does not
grow with the subtree and which counts nothing; its figures come by htmx from a fragment kept
per subtree for `FIGURES_SECONDS`, equal to a fresh computation, scoped like the list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing import selectors, services

from .factories import at, open_case


def _cases(tree, n: int, grid: str = "grid_a", start: int = 0):
    out = []
    for k in range(n):
        person = PersonFactory(grid=tree[grid])
        out.append(
            open_case(
                person,
                classification="asymptomatic" if k % 3 == 0 else "confirmed",
                reported_at=at("2022-04-10", 8) + dt.timedelta(minutes=start + k),
                onset_date=dt.date(2022, 4, 8) if k % 2 else None,
            )
        )
    return out


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def _counts(queries: list[str]) -> list[str]:
    return [q for q in queries if "COUNT(" in q.upper()]


def test_the_list_costs_the_same_queries_at_any_size_and_counts_nothing(client, make_user, tree):
    client.force_login(make_user(role="epidemiologist", node="city"))
    _cases(tree, 3)
    small = _queries(client, "/tracing/")
    _cases(tree, 60, start=100)
    large = _queries(client, "/tracing/")
    assert len(small) == len(large)
    assert not _counts(large)
    text = client.get("/tracing/").content.decode()
    # The figures are not on the list page: htmx fetches them from the fragment.
    assert 'hx-get="/tracing/figures/"' in text and 'id="case-intervals"' in text


def test_the_figures_fragment_equals_a_fresh_computation_and_is_kept(client, make_user, tree):
    user = make_user(role="epidemiologist", node="city")
    client.force_login(user)
    cases = _cases(tree, 7)
    for source, target in zip(cases[:5], cases[1:6], strict=True):
        services.exposure_add(actor=None, case=target, setting="venue", source_case=source)
    fresh = selectors.case_figures_compute(actor=user)
    first = client.get("/tracing/figures/")
    assert first.status_code == 200
    context = first.context
    assert context["figures"] == fresh["figures"]
    assert context["figures"]["clusters"] == 1 and context["figures"]["cases_in_clusters"] == 6
    assert context["leads"] == fresh["leads"]
    assert context["by_day"] == fresh["by_day"]
    assert [{k: v for k, v in r.items() if k != "label"} for r in context["intervals"]] == (
        fresh["intervals"]
    )
    text = first.content.decode()
    assert 'hx-swap-oob="true"' in text and 'id="curve"' in text
    # Kept: the second request reads the kept figures (no COUNT over the subtree), even after a
    # new case, until the refresh link recomputes them.
    _cases(tree, 1, start=500)
    queries = _queries(client, "/tracing/figures/")
    assert not _counts(queries)
    again = client.get("/tracing/figures/").context
    assert again["figures"]["cases"] == fresh["figures"]["cases"]
    assert again["computed_at"] == context["computed_at"]
    refreshed = client.get("/tracing/figures/?refresh=1").context
    assert refreshed["figures"]["cases"] == fresh["figures"]["cases"] + 1
    assert refreshed["figures"] == selectors.case_figures_compute(actor=user)["figures"]


def test_the_figures_are_kept_per_subtree_and_filter(client, make_user, tree):
    _cases(tree, 4, grid="grid_a")
    _cases(tree, 2, grid="grid_c", start=50)
    city = make_user(role="epidemiologist", node="city")
    client.force_login(city)
    assert client.get("/tracing/figures/").context["figures"]["cases"] == 6
    filtered = client.get("/tracing/figures/?classification=asymptomatic").context
    assert filtered["figures"]["cases"] == 3  # k % 3 == 0: two in grid A, one in grid C
    # A district's epidemiologist never sees the city's kept figures.
    client.force_login(make_user(role="epidemiologist", node="district"))
    assert client.get("/tracing/figures/").context["figures"]["cases"] == 4
    client.force_login(make_user(role="epidemiologist", node="grid_c"))
    assert client.get("/tracing/figures/").context["figures"]["cases"] == 2


@pytest.mark.parametrize("min_cases", [2, 3, 5])
def test_cluster_sizes_match_the_transmission_graph(tree, make_user, min_cases):
    cases = _cases(tree, 9)
    for source, target in [(0, 1), (1, 2), (3, 4), (5, 6), (6, 7), (7, 8), (8, 5)]:
        services.exposure_add(
            actor=None, case=cases[target], setting="venue", source_case=cases[source]
        )
    user = make_user(role="epidemiologist", node="city")
    graph = selectors.transmission_graph(actor=user, min_cases=min_cases)
    expected = sorted((c["cases"] for c in graph["components"] if c["is_cluster"]), reverse=True)
    assert selectors.cluster_sizes(actor=user, min_cases=min_cases) == expected
