"""The database layer: aware UTC times on both databases, and the one unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from examsvc.accounts.models import User
from examsvc.db import get_session, unit_of_work
from tests.conftest import count_rows


def _user(name: str, created_at: datetime) -> User:
    return User(username=name, display_name=name, password_hash="x", created_at=created_at)


def test_times_come_back_aware_and_in_utc(app):
    beijing = timezone(timedelta(hours=8))
    written = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=beijing)
    with app.app_context():
        with unit_of_work() as session:
            session.add(_user("timely", written))
    with app.app_context():
        stored = get_session().query(User).one().created_at
    assert stored == written
    assert stored.tzinfo == UTC and stored.hour == 1 and stored.microsecond == 123456


def test_a_naive_time_is_refused(session):
    session.add(_user("naive", datetime(2026, 3, 1, 9, 30)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
    session.rollback()


def test_unit_of_work_writes_all_or_nothing(app):
    with app.app_context():
        with pytest.raises(RuntimeError):
            with unit_of_work() as session:
                session.add(_user("first", datetime.now(UTC)))
                session.flush()  # written inside the transaction ...
                raise RuntimeError("... then the work fails")
        assert count_rows(get_session(), User) == 0
        with unit_of_work() as session:
            session.add(_user("second", datetime.now(UTC)))
    with app.app_context():
        assert [u.username for u in get_session().query(User)] == ["second"]
