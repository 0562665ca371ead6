"""`fangkong serve` as an operator starts it: production settings, static files served by the
application itself (they were 404 under serve: no htmx, no styles), the CSP on every page."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_serve_runs_prod_settings_and_serves_static_files(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
    env.update(
        PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        FANGKONG_SECRET_KEY=secrets.token_urlsafe(50),
        FANGKONG_STATIC_ROOT=str(tmp_path / "static"),
        FANGKONG_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        FANGKONG_SSL_REDIRECT="0",  # plain HTTP on the loopback; a proxy terminates TLS
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "fangkong.cli", "serve", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, headers, body = get(f"{base}/login/")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.3)
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        page = body.decode()
        htmx = re.search(r'src="(/static/django_htmx/htmx[^"]*\.js)"', page).group(1)
        css = re.search(r'href="(/static/fangkong/app\.[0-9a-f]+\.css)"', page).group(1)
        app_js = re.search(r'src="(/static/fangkong/app\.[0-9a-f]+\.js)"', page).group(1)
        for path, kind in ((htmx, "javascript"), (css, "css"), (app_js, "javascript")):
            status, headers, body = get(base + path)
            assert status == 200, path
            assert kind in headers["Content-Type"]
            assert "max-age=315360000" in headers["Cache-Control"]  # hashed: cached for good
        # Production settings: DEBUG off (no technical 404 page).
        status, _headers, body = get(f"{base}/no-such-page/")
        assert status == 404 and b"URLconf" not in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_serve_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    done = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "serve", "--bind", "127.0.0.1:1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Production needs its own secret key" in done.stderr
