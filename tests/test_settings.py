"""The settings contract: every knob typed from the environment in config/settings, production
refusing to start without its own key, and `fangkong check --deploy` clean under prod."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parent.parent


def settings_of(module: str, **environ) -> subprocess.CompletedProcess:
    """Import a settings module in a fresh interpreter with only the given FANGKONG_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
    clean.update(environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    code = (
        f"import importlib, json; s = importlib.import_module({module!r}); "
        "print(json.dumps({'hours': s.FANGKONG_TRANSFER_LIMIT_HOURS, 'debug': s.DEBUG, "
        "'hosts': s.ALLOWED_HOSTS, 'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, cwd=ROOT
    )


def test_readers_type_and_refuse(monkeypatch):
    monkeypatch.setenv("FK_T", " 7 ")
    assert env.env_int("FK_T", 1) == 7
    assert env.env_float("FK_T", 1.0) == 7.0
    monkeypatch.setenv("FK_T", "a, b,,c")
    assert env.env_list("FK_T", []) == ["a", "b", "c"]
    monkeypatch.setenv("FK_T", "off")
    assert env.env_bool("FK_T", True) is False
    monkeypatch.setenv("FK_T", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FK_T"):
        env.env_bool("FK_T", True)
    monkeypatch.setenv("FK_T", "three")
    with pytest.raises(ImproperlyConfigured, match="FK_T must be a number"):
        env.env_float("FK_T", 1.0)
    monkeypatch.delenv("FK_T")
    assert env.env_int("FK_T", 4) == 4
    with pytest.raises(ImproperlyConfigured, match="Set the environment variable FK_T"):
        env.env_str("FK_T")


def test_transfer_limit_is_read_from_the_environment():
    # It was documented in the README and never read: the default came from a getattr.
    done = settings_of("config.settings.dev", FANGKONG_TRANSFER_LIMIT_HOURS="1.5")
    assert done.returncode == 0, done.stderr
    assert '"hours": 1.5' in done.stdout
    assert '"debug": true' in done.stdout


def test_prod_refuses_to_start_without_its_own_key():
    missing = settings_of("config.settings.prod")
    assert missing.returncode != 0
    assert "Production needs its own secret key: set FANGKONG_SECRET_KEY" in missing.stderr
    from config.settings.base import DEV_SECRET_KEY

    for weak in (DEV_SECRET_KEY, "short-key", "a" * 60):
        refused = settings_of("config.settings.prod", FANGKONG_SECRET_KEY=weak)
        assert refused.returncode != 0
        assert "FANGKONG_SECRET_KEY is the public development key or too weak" in refused.stderr
    ok = settings_of(
        "config.settings.prod",
        FANGKONG_SECRET_KEY=secrets.token_urlsafe(50),
        FANGKONG_ALLOWED_HOSTS="fk.example.org",
        FANGKONG_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
    )
    assert ok.returncode == 0, ok.stderr
    assert '"debug": false' in ok.stdout
    assert '"hosts": ["fk.example.org"]' in ok.stdout
    assert '"proxy": ["HTTP_X_FORWARDED_PROTO", "https"]' in ok.stdout


def test_check_deploy_is_clean_under_prod():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        FANGKONG_SECRET_KEY=secrets.token_urlsafe(50),
        PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    )
    done = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=clean,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_serve_defaults_to_prod_and_the_rest_to_dev(monkeypatch):
    from fangkong import cli

    seen = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line",
        lambda argv: seen.append((argv[1], os.environ["DJANGO_SETTINGS_MODULE"])),
    )
    for verb in ("serve", "demo", "migrate"):
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        cli.main([verb])
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    cli.main(["serve"])
    assert seen == [
        ("serve", "config.settings.prod"),
        ("demo", "config.settings.dev"),
        ("migrate", "config.settings.dev"),
        ("serve", "config.settings.dev"),
    ]


def test_no_setting_is_read_with_a_default_outside_config():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "src").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"getattr\(\s*settings\s*,", line)
    ]
    assert offenders == []


def test_a_replica_is_configured_only_by_its_variable():
    code = (
        "import json, config.settings.dev as s; "
        "print(json.dumps({'dbs': sorted(s.DATABASES), 'replica': s.DATABASES.get('replica'), "
        "'routers': s.DATABASE_ROUTERS, 'sticky': s.REPLICA_STICKY_SECONDS}))"
    )

    def run(**environ):
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
        clean.update(environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
        done = subprocess.run(
            [sys.executable, "-c", code], env=clean, capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    alone = run(FANGKONG_DATABASE_URL="postgres://app@db1:5432/fk")
    assert alone["dbs"] == ["default"]
    assert alone["sticky"] == 10
    # The router is always listed: without the alias it has no opinion.
    assert alone["routers"][-1] == "fangkong.common.replica.ReplicaRouter"
    both = run(
        FANGKONG_DATABASE_URL="postgres://app@db1:5432/fk",
        FANGKONG_REPLICA_DATABASE_URL="postgres://app@db2:5432/fk",
        FANGKONG_REPLICA_STICKY_SECONDS="30",
    )
    assert both["dbs"] == ["default", "replica"]
    assert (both["replica"]["HOST"], both["replica"]["NAME"]) == ("db2", "fk")
    # The tests run against a mirror of the test database, not a second one.
    assert both["replica"]["TEST"] == {"MIRROR": "default"}
    assert both["sticky"] == 30
