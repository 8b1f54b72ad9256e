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


# --- the development server of `examsvc demo` and `examsvc run` ------------------------------

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this computer only (plain HTTP is then acceptable)."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def run_dev_server(app: Any, host: str, port: int, *, announce: Any = print) -> None:
    """Serve ``app`` with werkzeug's threaded server until Ctrl+C or SIGTERM, then return.

    Started directly rather than through ``app.run()``: under the Flask CLI ``app.run()`` only
    prints "Ignoring a call to 'app.run()'" and returns, so nothing would listen. ``announce``
    is called with the address once the socket is bound (so the message never lies), and an
    address already in use raises ``OSError`` before anything is announced.
    """
    import signal

    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    bound_port = server.server_port

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds serve_forever() in the main thread like Ctrl+C

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        shown = f"[{host}]" if ":" in host else host
        announce(f"Serving on http://{shown}:{bound_port}/  (Ctrl+C to stop)")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        announce("Stopped.")


def adopt_public_base_url(app: Any, host: str, port: int) -> None:
    """A development server on another port or host than the default address: certificate QR codes
    and verification links must point where it actually serves, unless PUBLIC_BASE_URL was set."""
    from examsvc.config import DEFAULTS

    if app.config["PUBLIC_BASE_URL"] == DEFAULTS["PUBLIC_BASE_URL"][0]:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        app.config["PUBLIC_BASE_URL"] = f"http://{shown}:{port}"
