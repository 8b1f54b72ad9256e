"""The invigilator console (监考台): each room's roster with live status, and what invigilators do
in the room — check-in, pause and resume (one candidate or the whole room), extra time, terminate,
notes in the incident log (考场记录), and ending the session.

A panel session (skill, 综合评审) has venues and workstations instead of rooms and seats and no
browser exam: its console checks candidates in at the venue, records absences (a score of 0,
:func:`examsvc.grading.panel.mark_absent`) and incidents; pausing, extra time and terminating an
attempt do not apply (a safety breach is a veto the examiners record on the task).

Who may act is decided here, not by the pages: the institution's admins, or an invigilator
assigned to the session (and, for one room or candidate, to that room). Every action is audited;
the attempt rules themselves (deadlines, paused time, closing) are :mod:`examsvc.delivery.service`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.delivery import service as delivery
from examsvc.delivery.models import CLOSED_STATUSES, Answer, Attempt, AttemptStatus
from examsvc.errors import Conflict, ValidationFailed
from examsvc.grading.models import ComponentScore
from examsvc.papers.models import PaperItem
from examsvc.sessions.models import Candidate, ExamSession, Incident, SessionStatus
from examsvc.sessions.service import (
    find_candidate, get_room, is_panel_session, require_close_session, require_console,
)

#: Roster statuses, in the order a candidate passes through them.
STATUSES = ("not_signed_in", "checked_in", "in_progress", "paused", "submitted", "expired", "terminated", "absent")
ACTIONS = ("check_in", "pause", "resume", "extra_time", "terminate", "absent")
PANEL_ACTIONS = ("check_in", "absent")
MAX_NOTE = 2000


@dataclass(frozen=True)
class RosterRow:
    candidate_id: int
    name: str
    ticket_number: str
    seat: int | None
    id_masked: str
    exam_language: str
    status: str                      # one of STATUSES
    answered: int                    # items with a non-empty confirmed answer
    items: int                       # items on the candidate's paper (0 before the start)
    remaining_seconds: int | None    # None before the start
    last_activity_at: datetime | None
    checked_in_at: datetime | None
    extra_seconds: int
    closed_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"candidate_id": self.candidate_id, "name": self.name, "ticket_number": self.ticket_number,
                "seat": self.seat, "id_masked": self.id_masked, "exam_language": self.exam_language,
                "status": self.status, "answered": self.answered, "items": self.items,
                "remaining_seconds": self.remaining_seconds,
                "last_activity_at": self.last_activity_at.isoformat() if self.last_activity_at else None,
                "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
                "extra_seconds": self.extra_seconds, "closed_reason": self.closed_reason}


def roster_status(checked_in_at: datetime | None, attempt: Attempt | None, now: datetime, absent: bool = False) -> str:
    """A candidate's status as the room sees it; an attempt past its deadline shows as expired even
    before the sweep has closed it."""
    if absent:
        return "absent"
    if attempt is None:
        return "checked_in" if checked_in_at is not None else "not_signed_in"
    if attempt.status == AttemptStatus.IN_PROGRESS.value and now >= attempt.deadline_at:
        return AttemptStatus.EXPIRED.value
    return attempt.status


def roster(session: Session, exam_session: ExamSession, room_id: int, *, viewer: Any = None,
           now: datetime | None = None) -> list[RosterRow]:
    """The room's candidates by seat with their live status, in one query whatever the room's size.

    Answered counts are aggregated per attempt (GROUP BY) and paper lengths per paper, both joined
    to the candidates; nothing is loaded per candidate. With ``viewer``, refused unless they may
    run this room.
    """
    if viewer is not None:
        require_console(viewer, exam_session, room_id)
    get_room(exam_session, room_id)
    now = now or clock.now()
    answered = (select(Answer.attempt_id, func.count().label("n"))
                .where(func.json_array_length(Answer.response) > 0)
                .group_by(Answer.attempt_id).subquery())
    lengths = select(PaperItem.paper_id, func.count().label("n")).group_by(PaperItem.paper_id).subquery()
    absent = select(ComponentScore.candidate_id).where(ComponentScore.session_id == exam_session.id,
                                                       ComponentScore.method == "absent").subquery()
    attempt = aliased(Attempt)
    rows = session.execute(
        select(Candidate, attempt, func.coalesce(answered.c.n, 0), func.coalesce(lengths.c.n, 0),
               absent.c.candidate_id)
        .outerjoin(attempt, attempt.candidate_id == Candidate.id)
        .outerjoin(answered, answered.c.attempt_id == attempt.id)
        .outerjoin(lengths, lengths.c.paper_id == attempt.paper_id)
        .outerjoin(absent, absent.c.candidate_id == Candidate.id)
        .where(Candidate.session_id == exam_session.id, Candidate.room_id == room_id)
        .order_by(Candidate.seat, Candidate.id)).all()
    return [RosterRow(
        candidate_id=c.id, name=c.name, ticket_number=c.ticket_number, seat=c.seat, id_masked=c.id_masked,
        exam_language=c.exam_language, status=roster_status(c.checked_in_at, a, now, absent_id is not None),
        answered=int(n_answered),
        items=int(n_items), remaining_seconds=delivery.remaining_seconds(a, now) if a is not None else None,
        last_activity_at=(a.last_activity_at if a is not None else None) or c.checked_in_at,
        checked_in_at=c.checked_in_at, extra_seconds=a.extra_seconds if a is not None else 0,
        closed_reason=a.closed_reason if a is not None else None) for c, a, n_answered, n_items, absent_id in rows]


def status_counts(rows: list[RosterRow]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row.status] += 1
    return counts


def _require_open(exam_session: ExamSession) -> None:
    if exam_session.status != SessionStatus.OPEN.value:
        raise Conflict("场次未开考或已结束", "the session is not open", field="session", code="session_not_open")


def _attempt_of(session: Session, candidate: Candidate) -> Attempt:
    attempt = session.scalar(select(Attempt).where(Attempt.candidate_id == candidate.id))
    if attempt is None:
        raise Conflict("该考生尚未开始作答", "the candidate has not started the exam", field="candidate_id",
                       code="not_started")
    return attempt


def act(session: Session, exam_session: ExamSession, actor: Any, candidate_id: int, action: str, *,
        minutes: int | None = None, reason: str = "") -> Candidate:
    """One invigilator action on one candidate of the session: ``check_in``, ``pause``, ``resume``,
    ``extra_time`` (``minutes`` and a reason) or ``terminate`` (a reason); in a panel session only
    ``check_in`` and ``absent`` (a candidate not checked in, who then scores 0).

    A candidate of another session is not found; an invigilator of another room is refused.
    """
    require_console(actor, exam_session)
    if action not in ACTIONS:
        raise ValidationFailed(f"未知操作 {action}", f"unknown action {action!r}", field="action")
    candidate = find_candidate(session, exam_session.id, candidate_id)
    require_console(actor, exam_session, candidate.room_id)
    _require_open(exam_session)
    reason = (reason or "").strip()
    panel = is_panel_session(session, exam_session)
    if panel and action not in PANEL_ACTIONS:
        raise ValidationFailed("操作技能考核和综合评审没有机考作答，不能暂停、延时或终止；违规情况请记入考场记录，"
                               "安全否决由考评人员在评分时记录",
                               "a skill or review session has no exam in the browser to pause, extend or terminate: "
                               "note incidents in the log; examiners record safety vetoes when scoring",
                               field="action")
    if action == "absent":
        if not panel:
            raise ValidationFailed("理论知识场次的缺考在结束场次时按未作答统计",
                                   "absences of a theory session are counted when it ends", field="action")
        if candidate.checked_in_at is not None:
            raise Conflict("该考生已签到，不能登记缺考", "the candidate has checked in: not absent", field="candidate_id")
        from examsvc.grading.panel import mark_absent

        mark_absent(session, candidate, actor)
        _note(session, exam_session, candidate, actor, "absent", reason)
        return candidate
    if action == "check_in":
        if panel and _is_absent(session, candidate):
            raise Conflict("该考生已登记缺考", "the candidate is recorded absent", field="candidate_id")
        delivery.check_in(session, candidate, actor)
        return candidate
    attempt = _attempt_of(session, candidate)
    if action == "pause":
        delivery.pause(session, attempt, actor, reason)
    elif action == "resume":
        delivery.resume(session, attempt, actor, reason)
    elif action == "extra_time":
        if minutes is None:
            raise ValidationFailed("请填写延长的分钟数", "the extra minutes are required", field="minutes")
        delivery.grant_extra_time(session, attempt, actor, minutes, reason)
    else:
        delivery.terminate(session, attempt, actor, reason)
    return candidate


def _is_absent(session: Session, candidate: Candidate) -> bool:
    return session.scalar(select(ComponentScore.id).where(ComponentScore.candidate_id == candidate.id,
                                                          ComponentScore.method == "absent")) is not None


def _note(session: Session, exam_session: ExamSession, candidate: Candidate, actor: Any, kind: str, text: str) -> None:
    session.add(Incident(session_id=exam_session.id, room_id=candidate.room_id, candidate_id=candidate.id,
                         recorded_by=actor.id, recorded_at=clock.now(), kind=kind, text=text))
    session.flush()


def _room_attempts(session: Session, exam_session: ExamSession, room_id: int, status: str) -> list[Attempt]:
    return list(session.scalars(select(Attempt).join(Candidate, Candidate.id == Attempt.candidate_id).where(
        Candidate.session_id == exam_session.id, Candidate.room_id == room_id, Attempt.status == status)
        .order_by(Candidate.seat)))


def pause_room(session: Session, exam_session: ExamSession, room_id: int, actor: Any, reason: str = "") -> int:
    """Pause every attempt in progress in the room (e.g. a power cut); returns how many."""
    require_console(actor, exam_session, room_id)
    get_room(exam_session, room_id)
    _require_open(exam_session)
    paused = []
    for attempt in _room_attempts(session, exam_session, room_id, AttemptStatus.IN_PROGRESS.value):
        delivery.settle(session, attempt)
        if attempt.status == AttemptStatus.IN_PROGRESS.value:
            delivery.pause(session, attempt, actor, reason.strip())
            paused.append(attempt.id)
    record(session, actor, "session.pause_room", exam_session, {"room": room_id, "attempts": paused,
                                                                "reason": reason.strip()})
    return len(paused)


def resume_room(session: Session, exam_session: ExamSession, room_id: int, actor: Any, reason: str = "") -> int:
    """Resume every paused attempt in the room; each one's paused time is added to its deadline."""
    require_console(actor, exam_session, room_id)
    get_room(exam_session, room_id)
    _require_open(exam_session)
    resumed = []
    for attempt in _room_attempts(session, exam_session, room_id, AttemptStatus.PAUSED.value):
        delivery.resume(session, attempt, actor, reason.strip())
        resumed.append(attempt.id)
    record(session, actor, "session.resume_room", exam_session, {"room": room_id, "attempts": resumed,
                                                                 "reason": reason.strip()})
    return len(resumed)


