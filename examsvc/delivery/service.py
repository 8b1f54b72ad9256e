"""The exam room's rules: signing in, the attempt and its server-side clock, saving answers,
submitting, and what invigilators may do.

Time: an attempt's ``deadline_at`` is the server's; extra time and pauses move it. Past it, the
attempt is closed (by :func:`close_expired`, or the next time anyone touches it) with every
confirmed answer kept. Answers: each save carries the attempt's sequence number; the server keeps
the highest, so a stale tab or a retried request never overwrites a newer answer, and a repeated
save is acknowledged without change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash

from examsvc import clock
from examsvc.audit.service import record
from examsvc.delivery.models import CLOSED_STATUSES, Answer, Attempt, AttemptStatus
from examsvc.delivery.paper_text import item_types
from examsvc.jobs.service import periodic
from examsvc.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.papers.models import PaperItem
from examsvc.protect import id_digest
from examsvc.sessions.models import Candidate, ExamSession, Incident, SessionPaper, SessionStatus
from examsvc.sessions.service import is_panel_session, normalise_identity
from itembank.scoring import to_mask


class AttemptClosed(ServiceError):
    status = 409
    code = "attempt_closed"


class AttemptPaused(ServiceError):
    status = 423
    code = "attempt_paused"


class StaleSave(ServiceError):
    status = 409
    code = "stale"


# --- signing in -----------------------------------------------------------------------------

def sign_in(session: Session, *, ticket_number: str, id_number: str = "", password: str = "") -> Candidate:
    """A candidate signs in with the admission ticket number and the ID number (or exam password).

    Only while the session is open, inside its start window (an attempt already started may be
    resumed later), and after check-in (automatic when the session allows it).
    """
    ticket_number = "".join(ticket_number.split())
    candidate = session.scalar(select(Candidate).where(Candidate.ticket_number == ticket_number))
    refused = Forbidden("准考证号或证件号码不正确", "wrong ticket number or ID number", field="ticket_number",
                        code="sign_in_failed").with_status(401)
    if candidate is None:
        raise refused
    if password:
        if not candidate.password_hash or not check_password_hash(candidate.password_hash, password):
            raise refused
    else:
        try:
            normalised = normalise_identity(candidate.id_type, id_number)
        except ValidationFailed:
            raise refused from None
        if id_digest(normalised) != candidate.id_digest:
            raise refused
    exam_session = session.get(ExamSession, candidate.session_id)
    refuse_panel_session(session, exam_session)
    now = clock.now()
    attempt = session.scalar(select(Attempt).where(Attempt.candidate_id == candidate.id))
    if exam_session.status != SessionStatus.OPEN.value:
        raise Forbidden("本场次未开考或已结束", "the session is not open", field="session", code="session_not_open")
    if attempt is None and not exam_session.window_start <= now <= exam_session.window_end:
        raise Forbidden("不在入场时间内", "outside the session's start window", field="session", code="outside_window")
    if candidate.checked_in_at is None:
        if not exam_session.auto_check_in:
            raise Forbidden("请先由监考人员核验身份并签到", "an invigilator must check you in first",
                            field="check_in", code="not_checked_in")
        candidate.checked_in_at = now
    record(session, f"candidate:{candidate.ticket_number}", "candidate.sign_in", candidate, {})
    return candidate


def refuse_panel_session(session: Session, exam_session: ExamSession) -> None:
    """A skill or 综合评审 session has no browser exam: its candidates work at their workstation (or
    defend before the panel) and examiners score them on site."""
    if is_panel_session(session, exam_session):
        raise Forbidden("本场次为操作技能考核或综合评审，不在考试系统中作答：请按准考证到考核场地报到，"
                        "由考评人员现场考核评分",
                        "this is a skill or review session with no exam in the browser: report to the venue on "
                        "your admission ticket; the examiners score you on site",
                        field="ticket_number", code="panel_session")


def check_in(session: Session, candidate: Candidate, invigilator: Any) -> Candidate:
    if candidate.checked_in_at is not None:
        return candidate
    candidate.checked_in_at = clock.now()
    _incident(session, candidate, invigilator, "check_in", "")
    record(session, invigilator, "candidate.check_in", candidate, {})
    return candidate


# --- the attempt ----------------------------------------------------------------------------

def start_or_resume(session: Session, candidate: Candidate) -> Attempt:
    """The candidate's one attempt: created at the first start with its form and shuffle, later resumed."""
    attempt = session.scalar(select(Attempt).where(Attempt.candidate_id == candidate.id))
    if attempt is not None:
        settle(session, attempt)
        return attempt
    exam_session = session.get(ExamSession, candidate.session_id)
    refuse_panel_session(session, exam_session)
    paper_ids = list(session.scalars(select(SessionPaper.paper_id).where(SessionPaper.session_id == exam_session.id)
                                     .order_by(SessionPaper.id)))
    # Forms rotate across seats, so neighbours (seat n and n+1) hold different forms.
    paper_id = paper_ids[((candidate.seat or candidate.id) - 1) % len(paper_ids)]
    seed = random.SystemRandom().randrange(2**31)
    item_order, option_orders = shuffle(session.execute(
        select(PaperItem.position, PaperItem.item_type).where(PaperItem.paper_id == paper_id)).all(), seed)
    now = clock.now()
    attempt = Attempt(candidate_id=candidate.id, session_id=exam_session.id, paper_id=paper_id,
                      language=candidate.exam_language, status=AttemptStatus.IN_PROGRESS.value, started_at=now,
                      deadline_at=now + timedelta(minutes=exam_session.duration_minutes), shuffle_seed=seed,
                      item_order=item_order, option_orders=option_orders, last_activity_at=now)
    session.add(attempt)
    session.flush()
    record(session, f"candidate:{candidate.ticket_number}", "attempt.start", attempt,
           {"paper": paper_id, "seed": seed, "deadline": attempt.deadline_at.isoformat()})
    return attempt


