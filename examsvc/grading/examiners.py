"""Examiners (考评人员): their cards, declared conflicts, the chief examiner, and who may score whom.

Seed Art. 25: examiners hold a card (持证上岗) and work under commitment, recusal and rotation
(承诺制、回避制、轮换制); Art. 35: cards follow the regulator's rules. In practice a 考评员 card covers
levels 5-3 and a 高级考评员 card every level. :func:`eligibility` applies these rules, in a fixed
order, and names the first one that refuses, so a refusal always says which rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission
from examsvc.bank.models import ExamBlueprint
from examsvc.errors import ConfigError, Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.grading.models import ChiefExaminer, ConflictDeclaration, ExaminerCard
from examsvc.sessions.models import Candidate, ExamSession, StaffAssignment, StaffRole
from itembank.levels import Level, parse_level

GRADES = {"examiner": ("考评员", "Examiner"), "senior_examiner": ("高级考评员", "Senior examiner")}
#: The highest level rank each grade covers (rank: 五级 1 … 一级 5, 特级/首席技师 6-7).
GRADE_MAX_RANK = {"examiner": Level.L3.rank, "senior_examiner": Level.CHIEF.rank}
CONFLICT_KINDS = {"same_employer": ("同一单位", "Same employer"), "relative": ("亲属关系", "Relative"),
                  "own_student": ("本人学生", "Own student"), "other": ("其他利害关系", "Other interest")}
AGGREGATES = ("mean", "median")


def check_settings(config: Any) -> None:
    """Refuse at start-up a panel size that is not odd and at least 3, or an unknown aggregate."""
    per_task = config["EXAMINERS_PER_TASK"]
    if per_task < 3 or per_task % 2 == 0:
        raise ConfigError(f"setting EXAMINERS_PER_TASK must be odd and at least 3, got {per_task!r}")
    if config["EXAMINER_AGGREGATE"] not in AGGREGATES:
        raise ConfigError(f"setting EXAMINER_AGGREGATE must be mean or median, got {config['EXAMINER_AGGREGATE']!r}")
    if config["EXAMINER_SPREAD_MAX"] < 0:
        raise ConfigError(f"setting EXAMINER_SPREAD_MAX must not be negative, got {config['EXAMINER_SPREAD_MAX']!r}")
    if config["EXAMINER_ROTATION_MAX_SESSIONS"] < 1:
        raise ConfigError("setting EXAMINER_ROTATION_MAX_SESSIONS must be at least 1, "
                          f"got {config['EXAMINER_ROTATION_MAX_SESSIONS']!r}")


# --- cards ----------------------------------------------------------------------------------

def register_card(session: Session, *, holder: User, card_number: str, grade: str, valid_from: date,
                  valid_until: date, institution_id: int | None, jurisdiction: str = "", employer: str = "",
                  training_note: str = "", actor: Any) -> ExaminerCard:
    """Record a card of ``holder``; an institution records cards of its own examiners only."""
    number = "".join(card_number.split()).upper()
    if not re.fullmatch(r"[0-9A-Z-]{4,40}", number):
        raise ValidationFailed("证卡编号应为4-40位字母、数字或连字符", "a card number has 4-40 letters, digits or hyphens",
                               field="card_number")
    if grade not in GRADES:
        raise ValidationFailed("证卡等级应为考评员或高级考评员", "the grade is examiner or senior_examiner", field="grade")
    if valid_until < valid_from:
        raise ValidationFailed("有效期止应不早于起", "the card must end after it begins", field="valid_until")
    if institution_id is not None and not has_permission(holder, Permission.GRADING_SCORE, institution_id):
        raise ValidationFailed(f"{holder.display_name}不是本机构的考评人员",
                               f"{holder.username} holds no examiner role in this institution", field="user_id")
    employer, jurisdiction = " ".join(employer.split()), " ".join(jurisdiction.split())
    if len(employer) > 200 or len(jurisdiction) > 100:
        raise ValidationFailed("工作单位不超过200字，发证地区不超过100字",
                               "employer at most 200 and jurisdiction at most 100 characters",
                               field="employer" if len(employer) > 200 else "jurisdiction")
    if session.scalar(select(ExaminerCard.id).where(ExaminerCard.card_number == number)) is not None:
        raise Conflict(f"证卡编号 {number} 已登记", f"card {number} is already registered", field="card_number")
    card = ExaminerCard(user_id=holder.id, card_number=number, grade=grade, valid_from=valid_from,
                        valid_until=valid_until, institution_id=institution_id, jurisdiction=jurisdiction,
                        employer=employer, training_note=training_note.strip()[:2000], registered_by=actor.id,
                        registered_at=clock.now())
    session.add(card)
    session.flush()
    record(session, actor, "examiner.card_register", card, {"holder": holder.username, "grade": grade,
                                                            "valid_until": valid_until.isoformat()})
    return card


def cards_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[ExaminerCard]]:
    found: dict[int, list[ExaminerCard]] = {}
    for card in session.scalars(select(ExaminerCard).where(ExaminerCard.user_id.in_(list(user_ids)))
                                .order_by(ExaminerCard.valid_until)):
        found.setdefault(card.user_id, []).append(card)
    return found


# --- conflicts and chief ----------------------------------------------------------------------

def declare_conflict(session: Session, *, examiner: User, candidate: Candidate, kind: str, note: str,
                     actor: Any) -> ConflictDeclaration:
    """The examiner (or the institution for them) declares a conflict: they recuse from the candidate."""
    if kind not in CONFLICT_KINDS:
        raise ValidationFailed("回避类型应为同一单位、亲属、本人学生或其他", "kind is same_employer, relative, own_student or other",
                               field="kind")
    if kind == "other" and not note.strip():
        raise ValidationFailed("其他利害关系须说明", "describe an other interest", field="note")
    existing = session.scalar(select(ConflictDeclaration).where(ConflictDeclaration.examiner_id == examiner.id,
                                                                ConflictDeclaration.candidate_id == candidate.id))
    if existing is not None:
        raise Conflict("已申报回避", "a conflict is already declared", field="candidate_id")
    declaration = ConflictDeclaration(examiner_id=examiner.id, candidate_id=candidate.id, kind=kind,
                                      note=note.strip()[:2000], declared_by=actor.id, declared_at=clock.now())
    session.add(declaration)
    session.flush()
    record(session, actor, "examiner.conflict_declare", candidate, {"examiner": examiner.username, "kind": kind})
    return declaration


def chief_of(session: Session, exam_session: ExamSession) -> ChiefExaminer | None:
    return session.scalar(select(ChiefExaminer).where(ChiefExaminer.session_id == exam_session.id))


def designate_chief(session: Session, exam_session: ExamSession, user: User, actor: Any) -> ChiefExaminer:
    """Make ``user`` the session's chief examiner; they must stand as an examiner of it themselves."""
    standing(session, exam_session, user).raise_if_denied()
    chief = chief_of(session, exam_session)
    if chief is None:
        chief = ChiefExaminer(session_id=exam_session.id, user_id=user.id, designated_by=actor.id,
                              designated_at=clock.now())
        session.add(chief)
    else:
        chief.user_id, chief.designated_by, chief.designated_at = user.id, actor.id, clock.now()
    session.flush()
    record(session, actor, "examiner.chief_designate", exam_session, {"chief": user.username})
    return chief


