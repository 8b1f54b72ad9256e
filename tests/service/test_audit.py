"""The audit trail: a SHA-256 chain that names the first modified, deleted or inserted event."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.audit.service import GENESIS_HASH, event_hash, record, verify_chain

T0 = datetime(2026, 5, 4, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def chain(session):
    """Five events, committed; returns the head hash an operator would have noted."""
    with clock.frozen(T0) as frozen:
        for n in range(1, 6):
            record(session, "system", f"test.event{n}", ("thing", n), {"n": n, "名称": "鉴定点", "ok": n % 2 == 0})
            frozen.advance(timedelta(seconds=1))
    session.commit()
    return verify_chain(session).head_hash


def tamper(session, sql: str, **params) -> None:
    session.execute(text(sql), params)
    session.commit()
    session.expunge_all()  # read the rows again, as a fresh process would


def test_events_are_chained_in_order_and_verify(session, chain):
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    assert events[1].occurred_at == T0 + timedelta(seconds=1)         # the server clock, to the microsecond
    report = verify_chain(session, expect_head=chain)
    assert report.ok and report.events == 5 and report.head_hash == events[-1].hash


def test_an_empty_trail_verifies(session):
    report = verify_chain(session)
    assert report.ok and report.events == 0 and report.head_hash == GENESIS_HASH


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "mallory"),
    ("action", "test.harmless"),
    ("details", '{"n": 30}'),
    ("subject_id", "99"),
    ("remote_addr", "198.51.100.66"),
    ("occurred_at", "2026-05-04 08:00:03"),
])
def test_a_modified_event_is_named(session, chain, column, value):
    tamper(session, f"UPDATE audit_events SET {column} = :value WHERE seq = 3", value=value)
    report = verify_chain(session)
    assert not report.ok and report.broken_seq == 3
    assert report.problem == "event 3 was changed after it was written"


def test_a_modified_event_with_its_hash_recomputed_breaks_the_next_link(session, chain):
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
    event.actor = "mallory"
    event.hash = event_hash(event.prev_hash, event)
    session.commit()
    session.expunge_all()
    report = verify_chain(session)
    assert report.broken_seq == 4 and report.problem == "event 4 does not link to event 3"


def test_a_deleted_event_is_named(session, chain):
    tamper(session, "DELETE FROM audit_events WHERE seq = 3")
    report = verify_chain(session)
    assert not report.ok and report.broken_seq == 4
    assert report.problem == "event 3 is missing: found seq 4 next"


def test_an_event_inserted_in_the_middle_is_found(session, chain):
    # Make room at seq 3 (in two steps: the unique index is checked row by row) ...
    tamper(session, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3")
    tamper(session, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    # ... and insert a forged event that links correctly to event 2 and hashes correctly.
    second = session.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
    forged = AuditEvent(seq=3, occurred_at=second.occurred_at, actor_id=None, actor="system",
                        action="test.forged", subject_type=None, subject_id=None, details={}, remote_addr=None,
                        prev_hash=second.hash)
    forged.hash = event_hash(second.hash, forged)
    session.add(forged)
    session.commit()
    session.expunge_all()
    report = verify_chain(session)
    assert not report.ok and report.broken_seq == 4 and report.problem == "event 4 does not link to event 3"


def test_an_event_inserted_at_the_end_with_a_naive_hash_is_found(session, chain):
    tamper(session, "INSERT INTO audit_events (seq, occurred_at, actor, action, details, prev_hash, hash) "
                    "VALUES (6, :at, 'system', 'test.forged', '{}', :prev, :hash)",
           at=T0.replace(tzinfo=None), prev=chain, hash="f" * 64)
    report = verify_chain(session)
    assert report.broken_seq == 6 and report.problem == "event 6 was changed after it was written"


def test_cut_off_or_appended_events_are_found_with_the_noted_head(session, chain):
    """Without a secret, a well-formed event appended at the end (or the end cut off) leaves a valid
    shorter or longer chain; the head hash that `examsvc audit verify` printed earlier exposes it."""
    record(session, "system", "test.appended", None, {})
    session.commit()
    assert verify_chain(session).ok
    appended = verify_chain(session, expect_head=chain)
    assert not appended.ok and "cut off" in appended.problem
    tamper(session, "DELETE FROM audit_events WHERE seq >= 5")
    assert verify_chain(session).ok
    assert not verify_chain(session, expect_head=chain).ok


def test_hashes_survive_the_round_trip_through_the_database(session):
    details = {"text": "四级/中级工 ✓ \"quoted\" \\ back", "nested": {"b": [1, 2.5, None, True], "a": {}},
               "big": 2**40, "float": 0.1, "empty": ""}
    with clock.frozen(datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        record(session, "system", "test.roundtrip", ("thing", "x" * 64), details)
    session.commit()
    session.expunge_all()
    assert verify_chain(session).ok
    assert session.scalars(select(AuditEvent)).one().details == details


def test_record_keeps_who_what_when_and_from_where(app, session, world):
    from tests.conftest import make_user

    user = make_user(session, "alice", "regulator")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}), clock.frozen(T0):
        event = record(session, user, "test.action", world["A"], {"why": "because"})
    session.commit()
    assert (event.actor_id, event.actor, event.action) == (user.id, "alice", "test.action")
    assert (event.subject_type, event.subject_id) == ("institutions", str(world["A"].id))
    assert event.occurred_at == T0 and event.remote_addr == "203.0.113.9"
    anonymous = record(session, None, "test.anonymous")
    assert (anonymous.actor_id, anonymous.actor, anonymous.remote_addr) == (None, "anonymous", None)


def test_concurrent_writers_never_fork_or_break_the_chain(app):
    """Workers append at once (gunicorn serves with several): every event lands, one chain."""
    sessionmaker = app.extensions["examsvc.sessionmaker"]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(name: str) -> None:
        session = sessionmaker()
        try:
            start.wait()
            for n in range(8):
                record(session, name, "test.concurrent", None, {"n": n})
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=writer, args=(f"worker{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    session = sessionmaker()
    report = verify_chain(session)
    session.close()
    assert report.ok and report.events == 32