_SECTION = {"true_false": 0, "single_choice": 1, "multiple_choice": 2}


def shuffle(items: Any, seed: int) -> tuple[list[int], dict[str, list[str]]]:
    """Items shuffled within their section and options within their item, reproducibly from ``seed``.

    ``items`` are a paper's ``(position, item_type)`` pairs (or its :class:`PaperItem` rows).
    """
    pairs = sorted((item[0], item[1]) if isinstance(item, tuple) or hasattr(item, "_mapping")
                   else (item.position, item.item_type) for item in items)
    rng = random.Random(seed)
    sections: dict[int, list[int]] = {}
    for position, item_type in pairs:
        sections.setdefault(_SECTION.get(item_type, 9), []).append(position)
    order: list[int] = []
    for key in sorted(sections):
        positions = sections[key]
        rng.shuffle(positions)
        order.extend(positions)
    options: dict[str, list[str]] = {}
    for position, item_type in pairs:
        if item_type in ("single_choice", "multiple_choice"):
            letters = list("ABCD" if item_type == "single_choice" else "ABCDE")
            rng.shuffle(letters)
            options[str(position)] = letters
    return order, options


def remaining_seconds(attempt: Attempt, now: datetime | None = None) -> int:
    now = now or clock.now()
    if attempt.status in CLOSED_STATUSES:
        return 0
    reference = attempt.paused_at if attempt.status == AttemptStatus.PAUSED.value else now
    return max(0, int((attempt.deadline_at - reference).total_seconds()))


