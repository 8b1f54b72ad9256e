"""How long a session's records are kept, and the one service that may delete them afterwards.

Each record class has its setting (``ARCHIVE_RETENTION_YEARS`` for electronic session records,
``ARCHIVE_PAPER_RETENTION_YEARS`` for paper records) and a legal minimum below which the setting is
refused (seed Art. 30: paper ≥ 3 years, electronic ≥ 5 years). Retention runs from the later of the
exam date and the results' confirmation (Beijing date). Nothing else in the service deletes a
session's candidates, attempts, answers or scores once results are confirmed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.delivery.models import Answer, Attempt
from examsvc.errors import ConfigError, Conflict
from examsvc.grading.models import ResultPublication
from examsvc.sessions.models import ExamSession

#: record class -> (setting, legal minimum in years)
RECORD_CLASSES: dict[str, tuple[str, int]] = {
    "electronic": ("ARCHIVE_RETENTION_YEARS", 5),
    "paper": ("ARCHIVE_PAPER_RETENTION_YEARS", 3),
}


def retention_years(record_class: str = "electronic") -> int:
    setting, minimum = RECORD_CLASSES[record_class]
    years = int(current_app.config[setting])
    if years < minimum:
        raise ConfigError(f"EXAMSVC_{setting}={years} is below the legal minimum of {minimum} years (seed Art. 30)")
    return years


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retention_start(session: Session, exam_session: ExamSession) -> date:
    confirmed = session.scalar(select(ResultPublication.confirmed_at)
                               .where(ResultPublication.session_id == exam_session.id))
    start = exam_session.exam_date
    if confirmed is not None:
        start = max(start, clock.local_time(confirmed).date())
    return start


def retention_end(session: Session, exam_session: ExamSession, record_class: str = "electronic") -> date:
    """The first day the session's records of ``record_class`` may be deleted."""
    return _add_years(retention_start(session, exam_session), retention_years(record_class))


def delete_session_records(session: Session, exam_session: ExamSession, actor: Any,
                           record_class: str = "electronic") -> dict[str, int]:
    """Delete the session's answer records (answers, attempts) once retention is over and an archive
    package has been exported; refuse before, naming the date. Scores, candidates and certificates
    stay: pass records and certificates point at them."""
    require_permission(actor, Permission.INSTITUTION_MANAGE, exam_session.institution_id)
    end = retention_end(session, exam_session, record_class)
    today = clock.local_time(clock.now()).date()
    if today < end:
        raise Conflict(f"考试 {exam_session.id} 的电子档案保管期至 {end.isoformat()} 前不得删除（第三十条）",
                       f"the records of session {exam_session.id} are kept until {end.isoformat()}: "
                       f"deletion is refused before then (seed Art. 30)", field="retention", code="archive.retained")
    exported = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "archive.export", AuditEvent.subject_type == "exam_sessions",
        AuditEvent.subject_id == str(exam_session.id)))
    if not exported:
        raise Conflict(f"考试 {exam_session.id} 尚未导出档案包，不得删除",
                       f"export the archive of session {exam_session.id} before deleting its records",
                       field="archive", code="archive.not_exported")
    attempt_ids = select(Attempt.id).where(Attempt.session_id == exam_session.id)
    answers = session.execute(delete(Answer).where(Answer.attempt_id.in_(attempt_ids))).rowcount
    attempts = session.execute(delete(Attempt).where(Attempt.session_id == exam_session.id)).rowcount
    counts = {"answers": answers, "attempts": attempts}
    record(session, actor, "archive.delete_records", exam_session,
           {"record_class": record_class, "retention_end": end.isoformat(), **counts})
    return counts
