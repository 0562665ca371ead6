"""The case page draws the case's own chain and links to it; the chain legend's symbols are
the markers' own."""

import json
import re

from fangkong.tracing import services as tracing
from fangkong.tracing.tests.factories import open_case


def test_case_page_has_its_chain_and_link(client, make_user, people):
    source = open_case(people["a"][0])
    infected = open_case(people["a"][1])
    tracing.exposure_add(actor=None, case=infected, setting="household", source_case=source)
    lonely = open_case(people["a"][2])
    client.force_login(make_user(role="epidemiologist", node="district"))
    body = client.get(f"/tracing/cases/{infected.pk}/").content.decode()
    assert 'id="case-chain"' in body
    assert f'href="/tracing/chains/{source.pk}/"' in body
    assert "/tracing/chains/" in body and "plotly" in body
    assert 'id="case-chain"' not in client.get(f"/tracing/cases/{lonely.pk}/").content.decode()


def test_chain_legend_symbols_match_markers(people):
    from fangkong.tracing import charts

    graph = {
        "cases": [
            {
                "id": 1,
                "code": "20260101-001",
                "classification": "confirmed",
                "component": 1,
                "generation": 0,
                "under_control_when_found": False,
                "person__name": "甲",
                "report_date": "2026-01-01",
                "cluster_event__name": None,
            },
            {
                "id": 2,
                "code": "20260101-002",
                "classification": "confirmed",
                "component": 1,
                "generation": 1,
                "under_control_when_found": True,
                "person__name": "乙",
                "report_date": "2026-01-02",
                "cluster_event__name": None,
            },
        ],
        "edges": [(1, 2, "household")],
        "components": [],
    }
    html = charts.network_html(graph)
    spec = json.loads(
        re.search(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    data = spec["data"] if "data" in spec else spec["figure"]["data"]
    symbols = {
        t.get("name"): t["marker"]["symbol"] for t in data if t.get("mode") == "markers+text"
    }
    assert sorted(symbols.values()) == ["circle", "diamond"]
    layout = spec["layout"] if "layout" in spec else spec["figure"]["layout"]
    assert layout["legend"]["yanchor"] == "bottom"
