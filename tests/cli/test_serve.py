"""`examsvc serve` runs the app under gunicorn with stateless workers on one database."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("examsvc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_checks_from_several_workers_and_logs_access_when_asked(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXAMSVC_", "FLASK_"))}
    access_log = tmp_path / "access.log"
    env.update(EXAMSVC_INSTANCE_PATH=str(tmp_path), EXAMSVC_DATABASE_URL=f"sqlite:///{tmp_path}/serve.sqlite3",
               EXAMSVC_SERVE_ACCESS_LOG=str(access_log), EXAMSVC_SERVE_THREADS="2")
    assert subprocess.run([str(SCRIPT), "db", "upgrade"], env=env, capture_output=True, timeout=120).returncode == 0
    port = _free_port()
    server = subprocess.Popen([str(SCRIPT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body, deadline = None, time.monotonic() + 60
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert body is not None and '"database":"ok"' in body.replace(" ", "")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert output.count("Booting worker") >= 2, output
    assert "GET /healthz" in access_log.read_text()


def test_a_development_server_elsewhere_puts_its_own_address_in_certificate_links(tmp_path):
    """`examsvc demo --port N`: QR codes and verification links must reach that port, unless set."""
    from examsvc import create_app
    from examsvc.serve import adopt_public_base_url

    def app(**config):
        return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k" * 40,
                           "INSTANCE_PATH": str(tmp_path), **config})

    default = app()
    adopt_public_base_url(default, "127.0.0.1", 5077)
    assert default.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5077"
    everywhere = app()
    adopt_public_base_url(everywhere, "0.0.0.0", 8000)
    assert everywhere.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    configured = app(PUBLIC_BASE_URL="https://zs.example.gov.cn")
    adopt_public_base_url(configured, "127.0.0.1", 5077)
    assert configured.config["PUBLIC_BASE_URL"] == "https://zs.example.gov.cn"
