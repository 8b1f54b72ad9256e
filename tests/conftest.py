"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``EXAMSVC_TEST_DATABASE_URL`` (default: the local server's ``test``
database, used only to create and drop a throw-away database per run). When it cannot be reached
the PostgreSQL runs are skipped with a message saying so, except in CI (``CI`` set) or with
``EXAMSVC_REQUIRE_POSTGRES=1``, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from examsvc import create_app
from examsvc.db import Base
from examsvc.migrate import upgrade

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct-horse-9"
_pg_skip_reason: list[str] = []


def postgres_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("EXAMSVC_REQUIRE_POSTGRES") == "1"


def _pg_admin_url() -> str:
    url = os.environ.get("EXAMSVC_TEST_DATABASE_URL", PG_DEFAULT)
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def _pg_engine():
    return create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _pg_available_or_skip() -> None:
    try:
        engine = _pg_engine()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0]
        message = (f"PostgreSQL is not reachable at {_pg_admin_url()} ({reason}): the PostgreSQL run of the "
                   "suite is SKIPPED. Start PostgreSQL or set EXAMSVC_TEST_DATABASE_URL.")
        if postgres_required():
            pytest.fail("CI requires PostgreSQL. " + message, pytrace=False)
        if not _pg_skip_reason:
            _pg_skip_reason.append(message)
        pytest.skip(message)


def new_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, callable]:
    """An empty database of ``kind``; returns its URL and a function that drops it."""
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "examsvc.sqlite3"
        return f"sqlite:///{path}", lambda: None
    _pg_available_or_skip()
    name = f"examsvc_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per kind, shared by the session; tests leave it empty behind them."""
    url, drop = new_database(request.param, tmp_path_factory)
    app = create_app(test_config(url, tmp_path_factory.mktemp("instance")))
    upgrade(app)
    app.extensions["examsvc.engine"].dispose()
    yield url
    drop()


def test_config(url: str, instance_path) -> dict:
    return {
        "DATABASE_URL": url,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "INSTANCE_PATH": str(instance_path),
        "SERVER_NAME": "localhost",
    }


test_config.__test__ = False  # a helper, not a test


@pytest.fixture
def app(database_url: str, tmp_path):
    app = create_app(test_config(database_url, tmp_path / "instance"))
    yield app
    engine = app.extensions["examsvc.engine"]
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        # DELETE, children first, is ten times faster than TRUNCATE on tables this small.
        for table in tables:
            connection.execute(text(f'DELETE FROM "{table}"'))
        if engine.dialect.name == "postgresql":  # ids restart at 1, as they do on SQLite
            for sequence in connection.scalars(text("SELECT sequence_name FROM information_schema.sequences")):
                connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    engine.dispose()


@pytest.fixture
def session(app):
    """A database session for service-layer tests.

    No app context stays pushed: a test that also sends requests through ``client`` must not share
    ``flask.g`` (the signed-in user, the request's session) between those requests.
    """
    db_session = app.extensions["examsvc.sessionmaker"]()
    yield db_session
    db_session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(session):
    """Reference data, two institutions (A: social organisation, B: employer) and their ids."""
    from examsvc.institutions.service import register_institution
    from examsvc.reference.service import load_occupations

    load_occupations(session)
    a = register_institution(session, code="S000015000001", name="甲评价机构", kind="social_organisation",
                             tier="region", league_city=None, published_on=date(2025, 4, 15),
                             scope=[("4-03-02-01", "4"), ("4-03-02-01", "5")])
    b = register_institution(session, code="Y000015000002", name="乙评价机构", kind="employer",
                             tier="league_city", league_city="包头市", published_on=date(2024, 10, 20),
                             scope=[("6-18-01-01", "3"), ("6-18-01-01", "special")])
    session.commit()
    return {"A": a, "B": b}


_CHEAP_HASHES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Hash test passwords once, with few iterations: scrypt costs 0.1 s a call and the suite runs twice.

    Verification is real (werkzeug reads the method from the stored hash); a test that wants the
    production hashing puts ``werkzeug.security.generate_password_hash`` back with ``monkeypatch``.
    """
    from werkzeug.security import generate_password_hash

    from examsvc.accounts import service

    def cheap(password: str) -> str:
        if password not in _CHEAP_HASHES:
            _CHEAP_HASHES[password] = generate_password_hash(password, method="pbkdf2:sha256:1000")
        return _CHEAP_HASHES[password]

    monkeypatch.setattr(service, "generate_password_hash", cheap)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, unmigrated database of each kind (for migration and CLI tests)."""
    url, drop = new_database(request.param, tmp_path_factory)
    yield url
    drop()


def make_user(session, username: str, role: str, institution_id: int | None = None):
    from examsvc.accounts.service import create_user

    user = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[(role, institution_id)])
    session.commit()
    return user


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real form, CSRF token included."""
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_headers(client) -> dict[str, str]:
    """The CSRF header for a JSON or form POST in ``client``'s session (read from a rendered page)."""
    return {"X-CSRFToken": csrf_token_from(client.get("/login").get_data(as_text=True))}


def count_rows(session, model) -> int:
    from sqlalchemy import func, select

    return session.scalar(select(func.count()).select_from(model))


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _skip_message(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    # Under pytest-xdist the skips happen in the workers: the controller sees only their reports.
    reasons = list(_pg_skip_reason) + [
        message for report in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL is not reachable" in (message := _skip_message(report))]
    if reasons:
        terminalreporter.write_sep("!", "PostgreSQL runs skipped", yellow=True)
        terminalreporter.write_line(reasons[0].removeprefix("Skipped: "), yellow=True)
