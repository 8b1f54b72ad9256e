"""Queueing, claiming and running background jobs.

A job is a row; a worker (``examsvc worker``, or the thread that ``examsvc demo``/``run`` start)
claims the oldest queued job with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
never run one job twice, runs its handler in its own unit of work, and records progress, the
result or the error. With ``JOBS_EAGER`` (tests) a job runs as soon as it is queued.
A job whose worker stopped sending heartbeats for ``JOBS_STALE_SECONDS`` is queued again.

Jobs are idempotent, so that a restart never repeats work: a claim is one conditional UPDATE
(two runners on SQLite cannot both take a job); a job that is done or failed is never claimed
again; work done outside the runner (the demo assembling inline) records its job done with
:func:`mark_done`; and a handler finds the result of an earlier run of its job (a worker that died
after committing the work but before recording the job done) and returns it instead of working
again (see ``papers.assemble`` and ``analysis.run``).
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.errors import NotFound, ServiceError
from examsvc.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[Session, dict[str, Any], "Progress"], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


#: Functions the job runners call on every pass, each in its own transaction (e.g. closing attempts
#: whose deadline passed while no browser was there).
PERIODIC: list[Callable[[Session], Any]] = []


def periodic(function: Callable[[Session], Any]) -> Callable[[Session], Any]:
    PERIODIC.append(function)
    return function


def run_periodic() -> None:
    maker = current_app.extensions["examsvc.sessionmaker"]
    for function in PERIODIC:
        with maker() as session:
            try:
                function(session)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("periodic task %s failed", function.__name__)


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``; it returns the JSON-able result."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


class Progress:
    """Handed to a handler: ``progress(0.4, "calibrating")`` records how far it is, in its own commit."""

    def __init__(self, job_id: int):
        self.job_id = job_id

    def __call__(self, fraction: float, note: str = "") -> None:
        from examsvc.db import engine

        with engine().begin() as connection:
            connection.execute(update(Job).where(Job.id == self.job_id).values(
                progress=max(0.0, min(1.0, fraction)), progress_note=note[:200], heartbeat_at=clock.now()))


def enqueue(session: Session, kind: str, params: dict[str, Any], actor: Any = None) -> Job:
    """Queue a job (committed with the caller's unit of work); eager mode runs it right after commit."""
    if kind not in HANDLERS:
        raise ServiceError(f"未知任务类型 {kind}", f"unknown job kind {kind!r}", field="kind")
    job = Job(kind=kind, params=params, status="queued", progress=0.0, progress_note="",
              created_by=getattr(actor, "id", None), created_at=clock.now())
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在", f"job {job_id} not found", field="job_id")
    return job


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next(session: Session, kinds: set[str] | None = None) -> Job | None:
    """Take the oldest runnable job (queued, or running with a stale heartbeat) for this worker."""
    stale = clock.now() - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    runnable = or_(Job.status == "queued", (Job.status == "running") & (Job.heartbeat_at < stale))
    query = select(Job).where(runnable).order_by(Job.id).limit(1)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.scalar(query)
    if job is None:
        return None
    # Take it only if it is still runnable: without row locks (SQLite) two runners may read the
    # same queued job, and only the first of their updates then matches.
    now = clock.now()
    taken = session.execute(
        update(Job).where(Job.id == job.id, runnable)
        .values(status="running", started_at=now, heartbeat_at=now, worker=_worker_name())
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if taken != 1:
        return claim_next(session, kinds)  # another runner took it first: look for the next one
    session.refresh(job)
    return job


def mark_done(session: Session, job_id: int | None, result: dict[str, Any]) -> bool:
    """Record a queued job done because its work was done outside the runner (in the caller's
    unit of work), so that no runner does it a second time. Returns whether the job was still
    queued; a job already running or finished is left to its runner."""
    if job_id is None:
        return False
    now = clock.now()
    return session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="done", result=result, progress=1.0, progress_note="", error=None, started_at=now,
                finished_at=now, heartbeat_at=now, worker=f"inline:{_worker_name()}")
        .execution_options(synchronize_session=False)).rowcount == 1


def run_job(job_id: int) -> None:
    """Run one claimed job in its own session; record the result or the error."""
    maker = current_app.extensions["examsvc.sessionmaker"]
    with maker() as session:
        job = session.get(Job, job_id)
        handler = HANDLERS.get(job.kind)
        try:
            if handler is None:
                raise ServiceError(f"未知任务类型 {job.kind}", f"unknown job kind {job.kind!r}")
            result = handler(session, dict(job.params), Progress(job.id))
            session.commit()
            outcome = {"status": "done", "result": result, "progress": 1.0, "error": None}
        except Exception as exc:  # the job fails, the worker lives on
            session.rollback()
            message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            log.error("job %s (%s) failed: %s", job_id, job.kind, traceback.format_exc())
            outcome = {"status": "failed", "result": None, "error": message}
        session.execute(update(Job).where(Job.id == job_id).values(finished_at=clock.now(), **outcome))
        session.commit()


def run_pending(kinds: set[str] | None = None, limit: int | None = None) -> int:
    """Claim and run jobs until none is left (or ``limit``); returns how many ran."""
    maker = current_app.extensions["examsvc.sessionmaker"]
    ran = 0
    while limit is None or ran < limit:
        with maker() as session:
            job = claim_next(session, kinds)
            job_id = job.id if job else None
        if job_id is None:
            return ran
        run_job(job_id)
        ran += 1
    return ran
