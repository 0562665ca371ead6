"""Forms pick nodes and warehouses by name within the user's scope, and dates with the
browser's date and time pickers, instead of asking for raw codes and free-text dates."""

import pytest
from django.conf import settings

from fangkong.supplies.models import SupplyRequest
from fangkong.supplies.tests.factories import WarehouseFactory, items
from fangkong.testing.models import Round


@pytest.fixture
def zh(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


def options(client, **params):
    return client.get("/geo/autocomplete/", params).content.decode()


def test_autocomplete_searches_names_within_the_subtree_for_any_field(zh, make_user):
    zh.force_login(make_user(role="commander", node="district"))
    found = options(zh, field="node", node="网格")
    assert '<option value="320102001001G01">第一网格 · 网格</option>' in found
    assert '<option value="320102001001G02">第二网格 · 网格</option>' in found
    # Another district's node is not offered, whatever is typed.
    assert options(zh, field="node", node="钞库街").strip() == ""
    assert options(zh, field="node", node="秦淮").strip() == ""
    # A list field: the last term is searched and the terms before it are kept.
    multi = options(zh, field="scope", multi="1", scope="320102001，第二")
    assert '<option value="320102001,320102001001G02">第二网格 · 网格</option>' in multi
    assert "第一网格" not in multi
    # A grid-only picker offers grids only.
    assert options(zh, field="grid", level="grid", grid="梅园").strip() == ""
    assert "梅园新村街道" in options(zh, field="grid", grid="梅园")
    zh.force_login(make_user(role="grid_worker", node="grid_a"))
    assert "第二网格" not in options(zh, field="node", node="网格")


def test_supply_request_form_picks_the_unit_and_a_scoped_warehouse(zh, make_user, tree):
    WarehouseFactory(code="WA", name="梅园仓", jurisdiction=tree["grid_a"])
    WarehouseFactory(code="WC", name="秦淮仓", jurisdiction=tree["grid_c"])
    mask = items()["mask_medical"] if "mask_medical" in items() else next(iter(items().values()))
    zh.force_login(make_user(role="grid_worker", node="grid_a"))
    page = zh.get("/supplies/requests/").content.decode()
    assert "申请单位" in page and "收货仓库" in page
    assert "辖区编码" not in page and "（编码）" not in page
    assert 'list="jurisdiction-options"' in page and '<datalist id="jurisdiction-options">' in page
    assert "field=jurisdiction" in page
    assert '<option value="WA">梅园仓</option>' in page and "秦淮仓" not in page
    assert 'type="date" name="needed_by"' in page
    posted = zh.post(
        "/supplies/requests/",
        {
            "jurisdiction": "320102001001G01",
            "item": mask.pk,
            "quantity": 5,
            "needed_by": "2026-12-09",
            "priority": 2,
            "deliver_to": "WA",
        },
    )
    assert posted.status_code == 302
    request = SupplyRequest.objects.get()
    assert (request.deliver_to.code, request.needed_by.isoformat()) == ("WA", "2026-12-09")
    # Another district's warehouse cannot be posted by its code either.
    refused = zh.post(
        "/supplies/requests/",
        {
            "jurisdiction": "320102001001G01",
            "item": mask.pk,
            "quantity": 5,
            "needed_by": "2026-12-09",
            "priority": 2,
            "deliver_to": "WC",
        },
    )
    assert refused.status_code == 200 and SupplyRequest.objects.count() == 1


def test_round_form_picks_nodes_and_datetimes(zh, make_user):
    zh.force_login(make_user(role="commander", node="district"))
    page = zh.get("/testing/").content.decode()
    assert "field=scope&amp;multi=1" in page and 'list="scope-options"' in page
    assert 'type="datetime-local" name="starts_at"' in page
    response = zh.post(
        "/testing/",
        {
            "code": "N1",
            "name": "第一轮",
            "scope": "320102001001G01,320102001001G02",
            "pool_size": 10,
            "starts_at": "2026-12-08T07:30",
        },
    )
    assert response.status_code == 302
    round_ = Round.objects.get(code="N1")
    assert round_.starts_at.isoformat() == "2026-12-07T23:30:00+00:00"
    assert sorted(s.jurisdiction.code for s in round_.scope_nodes.all()) == [
        "320102001001G01",
        "320102001001G02",
    ]


def test_command_forms_use_pickers(zh, make_user):
    zh.force_login(make_user(role="commander", node="district"))
    tasks = zh.get("/command/").content.decode()
    assert 'type="datetime-local" name="deadline"' in tasks and "field=node" in tasks
    assert "或辖区（输入名称" in tasks
    vaccination = zh.get("/vaccination/lists/").content.decode()
    assert "field=grid&amp;level=grid" in vaccination and 'list="grid-options"' in vaccination
