"""Jurisdiction tree import/export: topological order, every bad row reported, moves refused, round trip."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from fangkong.audit.models import AuditEntry
from fangkong.common.models import ImportJob
from fangkong.geo.bulk import geo_export, geo_import
from fangkong.geo.models import Jurisdiction

HEADER = "code,parent_code,level,name,name_en,population\n"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def run(text: str, actor=None) -> ImportJob:
    return geo_import(actor=actor, source=io.BytesIO(text.encode()), filename="tree.csv")


def errors_of(job):
    return [(e["line"], e["column"], e["reason"]) for e in job.errors]


def tree_of() -> dict[str, tuple]:
    return {
        j.code: (j.parent.code if j.parent else "", j.level, j.name, j.path, j.depth)
        for j in Jurisdiction.objects.select_related("parent")
    }


@pytest.mark.django_db
def test_children_before_parents_are_placed():
    job = run(
        HEADER
        + "G1,C1,grid,第一网格,Grid 1,1200\n"
        + "C1,S1,community,社区,,\n"
        + "S1,D1,街道,街道,,\n"  # Chinese level labels are accepted
        + "D1,P,district,区,,\n"
        + "P,,province,省,Province,80000000\n"
        + "D2,P,district,二区,,\n"
    )
    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.created, job.rejected) == (6, 6, 0)
    assert tree_of() == {
        "P": ("", "province", "省", "/P/", 0),
        "D1": ("P", "district", "区", "/P/D1/", 1),
        "D2": ("P", "district", "二区", "/P/D2/", 1),
        "S1": ("D1", "street", "街道", "/P/D1/S1/", 2),
        "C1": ("S1", "community", "社区", "/P/D1/S1/C1/", 3),
        "G1": ("C1", "grid", "第一网格", "/P/D1/S1/C1/G1/", 4),
    }
    grid = Jurisdiction.objects.get(code="G1")
    assert (grid.name_en, grid.population) == ("Grid 1", 1200)
    entry = AuditEntry.objects.get(action="import")
    assert entry.changes == {"rows": 6, "created": 6, "updated": 0, "unchanged": 0, "rejected": 0}


@pytest.mark.django_db
def test_every_bad_row_is_reported_and_good_rows_kept():
    job = run(
        HEADER
        + "P,,province,省,,\n"  # 2
        + "A,B,city,甲,,\n"  # 3 cycle A -> B -> A
        + "B,A,city,乙,,\n"  # 4
        + "X,A,district,挂在环上,,\n"  # 5 hangs off the cycle
        + "U,NOPE,city,孤儿,,\n"  # 6 unknown parent
        + "L,P,planet,星球,,\n"  # 7 bad level
        + "M,P,province,又一个省,,\n"  # 8 level not below its parent
        + "N,M,city,省下的市,,\n"  # 9 parent rejected
        + "P,,province,重复,,\n"  # 10 duplicate code
        + "K,P,city,好市,,-5\n"  # 11 bad population
        + "bad/code,P,city,斜杠,,\n"  # 12 bad code
        + "OK,P,city,好,,\n"  # 13
        + "S,S,city,自己,,\n"  # 14 own parent
    )
    assert (job.total_rows, job.created, job.rejected) == (13, 2, 11)
    assert errors_of(job) == [
        (3, "parent_code", "cycle in parent codes: A → B → A"),
        (4, "parent_code", "cycle in parent codes: A → B → A"),
        (5, "parent_code", "parent A was rejected (line 3)"),
        (6, "parent_code", "parent NOPE is neither in the file nor in the database"),
        (7, "level", "unknown level; use one of province, city, district, street, community, grid"),
        (8, "level", "a province cannot sit under a province"),
        (9, "parent_code", "parent M was rejected (line 8)"),
        (10, "code", "duplicate of line 2"),
        (11, "population", "population must be a whole number of at least 0"),
        (12, "code", "code must be 1 to 24 letters, digits, '-', '_' or '.'"),
        (14, "parent_code", "a node cannot be its own parent"),
    ]
    assert set(tree_of()) == {"P", "OK"}
    assert [r["line"] for r in job.rejected_rows] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]
    assert job.rejected_rows[0]["values"] == ["A", "B", "city", "甲", "", ""]


def test_existing_nodes_update_names_refuse_moves_and_level_changes(tree):
    job = run(
        HEADER
        + "320102,320100,district,玄武区,Xuanwu,650000\n"  # name_en and population set
        + "320104,320100,district,秦淮区,,\n"  # unchanged
        + "320102001,320104,street,梅园新村街道,,\n"  # a move
        + "320102001001,320102001,street,长江路社区,,\n"  # a level change
        + "320102001001G03,320102001001,grid,第三网格,,\n"  # new under an existing node
    )
    assert (job.created, job.updated, job.unchanged, job.rejected) == (1, 1, 1, 2)
    assert errors_of(job) == [
        (4, "parent_code", "moving a node to another parent is not supported (it is under 320102)"),
        (5, "level", "changing the level of an existing node is not supported (it is a community)"),
    ]
    district = Jurisdiction.objects.get(code="320102")
    assert (district.name_en, district.population) == ("Xuanwu", 650000)
    assert Jurisdiction.objects.get(code="320102001").parent == tree["district"]
    new = Jurisdiction.objects.get(code="320102001001G03")
    assert (new.path, new.depth, new.parent) == (
        tree["community"].path + "320102001001G03/",
        5,
        tree["community"],
    )
    update = AuditEntry.objects.get(action="update")
    assert (update.object_type, update.object_id) == ("geo.jurisdiction", str(district.pk))
    assert update.changes == {"name_en": ["", "Xuanwu"], "population": [None, 650000]}


def test_actor_may_import_only_inside_their_subtree(make_user, tree):
    user = make_user(role="admin", node="district")
    job = run(
        HEADER
        + "320102001002,320102001,community,新社区,,\n"
        + "320104001002,320104001,community,别区社区,,\n"
        + "ROOT2,,province,新省,,\n"
        + "320104,320100,district,秦淮区改名,,\n",
        actor=user,
    )
    assert (job.created, job.rejected) == (1, 3)
    assert errors_of(job) == [
        (3, "code", "node outside your jurisdiction"),
        (4, "code", "node outside your jurisdiction"),
        (5, "code", "node outside your jurisdiction"),
    ]
    assert job.jurisdiction_path == tree["district"].path
    assert Jurisdiction.objects.get(code="320104").name == "秦淮区"


def test_export_round_trip_changes_nothing(tree, make_user):
    Jurisdiction.objects.filter(code="320102").update(name_en="Xuanwu", population=650000)
    out = io.StringIO()
    assert geo_export(actor=None, out=out) == 11
    text = out.getvalue()
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["code", "parent_code", "level", "name", "name_en", "population"]
    assert rows[1] == ["320000", "", "province", "江苏省", "", ""]
    assert ["320102", "320100", "district", "玄武区", "Xuanwu", "650000"] in rows
    seen = set()
    for code, parent, *_rest in rows[1:]:
        assert parent == "" or parent in seen
        seen.add(code)

    before = tree_of()
    job = geo_import(actor=None, source=io.BytesIO(text.encode("utf-8")), filename="tree.csv")
    assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 0, 11, 0)
    assert tree_of() == before

    # A district's export starts at the district and imports back unchanged for that user.
    user = make_user(role="admin", node="district")
    out = io.StringIO()
    assert geo_export(actor=user, out=out) == 5
    assert (
        out.getvalue().lstrip("\ufeff").splitlines()[1]
        == "320102,320100,district,玄武区,Xuanwu,650000"
    )
    job = run(out.getvalue().lstrip("\ufeff"), actor=user)
    assert (job.unchanged, job.rejected) == (5, 0)


def test_cli_import_and_export(db, tmp_path):
    source = tmp_path / "tree.csv"
    source.write_text(
        HEADER + "C,P,city,市,,\nP,,province,省,,\nX,Q,city,无父,,\n", encoding="gb18030"
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("geo", "import", str(source), stdout=out, stderr=err)
    assert "3 rows, 2 created, 0 updated, 0 unchanged, 1 rejected" in out.getvalue()
    assert err.getvalue().splitlines() == [
        "line 4, parent_code: parent Q is neither in the file nor in the database"
    ]
    target = tmp_path / "out.csv"
    out = io.StringIO()
    call_command("geo", "export", "--out", str(target), stdout=out)
    assert out.getvalue().strip() == f"2 jurisdictions written to {target}"
    assert target.read_text(encoding="utf-8-sig").splitlines() == [
        "code,parent_code,level,name,name_en,population",
        "P,,province,省,,",
        "C,P,city,市,,",
    ]
    missing = tmp_path / "missing.csv"
    missing.write_text("code,name\nP,省\n", encoding="utf-8")
    with pytest.raises(CommandError, match="required columns are missing: parent_code, level"):
        call_command("geo", "import", str(missing))
