"""Production serving with gunicorn: workers hold no exam state, so any worker serves any request."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from examsvc import create_app

        return create_app()


def run_gunicorn(bind: str, workers: int, *, threads: int = 4, access_log: str | None = None) -> None:
    # Each worker builds its own app (and database pool) after the fork. The access log is off
    # unless asked for: a line per answer save is CPU the exam room needs under load, and the
    # reverse proxy in front usually keeps one anyway.
    _Gunicorn({"bind": bind, "workers": workers, "preload_app": False, "accesslog": access_log,
               "worker_class": "gthread", "threads": threads, "keepalive": 75, "graceful_timeout": 30}).run()