def settle(session: Session, attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Close an attempt whose deadline has passed (it keeps every confirmed answer)."""
    now = now or clock.now()
    if attempt.status == AttemptStatus.IN_PROGRESS.value and now >= attempt.deadline_at:
        attempt.status = AttemptStatus.EXPIRED.value
        attempt.closed_at = attempt.deadline_at
        attempt.closed_reason = "deadline"
        seal(session, attempt)
        record(session, "system", "attempt.expire", attempt, {"deadline": attempt.deadline_at.isoformat()})
    return attempt


def seal(session: Session, attempt: Attempt) -> None:
    """Write the closed attempt's answers as one byte per paper position (for fast scoring)."""
    positions = session.scalar(select(func.max(PaperItem.position)).where(PaperItem.paper_id == attempt.paper_id)) or 0
    masks = bytearray(positions)
    for position, mask in session.execute(select(Answer.position, Answer.mask).where(Answer.attempt_id == attempt.id)):
        masks[position - 1] = mask
    attempt.response_masks = bytes(masks)


@periodic
def close_expired(session: Session, now: datetime | None = None) -> int:
    """Close every attempt past its deadline, browser or not; run by the job runner's sweep."""
    now = now or clock.now()
    due = session.scalars(select(Attempt).where(Attempt.status == AttemptStatus.IN_PROGRESS.value,
                                                Attempt.deadline_at <= now)).all()
    for attempt in due:
        settle(session, attempt, now)
    return len(due)


# --- answers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaveResult:
    outcome: str        # "saved" | "duplicate"
    position: int
    seq: int
    remaining_seconds: int


def _validate_response(item_type: str, response: Any, letters: list[str] | None) -> list[str]:
    if not isinstance(response, list) or not all(isinstance(x, str) for x in response):
        raise ValidationFailed("答案格式不正确", "response must be a list of option letters", field="response")
    chosen = sorted(set(response))
    if len(chosen) != len(response):
        raise ValidationFailed("答案中有重复选项", "an option is repeated", field="response")
    if item_type == "true_false":
        if chosen not in ([], ["F"], ["T"]):
            raise ValidationFailed("判断题答案应为对或错", "a true/false answer is T or F", field="response")
    elif item_type == "single_choice":
        if len(chosen) > 1 or not set(chosen) <= set(letters or ()):
            raise ValidationFailed("单选题只能选一个选项", "a single-choice answer is one of its options",
                                   field="response")
    elif item_type == "multiple_choice":
        if not set(chosen) <= set(letters or ()):
            raise ValidationFailed("所选选项不存在", "an answer letter is not an option", field="response")
    else:
        raise ValidationFailed("该题型不在机考中作答", "this item type is not answered on screen", field="position")
    return chosen


_ANSWERS = Answer.__table__
_ATTEMPTS = Attempt.__table__
# A save is the platform's most frequent request, so its statements are built once (SQLAlchemy
# caches their compiled form; building them per request cost more than running them).
_SAVE_TARGET = (select(_ATTEMPTS.c.id, _ATTEMPTS.c.paper_id, _ATTEMPTS.c.status, _ATTEMPTS.c.deadline_at,
                       _ATTEMPTS.c.paused_at, _ATTEMPTS.c.option_orders)
                .where(_ATTEMPTS.c.candidate_id == bindparam("candidate_id"))
                # Locks the attempt row: a pause, extra time or the deadline sweep waits for the
                # save (and the save sees theirs), so the checks below hold until it commits.
                .with_for_update(key_share=True))
_STORED = select(_ANSWERS.c.seq, _ANSWERS.c.response, _ANSWERS.c.flagged).where(
    _ANSWERS.c.attempt_id == bindparam("attempt_id"), _ANSWERS.c.position == bindparam("position"))
_TOUCH = (update(_ATTEMPTS).where(_ATTEMPTS.c.id == bindparam("attempt_id"))
          .values(last_activity_at=bindparam("now"),
                  last_seq=case((_ATTEMPTS.c.last_seq < bindparam("seq"), bindparam("seq")),
                                else_=_ATTEMPTS.c.last_seq)))


def _keep_highest(insert: Any) -> Any:
    statement = insert(_ANSWERS)
    return statement.on_conflict_do_update(
        index_elements=["attempt_id", "position"],
        set_={name: statement.excluded[name] for name in ("response", "mask", "flagged", "seq", "saved_at")},
        where=_ANSWERS.c.seq < statement.excluded.seq,
    ).returning(_ANSWERS.c.seq)


_UPSERT = {"postgresql": _keep_highest(pg_insert), "sqlite": _keep_highest(sqlite_insert)}


def save_answer(session: Session, candidate_id: int, *, position: int, response: Any, flagged: bool,
                seq: int) -> SaveResult:
    """Keep this answer of the candidate's attempt if its sequence number is the highest seen for the position.

    A retried save (same sequence and content) is acknowledged again; an older one is refused as
    stale; any save after the deadline, while paused, or after the attempt closed is refused.
    """
    now = clock.now()
    connection = session.connection()
    target = connection.execute(_SAVE_TARGET, {"candidate_id": candidate_id}).first()
    if target is None:
        raise ValidationFailed("考试尚未开始", "the exam has not started", field="attempt", code="not_started")
    # Past the deadline the attempt is over even before the sweep (or the next page load) closes it.
    if target.status in CLOSED_STATUSES or (target.status == AttemptStatus.IN_PROGRESS.value
                                            and now >= target.deadline_at):
        raise AttemptClosed("考试已结束，答案未保存", "the exam is over; the answer was not saved", field="attempt")
    if target.status == AttemptStatus.PAUSED.value:
        raise AttemptPaused("考试已暂停，请等待监考人员恢复", "the exam is paused by an invigilator", field="attempt")
    types = item_types(session, target.paper_id)
    if position not in types:
        raise ValidationFailed("该题不在您的试卷中", "no such item in your paper", field="position")
    if not isinstance(seq, int) or seq < 1:
        raise ValidationFailed("序号无效", "seq must be a positive integer", field="seq")
    chosen = _validate_response(types[position], response, target.option_orders.get(str(position)))
    values = {"attempt_id": target.id, "position": position, "response": chosen, "mask": to_mask(chosen),
              "flagged": bool(flagged), "seq": seq, "saved_at": now}
    written = connection.execute(_UPSERT[connection.dialect.name], values).first()
    if written is None:  # a save with this or a higher sequence number is already kept
        stored = connection.execute(_STORED, values).one()
        if stored.seq == seq and list(stored.response) == chosen and stored.flagged == bool(flagged):
            return SaveResult("duplicate", position, seq, remaining_seconds(target, now))
        raise StaleSave("另一个页面已保存了更新的答案，请刷新", "a newer answer was saved from another page; reload",
                        field="seq")
    connection.execute(_TOUCH, {"attempt_id": target.id, "now": now, "seq": seq})
    loaded = session.identity_map.get(identity_key(Attempt, target.id))
    if loaded is not None:  # the statements bypassed the ORM: a loaded attempt reloads what they changed
        session.expire(loaded, ["last_seq", "last_activity_at", "answers"])
    return SaveResult("saved", position, seq, remaining_seconds(target, now))


def submit(session: Session, attempt: Attempt) -> Attempt:
    """Hand in (idempotent): a second submit, or one after the deadline closed it, changes nothing."""
    settle(session, attempt)
    if attempt.status == AttemptStatus.PAUSED.value:
        raise AttemptPaused("考试已暂停，不能交卷", "the exam is paused; it cannot be submitted now", field="attempt")
    if attempt.status in CLOSED_STATUSES:
        return attempt
    attempt.status = AttemptStatus.SUBMITTED.value
    attempt.closed_at = clock.now()
    attempt.closed_reason = "submitted"
    seal(session, attempt)
    record(session, "candidate", "attempt.submit", attempt, {"answers": len(attempt.answers)})
    return attempt


# --- invigilators ---------------------------------------------------------------------------

def _incident(session: Session, candidate: Candidate, actor: Any, kind: str, text: str) -> None:
    session.add(Incident(session_id=candidate.session_id, room_id=candidate.room_id, candidate_id=candidate.id,
                         recorded_by=actor.id, recorded_at=clock.now(), kind=kind, text=text[:2000]))


def _candidate(session: Session, attempt: Attempt) -> Candidate:
    return session.get(Candidate, attempt.candidate_id)


def pause(session: Session, attempt: Attempt, actor: Any, reason: str) -> Attempt:
    settle(session, attempt)
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise Conflict("只能暂停进行中的考试", "only an attempt in progress can be paused", field="attempt")
    attempt.status = AttemptStatus.PAUSED.value
    attempt.paused_at = clock.now()
    _incident(session, _candidate(session, attempt), actor, "pause", reason)
    record(session, actor, "attempt.pause", attempt, {"reason": reason})
    return attempt


def resume(session: Session, attempt: Attempt, actor: Any, reason: str = "") -> Attempt:
    """Resume a paused attempt; the paused time is added to its deadline (it does not count)."""
    if attempt.status != AttemptStatus.PAUSED.value:
        raise Conflict("该考试未暂停", "the attempt is not paused", field="attempt")
    paused_for = clock.now() - attempt.paused_at
    attempt.deadline_at = attempt.deadline_at + paused_for
    attempt.status = AttemptStatus.IN_PROGRESS.value
    attempt.paused_at = None
    _incident(session, _candidate(session, attempt), actor, "resume", reason)
    record(session, actor, "attempt.resume", attempt, {"paused_seconds": int(paused_for.total_seconds()),
                                                       "deadline": attempt.deadline_at.isoformat()})
    return attempt


def grant_extra_time(session: Session, attempt: Attempt, actor: Any, minutes: int, reason: str) -> Attempt:
    if not isinstance(minutes, int) or not 1 <= minutes <= 120:
        raise ValidationFailed("延长时间应为1-120分钟", "extra time must be 1-120 minutes", field="minutes")
    if not reason.strip():
        raise ValidationFailed("须说明延长理由", "a reason is required", field="reason")
    settle(session, attempt)
    if attempt.status in CLOSED_STATUSES:
        raise Conflict("考试已结束，不能延长", "the attempt is closed", field="attempt")
    attempt.deadline_at = attempt.deadline_at + timedelta(minutes=minutes)
    attempt.extra_seconds += minutes * 60
    _incident(session, _candidate(session, attempt), actor, "extra_time", f"+{minutes} min: {reason}")
    record(session, actor, "attempt.extra_time", attempt, {"minutes": minutes, "reason": reason,
                                                           "deadline": attempt.deadline_at.isoformat()})
    return attempt


def terminate(session: Session, attempt: Attempt, actor: Any, reason: str) -> Attempt:
    """End an attempt for a violation; the confirmed answers are kept as evidence."""
    if not reason.strip():
        raise ValidationFailed("须说明终止理由", "a reason is required", field="reason")
    settle(session, attempt)
    if attempt.status in CLOSED_STATUSES:
        raise Conflict("考试已结束", "the attempt is already closed", field="attempt")
    attempt.status = AttemptStatus.TERMINATED.value
    attempt.closed_at = clock.now()
    attempt.closed_reason = reason.strip()[:500]
    seal(session, attempt)
    _incident(session, _candidate(session, attempt), actor, "terminate", reason)
    record(session, actor, "attempt.terminate", attempt, {"reason": reason})
    return attempt


def get_attempt(session: Session, attempt_id: int) -> Attempt:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("考试记录不存在", "attempt not found", field="attempt_id")
    return attempt
