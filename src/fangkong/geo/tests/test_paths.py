"""The one path type and the one scope compiler: the queryset filter and the SQL fragment of the
same actor select the same nodes."""

import pytest
from django.db import connection

from fangkong.accounts.tests.factories import UserFactory
from fangkong.common import paths
from fangkong.common.scope import overlap_sql, scope_q, scope_sql
from fangkong.geo.models import Jurisdiction


def test_path_shape():
    assert paths.codes("/32/3201/320102/") == ["32", "3201", "320102"]
    assert paths.depth("/") == 0 and paths.depth("/32/3201/") == 2
    assert paths.prefix("/p/c/d/s/", 2) == "/p/c/"
    assert paths.prefix("/p/", 2) == "/p/"
    assert paths.prefix("/p/c/", 0) == "/"
    assert paths.ancestors("/1/2/3/") == ["/1/", "/1/2/", "/1/2/3/"]
    assert paths.ancestors("/") == []
    assert [paths.up("/1/2/3/", n) for n in (0, 1, 5)] == ["/1/2/3/", "/1/2/", "/1/"]
    assert paths.up("/", 1) == "/"
    # A sibling whose code begins like ours is not inside: the closing '/' is part of the match.
    assert paths.within("/1/2/", "/1/") and not paths.within("/1/23/", "/1/2/")
    assert not paths.within("/1/", None)
    assert paths.overlaps("/1/", "/1/2/") and paths.overlaps("/1/2/3/", "/1/2/")
    assert not paths.overlaps("/1/3/", "/1/2/")


@pytest.fixture
def actors(tree, make_user):
    return {
        "grid_a": make_user(node="grid_a"),
        "district": make_user(node="district"),
        "root": UserFactory(role="admin", is_superuser=True),
        "nowhere": UserFactory(role="admin"),
    }


def _sql_codes(fragment: tuple[str, list]) -> set[str]:
    sql, params = fragment
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code FROM geo_jurisdiction j WHERE {sql}", params)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("who", ["grid_a", "district", "root", "nowhere"])
def test_scope_sql_and_scope_q_select_the_same_nodes(actors, who):
    actor = actors[who]
    by_q = set(Jurisdiction.objects.filter(scope_q(actor, "path")).values_list("code", flat=True))
    assert _sql_codes(scope_sql(actor, "j.path")) == by_q
    expected = {
        "grid_a": {"320102001001G01"},
        "district": {"320102", "320102001", "320102001001", "320102001001G01", "320102001001G02"},
        "nowhere": set(),
    }
    if who in expected:
        assert by_q == expected[who]
    else:
        assert by_q == set(Jurisdiction.objects.values_list("code", flat=True))


def test_overlap_sql_is_the_subtree_and_the_nodes_above(actors):
    above_and_inside = _sql_codes(overlap_sql(actors["district"], "j.path"))
    assert above_and_inside == {
        "320000",
        "320100",
        "320102",
        "320102001",
        "320102001001",
        "320102001001G01",
        "320102001001G02",
    }
    assert _sql_codes(overlap_sql(actors["nowhere"], "j.path")) == set()
