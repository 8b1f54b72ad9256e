"""Database: the shared metadata, the engine per app, and the one unit-of-work helper.

Models of every area derive from :class:`Base`. The schema is created and changed only by Alembic
migrations (``examsvc db upgrade``). Service functions take a ``Session`` and never commit; the
caller (a route, a CLI command, a test) wraps them in :func:`unit_of_work`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Iterator

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from examsvc.errors import ConfigError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores no zone; PostgreSQL gets timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, connect_timeout: int = 5) -> Engine:
    """An engine for ``url`` with the per-dialect settings this service relies on."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        kwargs.update(pool_pre_ping=True, connect_args={"connect_timeout": connect_timeout})
    elif url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # a URL SQLAlchemy cannot parse or a driver it cannot load
        raise ConfigError(f"DATABASE_URL {url!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Fail with one clear message when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(f"cannot connect to the database {engine.url.render_as_string()}: {reason}") from None


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_CONNECT_TIMEOUT"])
    app.extensions["examsvc.engine"] = engine
    app.extensions["examsvc.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["examsvc.engine"]


def get_session() -> Session:
    """The session of the current app context (one per request or CLI command)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["examsvc.sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Commit what the block did, or roll all of it back: nothing is ever half-written."""
    session = get_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