def record_note(session: Session, exam_session: ExamSession, actor: Any, text: str, *, room_id: int | None = None,
                candidate_id: int | None = None) -> Incident:
    """A note in the incident log (考场记录), about the session, a room or one candidate."""
    require_console(actor, exam_session)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("记录内容不能为空", "the note is empty", field="text")
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"记录不超过{MAX_NOTE}字", f"a note has at most {MAX_NOTE} characters", field="text")
    candidate = find_candidate(session, exam_session.id, candidate_id) if candidate_id is not None else None
    if candidate is not None:
        room_id = candidate.room_id
    if room_id is not None:
        get_room(exam_session, room_id)
    require_console(actor, exam_session, room_id)
    incident = Incident(session_id=exam_session.id, room_id=room_id, candidate_id=candidate.id if candidate else None,
                        recorded_by=actor.id, recorded_at=clock.now(), kind="note", text=text)
    session.add(incident)
    session.flush()
    record(session, actor, "session.note", exam_session, {"incident": incident.id, "room": room_id,
                                                          "candidate": incident.candidate_id})
    return incident


@dataclass(frozen=True)
class LogEntry:
    incident: Incident
    recorded_by: str
    candidate_name: str | None
    ticket_number: str | None
    seat: int | None


def incident_log(session: Session, exam_session: ExamSession, room_id: int | None = None) -> list[LogEntry]:
    """The session's incident log, newest first; with ``room_id``, that room's entries and the
    session-wide ones."""
    query = (select(Incident, User.display_name, Candidate.name, Candidate.ticket_number, Candidate.seat)
             .join(User, User.id == Incident.recorded_by)
             .outerjoin(Candidate, Candidate.id == Incident.candidate_id)
             .where(Incident.session_id == exam_session.id)
             .order_by(Incident.recorded_at.desc(), Incident.id.desc()))
    if room_id is not None:
        query = query.where((Incident.room_id == room_id) | Incident.room_id.is_(None))
    return [LogEntry(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class CloseReport:
    submitted: int
    expired: int
    terminated: int
    closed_now: int      # attempts still running (or paused) that the close ended
    absent: int          # registered candidates who never started


def close_session(session: Session, exam_session: ExamSession, actor: Any) -> CloseReport:
    """End the session (结束): every attempt past its deadline is settled, every one still running or
    paused is closed now with its confirmed answers kept, and nobody can sign in any more. Only the
    institution's admins or an invigilator of every room may (:func:`require_close_session`)."""
    require_close_session(actor, exam_session)
    _require_open(exam_session)
    now = clock.now()
    closed_now = 0
    for attempt in session.scalars(select(Attempt).where(
            Attempt.session_id == exam_session.id,
            Attempt.status.in_([AttemptStatus.IN_PROGRESS.value, AttemptStatus.PAUSED.value]))):
        delivery.settle(session, attempt, now)
        if attempt.status in CLOSED_STATUSES:
            continue
        attempt.status = AttemptStatus.EXPIRED.value
        attempt.closed_at = now
        attempt.closed_reason = "session_closed"
        attempt.paused_at = None
        record(session, actor, "attempt.expire", attempt, {"reason": "session_closed"})
        closed_now += 1
    session.flush()
    by_status = dict(session.execute(select(Attempt.status, func.count()).where(
        Attempt.session_id == exam_session.id).group_by(Attempt.status)).all())
    registered = session.scalar(select(func.count()).select_from(Candidate).where(
        Candidate.session_id == exam_session.id)) or 0
    report = CloseReport(submitted=by_status.get(AttemptStatus.SUBMITTED.value, 0),
                         expired=by_status.get(AttemptStatus.EXPIRED.value, 0),
                         terminated=by_status.get(AttemptStatus.TERMINATED.value, 0), closed_now=closed_now,
                         absent=registered - sum(by_status.values()))
    exam_session.status = SessionStatus.CLOSED.value
    exam_session.closed_at = now
    text = (f"交卷{report.submitted}人，超时{report.expired}人（其中结束时收卷{closed_now}人），"
            f"终止{report.terminated}人，缺考{report.absent}人")
    if is_panel_session(session, exam_session):  # no attempts: who came is who checked in
        checked_in = session.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.session_id == exam_session.id, Candidate.checked_in_at.is_not(None))) or 0
        report = CloseReport(submitted=0, expired=0, terminated=0, closed_now=0, absent=registered - checked_in)
        text = f"签到参加考核{checked_in}人，缺考{report.absent}人"
    session.add(Incident(session_id=exam_session.id, room_id=None, candidate_id=None, recorded_by=actor.id,
                         recorded_at=now, kind="close", text=text))
    record(session, actor, "session.close", exam_session, report.__dict__)
    return report
