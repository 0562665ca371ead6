"""`fangkong command …`: the risk-area import with line-numbered errors, and the daily checks."""

import io

import pytest
from django.core.management import CommandError, call_command

from fangkong.command.models import RiskArea


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("command", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_risk_areas(db, tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(
        "province,city,district,area_name,level,since\n"
        "上海市,上海市,浦东新区,陆家嘴街道,高风险区,2022-04-01\n"
        "上海市,上海市,浦东新区,花木街道,中风险区,2022-04-02\n",
        encoding="utf-8",
    )
    out, _ = run("import-risk-areas", str(path))
    assert out.strip() == "2 rows: 2 created, 0 updated, 0 unchanged, 0 rejected"
    out, _ = run("import-risk-areas", str(path))
    assert out.strip() == "2 rows: 0 created, 0 updated, 2 unchanged, 0 rejected"
    assert sorted(RiskArea.objects.values_list("level", flat=True)) == ["high", "medium"]


def test_import_errors_name_the_line(db, tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(
        "province,city,district,area_name,level,since\n上海市,上海市,,外滩,very,2022-04-01\n",
        encoding="utf-8",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 rows rejected"):
        call_command("command", "import-risk-areas", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().strip() == "line 2, level: unknown risk level"
    with pytest.raises(CommandError, match="cannot open"):
        run("import-risk-areas", str(tmp_path / "missing.csv"))


def test_daily_checks_run(db):
    assert run("escalate")[0].strip() == "0 tasks escalated"
    assert run("review-risk-areas", "--today", "2022-06-10")[0].strip() == "0 downgrades proposed"
    assert run("findings-overdue", "--today", "2022-06-10")[0].strip() == "0 overdue findings"
