"""Running jobs: a thread inside each app process, or a separate ``examsvc worker`` process."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

from examsvc.jobs.service import run_pending, run_periodic

log = logging.getLogger(__name__)
_wake = threading.Event()


def kick() -> None:
    """Tell the runner that a job was queued: eager mode runs it now, otherwise the thread wakes."""
    if current_app.config["JOBS_EAGER"]:
        run_pending()
    else:
        _wake.set()


def start_worker_thread(app: Flask) -> threading.Thread:
    """A daemon thread that runs queued jobs for this process (several processes share the queue)."""

    def loop() -> None:
        with app.app_context():
            while True:
                try:
                    run_pending()
                    run_periodic()
                except Exception:  # a database hiccup must not kill the runner
                    log.exception("job runner iteration failed")
                _wake.wait(app.config["JOBS_POLL_SECONDS"])
                _wake.clear()

    thread = threading.Thread(target=loop, name="examsvc-jobs", daemon=True)
    thread.start()
    return thread


def start_on_first_request(app: Flask) -> None:
    lock = threading.Lock()
    started: list[threading.Thread] = []

    @app.before_request
    def _start_job_runner() -> None:
        if not started:
            with lock:
                if not started:
                    started.append(start_worker_thread(app))


def run_forever(poll_seconds: float) -> None:
    """The loop of ``examsvc worker``."""
    while True:
        ran = run_pending()
        run_periodic()
        if not ran:
            time.sleep(poll_seconds)
