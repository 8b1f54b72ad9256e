"""Recording and verifying the audit trail (可追溯、可倒查).

Every event stores ``hash = sha256(prev_hash + canonical_json(event))`` where the canonical JSON
covers its sequence number, time, actor, action, subject, details and client address. Changing,
deleting or inserting a row breaks the chain at that row; :func:`verify_chain` names the first
broken event. Cutting events off the end leaves a valid shorter chain, so operators keep the head
hash that ``examsvc audit verify`` prints and pass it back as ``expect_head``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from typing import Any, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.auth import client_address

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x61756469  # "audi": serialises appends so the chain never forks


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "details": event.details,
        "remote_addr": event.remote_addr,
    }


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(_payload(event))).encode("utf-8")).hexdigest()


def _subject(subject: Any) -> tuple[str | None, str | None]:
    if subject is None:
        return None, None
    if isinstance(subject, tuple):
        kind, ident = subject
        return str(kind), None if ident is None else str(ident)
    table = getattr(subject, "__tablename__", type(subject).__name__)
    return table, str(getattr(subject, "id", None) or getattr(subject, "code", ""))


def record(session: Session, actor: Any, action: str, subject: Any = None,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's unit of work.

    ``actor`` is a user, a string such as ``"system"``, or None (anonymous); ``subject`` is a
    model instance or a ``(type, id)`` pair. Details must be JSON-serialisable; they are stored
    as canonical JSON so that the hash can be recomputed exactly.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # Take SQLite's write lock before reading the head: otherwise two workers read the same
        # head and the second append fails on the unique seq. A write that matches no row is
        # enough to hold the lock until commit.
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    subject_type, subject_id = _subject(subject)
    if actor is None:
        actor_id, actor_name = None, "anonymous"
    elif isinstance(actor, str):
        actor_id, actor_name = None, actor
    else:
        actor_id, actor_name = actor.id, actor.username
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        occurred_at=clock.now(),
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=json.loads(canonical_json(details or {})),
        remote_addr=client_address(),
    )
    event.prev_hash = last.hash if last else GENESIS_HASH
    event.hash = event_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(session: Session, expect_head: str | None = None, batch: int = 5000) -> ChainReport:
    """Walk the chain in sequence order and report the first event that does not fit."""
    rows: Iterable[AuditEvent] = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    ).scalars()
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    for event in rows:
        count += 1
        if event.seq != expected_seq:
            what = "missing" if event.seq > expected_seq else "out of order"
            return ChainReport(count, prev_hash, event.seq, event.id,
                               f"event {expected_seq} is {what}: found seq {event.seq} next")
        if event.prev_hash != prev_hash:
            return ChainReport(count, prev_hash, event.seq, event.id,
                               f"event {event.seq} does not link to event {event.seq - 1}")
        if event_hash(prev_hash, event) != event.hash:
            return ChainReport(count, prev_hash, event.seq, event.id,
                               f"event {event.seq} was changed after it was written")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    if expect_head is not None and expect_head != prev_hash:
        return ChainReport(count, prev_hash, None, None,
                           "the chain does not end at the expected head: events were cut off the end")
    return ChainReport(count, prev_hash)


def recent_events(session: Session, limit: int = 100, before_seq: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.execute(query).scalars())


