"""`serve`'s warm-up: what a restarted server builds before its first request, and that it writes
nothing and never keeps the server from starting."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.template import engines

from fangkong.audit.models import AuditEntry
from fangkong.common import registry, warmup


def test_the_dashboard_is_a_declared_warmup_step():
    assert "fangkong.analytics.warmup.dashboard" in registry.warmup_steps()


def test_warm_runs_every_step_and_writes_nothing(tree, people, caplog):
    sessions, events = Session.objects.count(), AuditEntry.objects.count()
    with caplog.at_level(logging.WARNING, logger="fangkong.common.warmup"):
        steps = warmup.warm()
    assert list(steps) == ["urls", "translations", "templates", "figures", "login", "apps"]
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
    assert (Session.objects.count(), AuditEntry.objects.count()) == (sessions, events)
    assert "analytics/dashboard.html" in warmup.template_names()


def test_a_failing_step_is_logged_and_skipped(monkeypatch, caplog):
    def broken():
        raise RuntimeError("no tables yet")

    monkeypatch.setattr(warmup, "_apps", broken)
    with caplog.at_level(logging.WARNING, logger="fangkong.common.warmup"):
        steps = warmup.warm()
    assert "apps" in steps
    assert "warm-up step apps skipped: no tables yet" in caplog.text


@pytest.mark.parametrize("flags, preload", [([], True), (["--no-warmup"], False)])
def test_serve_preloads_and_warms_before_binding(monkeypatch, flags, preload):
    from gunicorn.app.base import BaseApplication

    seen = {}

    def run(self):  # instead of binding and forking: what gunicorn was configured with
        seen["preload"] = self.cfg.preload_app
        seen["post_worker_init"] = self.cfg.post_worker_init.__name__

    monkeypatch.setattr(BaseApplication, "run", run)
    call_command("serve", "--no-collectstatic", "--workers", "1", *flags)
    assert seen["preload"] is preload
    assert (seen["post_worker_init"] == "_connect_worker") is preload
    assert engines.all()  # the command left the template engines usable
