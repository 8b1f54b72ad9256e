"""The README's "Run it" command serves until stopped, and `examsvc run` serves the same database again.

Both start the installed console script as a subprocess, exactly as the README writes it (only a
free port is added and the instance folder is a fresh temporary one), wait for `/` to answer, sign
in over plain HTTP, then stop the server with SIGTERM or Ctrl+C (SIGINT) and expect a clean exit.
The demo is loaded once per module: the second test reuses its folder after the first server has
stopped (never a copy of a live SQLite folder, whose -wal/-shm files come and go).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import csrf_token_from
from tests.test_readme import README, _commands

SCRIPT = Path(sys.executable).with_name("examsvc")
START_TIMEOUT = 180  # seconds: the demo loads the catalogue and a bank, on a busy 2-core machine


def _readme_argv(command: str) -> list[str]:
    """The README's command line as argv, with `.venv/bin/examsvc` the script of this environment."""
    argv = shlex.split(command)
    assert argv[0].endswith("/examsvc"), command
    return [str(SCRIPT), *argv[1:]]


def readme_demo_argv() -> list[str]:
    """What the README's run command executes once the venv exists: its last `&&` step."""
    run, _test = _commands()
    return _readme_argv(run.split("&&")[-1].strip())


def readme_rerun_argv() -> list[str]:
    """The command the README gives to serve the demo database again."""
    found = re.findall(r"`((?:\S+=\S+ )*\.venv/bin/examsvc run[^`]*)`", README)
    assert len(found) == 1, f"the README should name one command to serve again, found {found}"
    assert "=" not in found[0].split(".venv/bin/examsvc")[0], "serving again needs no environment settings"
    return _readme_argv(found[0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXAMSVC_", "FLASK_"))}
    env.update(EXAMSVC_INSTANCE_PATH=str(instance), PYTHONUNBUFFERED="1")
    return env


@dataclass
class Served:
    first_status: int
    home_after_sign_in: str
    returncode: int
    output: str


def serve_and_stop(argv: list[str], instance: Path, stop_signal: int, while_serving=None) -> Served:
    """Start ``argv --port N``, wait for `/` (following the redirect to sign-in) to answer 200,
    sign in as the demo's inst_admin, call ``while_serving(base_url)``, then send ``stop_signal``."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = instance.parent / f"{instance.name}-{Path(argv[0]).name}-{argv[1]}-{port}.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([*argv, "--port", str(port)], env=_environment(instance), cwd=instance.parent,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status, deadline = None, time.monotonic() + START_TIMEOUT
            while status is None and time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(base + "/", timeout=5) as response:
                        status = response.status
                except OSError:
                    time.sleep(0.5)
            assert status is not None, (f"nothing answered on {base}/ (exit code {server.poll()}):\n"
                                        + log.read_text(errors="replace"))
            home = _sign_in(base, "inst_admin", "examsvc-demo")
            if while_serving:
                while_serving(base)
        finally:
            if server.poll() is None:
                server.send_signal(stop_signal)
            try:
                returncode = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                returncode = server.wait(timeout=10)
    return Served(status, home, returncode, log.read_text(errors="replace"))


def _sign_in(base: str, username: str, password: str) -> str:
    """Sign in with a cookie jar that, like a browser, sends a Secure cookie over HTTPS only;
    returns the home page seen afterwards (the sign-in page again when the cookie did not hold)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(base + "/login", timeout=30) as response:
        token = csrf_token_from(response.read().decode())
    form = urllib.parse.urlencode({"csrf_token": token, "next": "", "username": username,
                                   "password": password}).encode()
    with opener.open(base + "/login", data=form, timeout=30) as response:
        response.read()
    with opener.open(base + "/", timeout=30) as response:
        return response.geturl() + "\n" + response.read().decode()


def _counts(database: Path) -> dict[str, object]:
    with sqlite3.connect(database) as connection:
        return {
            "papers": connection.execute("SELECT count(*) FROM papers").fetchone()[0],
            "assembly_runs": connection.execute("SELECT count(*) FROM assembly_runs").fetchone()[0],
            "jobs": sorted(connection.execute("SELECT id, kind, status FROM jobs ORDER BY id").fetchall()),
        }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The README's run command in a fresh instance folder, served, signed in to, stopped with SIGTERM."""
    instance = tmp_path_factory.mktemp("readme") / "instance"
    served = serve_and_stop(readme_demo_argv(), instance, signal.SIGTERM)
    return instance, served


def test_the_readme_run_command_serves_until_stopped_and_exits_cleanly(demo):
    instance, served = demo
    assert readme_demo_argv()[1:] == ["demo"]  # exactly the README's command, the port aside
    assert served.first_status == 200
    assert "Serving on http://127.0.0.1:" in served.output and "Ignoring a call to 'app.run()'" not in served.output
    # the demo's plain-HTTP sign-in holds: the home page, not the sign-in page again
    assert not served.home_after_sign_in.split("\n", 1)[0].endswith("/login"), served.home_after_sign_in[:300]
    assert 'name="password"' not in served.home_after_sign_in
    assert served.returncode == 0, served.output
    assert "Traceback" not in served.output, served.output
    assert (instance / "examsvc.sqlite3").exists()


def test_serving_the_demo_again_with_run_repeats_no_job_and_stops_on_ctrl_c(demo):
    instance, first = demo
    assert first.returncode == 0, first.output
    database = instance / "examsvc.sqlite3"
    before = _counts(database)
    assert before["papers"] >= 1 and before["jobs"], before
    assert all(status == "done" for _id, _kind, status in before["jobs"]), before

    def runner_had_its_turn(base: str) -> None:
        # The job runner starts with the first request and looks for work every JOBS_POLL_SECONDS
        # (1 s): give it several turns, then read the live database (reading, not copying, is safe).
        time.sleep(4)
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert response.status == 200
        after = _counts(database)
        assert after == before, "a restart re-ran a job"

    served = serve_and_stop(readme_rerun_argv(), instance, signal.SIGINT, runner_had_its_turn)
    assert served.first_status == 200
    assert 'name="password"' not in served.home_after_sign_in, "plain HTTP on loopback must keep a sign-in"
    assert served.returncode == 0, served.output
    assert "Traceback" not in served.output, served.output
    assert _counts(database) == before