# --- eligibility ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Eligibility:
    """Whether an examiner may score (a candidate of) a session; if not, the rule that refuses.

    ``code`` is one of ``ok``, ``no_card``, ``card_expired``, ``grade``, ``not_assigned``,
    ``not_chief``, ``conflict``, ``same_employer``, ``rotation``.
    """

    allowed: bool
    code: str = "ok"
    reason: str = ""
    reason_en: str = ""
    card: ExaminerCard | None = None
    employers: tuple[str, ...] = ()   # normalised employers the examiner declared on any card

    def __bool__(self) -> bool:
        return self.allowed

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise Forbidden(self.reason, self.reason_en, field="examiner", code=f"examiner.{self.code}")


def _refuse(code: str, reason: str, reason_en: str) -> Eligibility:
    return Eligibility(False, code, reason, reason_en)


def normalised_employer(name: str) -> str:
    """An employer name for comparison: width, case, spaces and punctuation folded away."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def standing(session: Session, exam_session: ExamSession, user: User, *, as_chief: bool = False) -> Eligibility:
    """The rules that do not depend on the candidate: card, grade, assignment, rotation."""
    level = parse_level(session.get(ExamBlueprint, exam_session.blueprint_id).level)
    on = exam_session.exam_date
    cards = cards_of(session, [user.id]).get(user.id, [])
    if not cards:
        return _refuse("no_card", f"{user.display_name}没有考评员证卡（持证上岗，第二十五条）",
                       f"{user.username} holds no examiner card (Art. 25)")
    valid = [c for c in cards if c.valid_from <= on <= c.valid_until]
    if not valid:
        return _refuse("card_expired", f"{user.display_name}的考评员证卡在考试日期{on}无效（已过期或未生效）",
                       f"{user.username}'s examiner card is not valid on the exam date {on} (expired or not yet valid)")
    covering = [c for c in valid if GRADE_MAX_RANK[c.grade] >= level.rank]
    if not covering:
        return _refuse("grade", f"考评员证卡只能考评五级至三级；{level.name_zh}须由高级考评员考评",
                       f"an examiner card covers levels 5-3; {level.name_en} needs a senior examiner")
    card = max(covering, key=lambda c: c.valid_until)
    assigned = session.scalar(select(StaffAssignment.id).where(
        StaffAssignment.session_id == exam_session.id, StaffAssignment.user_id == user.id,
        StaffAssignment.role == StaffRole.EXAMINER.value)) is not None
    if not assigned:
        return _refuse("not_assigned", f"{user.display_name}未被安排为本场次考评人员",
                       f"{user.username} is not assigned as an examiner of this session")
    if as_chief:
        chief = chief_of(session, exam_session)
        if chief is None or chief.user_id != user.id:
            return _refuse("not_chief", f"{user.display_name}不是本场次的考评组长",
                           f"{user.username} is not the chief examiner of this session")
    rank = _rotation_rank(session, exam_session, user)
    limit = current_app.config["EXAMINER_ROTATION_MAX_SESSIONS"]
    if rank > limit:
        return _refuse("rotation", f"轮换制：{user.display_name}本年度在本机构已考评{limit}个场次，本场次是第{rank}个",
                       f"rotation: {user.username} already examines {limit} sessions of this institution this year; "
                       f"this is number {rank}")
    employers = tuple(sorted({normalised_employer(c.employer) for c in cards} - {""}))
    return Eligibility(True, card=card, employers=employers)


def _rotation_rank(session: Session, exam_session: ExamSession, user: User) -> int:
    """This session's place among the user's examiner sessions at the institution in its calendar year."""
    year = exam_session.exam_date.year
    earlier = session.scalar(
        select(func.count(func.distinct(ExamSession.id)))
        .join(StaffAssignment, StaffAssignment.session_id == ExamSession.id)
        .where(StaffAssignment.user_id == user.id, StaffAssignment.role == StaffRole.EXAMINER.value,
               ExamSession.institution_id == exam_session.institution_id,
               ExamSession.exam_date >= date(year, 1, 1), ExamSession.exam_date <= date(year, 12, 31),
               (ExamSession.exam_date < exam_session.exam_date)
               | ((ExamSession.exam_date == exam_session.exam_date) & (ExamSession.id < exam_session.id))))
    return (earlier or 0) + 1


def candidate_rules(standing_: Eligibility, candidate: Candidate, user: User,
                    declared: set[tuple[int, int]]) -> Eligibility:
    """Recusal (回避): a declared conflict, or the same employer on the card and the registration."""
    if not standing_:
        return standing_
    if (user.id, candidate.id) in declared:
        return _refuse("conflict", f"{user.display_name}已申报与考生{candidate.name}回避",
                       f"{user.username} declared a conflict with candidate {candidate.ticket_number}")
    if normalised_employer(candidate.employer) in standing_.employers:
        return _refuse("same_employer", f"回避制：{user.display_name}与考生{candidate.name}为同一工作单位",
                       f"recusal: {user.username} and candidate {candidate.ticket_number} have the same employer")
    return standing_


def declared_conflicts(session: Session, candidate_ids: Iterable[int]) -> set[tuple[int, int]]:
    return {(examiner_id, candidate_id) for examiner_id, candidate_id in session.execute(
        select(ConflictDeclaration.examiner_id, ConflictDeclaration.candidate_id)
        .where(ConflictDeclaration.candidate_id.in_(list(candidate_ids))))}


def eligibility(session: Session, exam_session: ExamSession, candidate: Candidate, user: User, *,
                as_chief: bool = False) -> Eligibility:
    """Whether ``user`` may score (or, ``as_chief``, resolve) ``candidate``; else the first rule that refuses."""
    if candidate.session_id != exam_session.id:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    return candidate_rules(standing(session, exam_session, user, as_chief=as_chief), candidate, user,
                           declared_conflicts(session, [candidate.id]))


def examiner_sessions(session: Session, user: User) -> list[ExamSession]:
    """Sessions the user is assigned to as examiner or chief, newest first."""
    assigned = select(StaffAssignment.session_id).where(StaffAssignment.user_id == user.id,
                                                        StaffAssignment.role == StaffRole.EXAMINER.value)
    chief = select(ChiefExaminer.session_id).where(ChiefExaminer.user_id == user.id)
    return list(session.scalars(select(ExamSession).where(ExamSession.id.in_(assigned) | ExamSession.id.in_(chief))
                                .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc())))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", "user not found", field="user_id")
    return user
