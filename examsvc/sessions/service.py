"""Exam session rules: planning within the filed scope and place, staffing, candidates, seats, opening.

Numbers from the domain (invigilators per room and per candidates) are settings with the
documented defaults; a session cannot open while any rule is broken, and :func:`readiness`
says which. A session is held in one league/city (盟市): a league/city institution's own, or one where
a region-level institution has an approved site filing (站点备案, seed Art. 12) — checked when the
session is planned and again when it opens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Iterator

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission, require_permission
from examsvc.bank.models import ExamBlueprint, ItemVersion
from examsvc.bank.service import blueprint_of
from examsvc.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.institutions.filing import may_work_in
from examsvc.institutions.models import Institution, Tier
from examsvc.institutions.regions import LEAGUES_AND_CITIES
from examsvc.institutions.service import can_certify
from examsvc.papers.models import Paper, PaperItem, PaperStatus
from examsvc.protect import id_digest, protect_id
from examsvc.sessions.models import (
    Candidate, ExamSession, SessionPaper, SessionRoom, SessionStatus, StaffAssignment, StaffRole,
)
from itembank.errors import InvalidValue
from itembank.identifiers import normalise_resident_id, validate_resident_id

LANGUAGES = {"zh": ("中文", "Chinese"), "mn": ("蒙古文", "Mongolian")}
ID_TYPES = {"resident_id": ("居民身份证", "Resident identity card"), "passport": ("护照", "Passport"),
            "other": ("其他证件", "Other document")}
STAFF_PERMISSION = {StaffRole.INVIGILATOR: Permission.SESSION_INVIGILATE, StaffRole.EXAMINER: Permission.GRADING_SCORE,
                    StaffRole.INTERNAL_SUPERVISOR: Permission.SESSION_SUPERVISE}


def get_session_row(session: Session, session_id: int) -> ExamSession:
    row = session.get(ExamSession, session_id)
    if row is None:
        raise NotFound(f"认定场次 {session_id} 不存在", f"exam session {session_id} not found", field="session_id")
    return row


# --- who may do what with a session ---------------------------------------------------------

def require_view(user: Any, exam_session: ExamSession) -> None:
    """Read a session: staff of its institution and regulators (INSTITUTION_VIEW there)."""
    require_permission(user, Permission.INSTITUTION_VIEW, exam_session.institution_id)


def require_manage(user: Any, exam_session: ExamSession) -> None:
    """Plan, staff, register candidates: the admins of the session's institution."""
    require_permission(user, Permission.INSTITUTION_MANAGE, exam_session.institution_id)


def require_assigned(user: Any, exam_session: ExamSession, role: str | StaffRole,
                     room_id: int | None = None) -> list[StaffAssignment]:
    """The user's assignments in ``role`` to this session, or :class:`Forbidden`.

    Staff act only in sessions they are assigned to (StaffAssignment), with the role's permission
    in the session's institution; an invigilator, given ``room_id``, only in a room of theirs.
    """
    parsed = StaffRole(role)
    require_permission(user, STAFF_PERMISSION[parsed], exam_session.institution_id)
    mine = [s for s in exam_session.staff if s.user_id == user.id and s.role == parsed.value]
    if not mine:
        raise Forbidden("您未被安排在本场次担任此岗位", "you are not assigned to this session in this role",
                        field="session", code="not_assigned")
    if room_id is not None and parsed is StaffRole.INVIGILATOR and room_id not in {s.room_id for s in mine}:
        raise Forbidden("您未被安排在该考场监考", "you are not assigned to invigilate this room", field="room_id",
                        code="not_assigned")
    return mine


def require_console(user: Any, exam_session: ExamSession, room_id: int | None = None) -> None:
    """Run the exam room: the institution's admins, or an invigilator assigned to the session (and room)."""
    if has_permission(user, Permission.INSTITUTION_MANAGE, exam_session.institution_id):
        return
    require_assigned(user, exam_session, StaffRole.INVIGILATOR, room_id)


def may_close_session(user: Any, exam_session: ExamSession) -> bool:
    """Whether ``user`` may end the whole session: see :func:`require_close_session`."""
    try:
        require_close_session(user, exam_session)
    except Forbidden:
        return False
    return True


def require_close_session(user: Any, exam_session: ExamSession) -> None:
    """End the whole session (结束): the institution's admins, or an invigilator assigned to every room.

    An invigilator acts in their own room; ending the session ends every room's exams, so one who
    does not invigilate all of its rooms is refused (the admin ends a session of several rooms).
    """
    if has_permission(user, Permission.INSTITUTION_MANAGE, exam_session.institution_id):
        return
    mine = require_assigned(user, exam_session, StaffRole.INVIGILATOR)
    if not {r.id for r in exam_session.rooms} <= {s.room_id for s in mine}:
        raise Forbidden("结束整个场次须由本机构管理员或负责全部考场的监考人员进行；您只负责部分考场，不能结束其他考场的考试",
                        "the whole session is ended by the institution's admin or by an invigilator of every room; "
                        "you invigilate only some rooms and may not end the other rooms' exams",
                        field="session", code="close.not_every_room")


def get_room(exam_session: ExamSession, room_id: int) -> SessionRoom:
    room = next((r for r in exam_session.rooms if r.id == room_id), None)
    if room is None:
        raise NotFound("考场不属于本场次", "no such room in this session", field="room_id")
    return room


def _bad(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, field=field)


def location_problem(session: Session, institution: Institution, league_city: str | None) -> ServiceError | None:
    """Why ``institution`` may not hold a session in ``league_city`` (seed Art. 12), or None.

    A league/city institution works only in its own league/city; a region-level one only where it
    has an approved, unrevoked site filing (站点备案). Every error names the field ``league_city``.
    """
    if not league_city:
        return _bad("league_city", "请注明场次举办的盟市：自治区级评价机构须在已站点备案的盟市举办（第十二条）",
                    "name the league/city where the session is held: a region-level institution holds sessions "
                    "only where it has a site filing (Art. 12)")
    if league_city not in LEAGUES_AND_CITIES:
        return _bad("league_city", f"未知盟市“{league_city}”", f"unknown league or city {league_city!r}")
    if may_work_in(session, institution, league_city):
        return None
    if institution.tier == Tier.LEAGUE_CITY.value:
        return Forbidden(f"盟市级评价机构只能在本盟市（{institution.league_city}）开展认定，不能在{league_city}（第十二条）",
                         f"a league/city institution works only in its own league/city ({institution.league_city}), "
                         f"not in {league_city} (Art. 12)", field="league_city", code="location.outside_league_city")
    return Forbidden(f"本机构在{league_city}没有经批准的站点备案，不能在该盟市开展认定（第十二条）",
                     f"the institution has no approved site filing in {league_city}, so it may not hold sessions "
                     "there (Art. 12)", field="league_city", code="location.no_site_filing")


def is_panel_blueprint(blueprint: ExamBlueprint) -> bool:
    """A skill (操作技能) or 综合评审 blueprint: its sessions are scored on site by a panel of examiners."""
    from examsvc.grading.panel import PANEL_COMPONENTS  # grading builds on sessions, not the reverse

    return blueprint.component in PANEL_COMPONENTS


def is_panel_session(session: Session, exam_session: ExamSession) -> bool:
    """Whether candidates of ``exam_session`` work at workstations (or defend in front of a panel)
    instead of sitting a browser exam."""
    return is_panel_blueprint(session.get(ExamBlueprint, exam_session.blueprint_id))


def plan_session(session: Session, *, institution: Institution, blueprint: ExamBlueprint, title: str, exam_date: date,
                 window_start: datetime, window_end: datetime, rooms: Iterable[tuple[str, int]],
                 paper_ids: Iterable[int], languages: Iterable[str] = ("zh",), duration_minutes: int | None = None,
                 auto_check_in: bool = False, layout: str = "paged", league_city: str | None = None,
                 actor: Any) -> ExamSession:
    """Plan a session (认定场次) for an occupation and level the institution may certify on that date,
    in ``league_city`` (default: a league/city institution's own; required of a region-level one).

    A skill or 综合评审 blueprint plans a panel session: exactly one locked paper (its drawn tasks),
    and ``rooms`` are the venues (考核场地) with their workstations (工位) as capacity.
    """
    can_certify(institution, blueprint.occupation_code, blueprint.level, exam_date).raise_if_denied()
    league_city = (league_city or "").strip() or None
    if league_city is None and institution.tier == Tier.LEAGUE_CITY.value:
        league_city = institution.league_city
    problem = location_problem(session, institution, league_city)
    if problem is not None:
        raise problem
    model = blueprint_of(blueprint.latest)
    minimum = model.paper.duration_minutes
    duration = duration_minutes if duration_minutes is not None else minimum
    if duration < minimum:
        raise _bad("duration_minutes", f"考试时长不能少于细目表规定的{minimum}分钟",
                   f"the duration may not be shorter than the blueprint's {minimum} minutes")
    if not title.strip():
        raise _bad("title", "场次名称不能为空", "a title is required")
    if window_end <= window_start:
        raise _bad("window_end", "入场截止时间须晚于开始时间", "the start window must end after it begins")
    if not clock.local_time(window_start).date() == clock.local_time(window_end).date() == exam_date:
        raise _bad("window_start", "入场时间须在考试日期当天", "the start window must fall on the exam date")
    if layout not in {"paged", "scrolling"}:
        raise _bad("layout", "版式应为逐题或整卷", "layout must be paged or scrolling")
    panel = is_panel_blueprint(blueprint)
    rooms = [(name.strip(), capacity) for name, capacity in rooms]
    if not rooms or any(not name or capacity < 1 for name, capacity in rooms):
        if panel:
            raise _bad("rooms", "至少需要一个考核场地，且工位数须大于0",
                       "at least one venue with a positive number of workstations is needed")
        raise _bad("rooms", "至少需要一个考场，且容量须大于0", "at least one room with a positive capacity is needed")
    if len({name for name, _ in rooms}) != len(rooms):
        raise _bad("rooms", "考核场地名称重复" if panel else "考场名称重复",
                   "venue names must differ" if panel else "room names must differ")
    languages = list(dict.fromkeys(languages))
    if not languages or "zh" not in languages or set(languages) - set(LANGUAGES):
        raise _bad("languages", "考试语言须包含中文，可另选蒙古文", "languages must include zh and may add mn")
    papers = _session_papers(session, institution, blueprint, list(paper_ids), languages)
    row = ExamSession(institution_id=institution.id, blueprint_id=blueprint.id, title=title.strip(),
                      league_city=league_city, exam_date=exam_date,
                      window_start=window_start, window_end=window_end, duration_minutes=duration,
                      languages=languages, auto_check_in=auto_check_in, layout=layout,
                      status=SessionStatus.PLANNED.value, created_by=actor.id, created_at=clock.now())
    row.rooms = [SessionRoom(name=name, capacity=capacity) for name, capacity in rooms]
    row.papers = [SessionPaper(paper_id=p.id) for p in papers]
    session.add(row)
    session.flush()
    record(session, actor, "session.plan", row, {"papers": [p.id for p in papers], "rooms": rooms,
                                                  "date": exam_date.isoformat(), "languages": languages,
                                                  "league_city": league_city})
    return row


def set_location(session: Session, exam_session: ExamSession, league_city: str | None, actor: Any) -> ExamSession:
    """Move a planned session to ``league_city`` (or give one planned before places were kept its place)."""
    if exam_session.status != SessionStatus.PLANNED.value:
        raise Conflict("只有筹备中的场次可以更改举办地", "only a planned session can change its place", field="status")
    institution = session.get(Institution, exam_session.institution_id)
    league_city = (league_city or "").strip() or None
    problem = location_problem(session, institution, league_city)
    if problem is not None:
        raise problem
    before, exam_session.league_city = exam_session.league_city, league_city
    session.flush()
    record(session, actor, "session.location", exam_session, {"from": before, "to": league_city})
    return exam_session


def plan_session_for(session: Session, *, institution_id: int | None, blueprint_id: int | None, actor: Any,
                     **details: Any) -> ExamSession:
    """:func:`plan_session` from the ids a form or a request carries: the actor must manage the
    institution; a missing institution or blueprint names its field."""
    if institution_id is None:
        raise _bad("institution_id", "请选择评价机构", "choose an institution")
    require_permission(actor, Permission.INSTITUTION_MANAGE, institution_id)
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"评价机构 {institution_id} 不存在", f"institution {institution_id} not found",
                       field="institution_id")
    blueprint = session.get(ExamBlueprint, blueprint_id) if blueprint_id is not None else None
    if blueprint is None:
        raise _bad("blueprint_id", "请选择考核细目表", "choose a blueprint")
    return plan_session(session, institution=institution, blueprint=blueprint, actor=actor, **details)


def _session_papers(session: Session, institution: Institution, blueprint: ExamBlueprint, paper_ids: list[int],
                    languages: list[str]) -> list[Paper]:
    paper_ids = list(dict.fromkeys(paper_ids))
    if is_panel_blueprint(blueprint) and len(paper_ids) != 1:
        chosen = "、".join(str(p) for p in paper_ids) or "无"
        raise _bad("paper_ids", f"操作技能考核和综合评审场次须选择且只能选择一份已锁定的试卷（已选：{chosen}）",
                   f"a skill or review session takes exactly one locked paper; paper_ids has {len(paper_ids)}"
                   + (f" ({', '.join(str(p) for p in paper_ids)})" if paper_ids else ""))
    if not paper_ids:
        raise _bad("paper_ids", "至少选择一份已锁定的试卷", "choose at least one locked paper")
    papers = list(session.scalars(select(Paper).where(Paper.id.in_(paper_ids))))
    found = {p.id for p in papers}
    for paper_id in paper_ids:
        if paper_id not in found:
            raise _bad("paper_ids", f"试卷 {paper_id} 不存在", f"paper {paper_id} not found")
    blueprint_versions = {v.id for v in blueprint.versions}
    for paper in papers:
        if paper.institution_id != institution.id:
            raise _bad("paper_ids", f"试卷 {paper.id} 不属于本机构", f"paper {paper.id} belongs to another institution")
        if paper.status != PaperStatus.LOCKED.value:
            raise _bad("paper_ids", f"试卷 {paper.id} 未锁定或已停用", f"paper {paper.id} is not locked")
        if paper.blueprint_version_id not in blueprint_versions:
            raise _bad("paper_ids", f"试卷 {paper.id} 不是按本细目表组的", f"paper {paper.id} is from another blueprint")
        if "mn" in languages:
            contents = session.scalars(select(ItemVersion.content).join(
                PaperItem, PaperItem.item_version_id == ItemVersion.id).where(PaperItem.paper_id == paper.id))
            missing = sum(1 for content in contents if not content.get("mn"))
            if missing:
                raise _bad("languages", f"试卷 {paper.id} 有{missing}道题没有蒙古文版本",
                           f"paper {paper.id} has {missing} item(s) without a Mongolian variant")
    return papers


def assign_staff(session: Session, exam_session: ExamSession, user: User, role: str, room_id: int | None,
                 actor: Any) -> StaffAssignment:
    """Assign an invigilator, examiner or internal quality supervisor to the session.

    The user must hold the matching role in the session's institution; an internal supervisor is
    never also invigilator or examiner of the same session (seed Art. 26).
    """
    try:
        parsed = StaffRole(role)
    except ValueError:
        raise _bad("role", f"未知岗位 {role}", f"unknown staff role {role!r}") from None
    if exam_session.status == SessionStatus.CLOSED.value:
        raise Conflict("场次已结束", "the session is closed", field="session")
    if not has_permission(user, STAFF_PERMISSION[parsed], exam_session.institution_id):
        raise _bad("user_id", f"{user.display_name}没有本机构的{parsed.value}资格",
                   f"{user.username} holds no {parsed.value} role in this institution")
    if room_id is not None and room_id not in {r.id for r in exam_session.rooms}:
        raise _bad("room_id", "考场不属于本场次", "the room is not one of this session's")
    if parsed is StaffRole.INVIGILATOR and room_id is None:
        raise _bad("room_id", "监考人员须指定考场", "an invigilator needs a room")
    if parsed is StaffRole.EXAMINER:  # Art. 35: no examiner outside a jurisdiction's registry once it is on
        from examsvc.supervision.registry import require_registry

        require_registry(session, user, session.get(Institution, exam_session.institution_id), exam_session.exam_date)
    roles = {s.role for s in exam_session.staff if s.user_id == user.id}
    if parsed.value in roles:
        raise Conflict("该人员已担任此岗位", "already assigned in this role", field="user_id")
    supervisor = StaffRole.INTERNAL_SUPERVISOR.value
    if (parsed.value == supervisor and roles) or (parsed.value != supervisor and supervisor in roles):
        raise _bad("role", "内部质量督导员不得兼任同场次监考、考评等工作（第二十六条）",
                   "an internal quality supervisor may not also invigilate or examine in the same session (Art. 26)")
    assignment = StaffAssignment(session_id=exam_session.id, user_id=user.id, role=parsed.value, room_id=room_id)
    exam_session.staff.append(assignment)
    session.flush()
    record(session, actor, "session.assign_staff", exam_session, {"user": user.username, "role": parsed.value,
                                                                  "room": room_id})
    return assignment


def remove_staff(session: Session, exam_session: ExamSession, assignment_id: int, actor: Any) -> None:
    assignment = next((s for s in exam_session.staff if s.id == assignment_id), None)
    if assignment is None:
        raise NotFound("该安排不存在", "no such assignment", field="assignment_id")
    exam_session.staff.remove(assignment)
    record(session, actor, "session.remove_staff", exam_session, {"user_id": assignment.user_id,
                                                                  "role": assignment.role})


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    message_en: str


def readiness(session: Session, exam_session: ExamSession) -> list[Problem]:
    """Every rule the session breaks now; it may open only when this is empty.

    A theory session needs invigilators per room; a panel session (skill, 综合评审) instead needs
    its one paper and ``EXAMINERS_PER_TASK`` examiners (odd, at least 3, checked at start-up) free
    of declared conflicts for every candidate, and has workstations (工位) where a theory room has seats.
    """
    config = current_app.config
    per_room, per_candidates = config["INVIGILATORS_PER_ROOM_MIN"], config["CANDIDATES_PER_INVIGILATOR_MAX"]
    panel = is_panel_session(session, exam_session)
    problems: list[Problem] = []
    counts = dict(session.execute(select(Candidate.room_id, func.count()).where(
        Candidate.session_id == exam_session.id).group_by(Candidate.room_id)).all())
    if counts.get(None):
        problems.append(Problem("unseated", f"{counts[None]}名考生尚未安排工位" if panel else f"{counts[None]}名考生尚未安排座位",
                                f"{counts[None]} candidate(s) have no workstation" if panel
                                else f"{counts[None]} candidate(s) have no seat"))
    if not sum(counts.values()):
        problems.append(Problem("no_candidates", "尚未登记考生", "no candidates registered"))
    for room in exam_session.rooms:
        candidates = counts.get(room.id, 0)
        if panel:  # examiners, not invigilators, run a skill venue or a review panel (domain: staffing)
            if candidates > room.capacity:
                problems.append(Problem("capacity", f"考核场地“{room.name}”有{room.capacity}个工位，已安排{candidates}人",
                                        f"venue {room.name} has {room.capacity} workstation(s) but {candidates} "
                                        "candidates"))
            continue
        invigilators = sum(1 for s in exam_session.staff
                           if s.role == StaffRole.INVIGILATOR.value and s.room_id == room.id)
        needed = max(per_room, math.ceil(candidates / per_candidates))
        if invigilators < needed:
            problems.append(Problem("invigilators", f"考场“{room.name}”有{candidates}名考生，需要至少{needed}名监考人员，"
                                                    f"现有{invigilators}名",
                                    f"room {room.name} has {candidates} candidate(s) and needs at least {needed} "
                                    f"invigilators; it has {invigilators}"))
        if candidates > room.capacity:
            problems.append(Problem("capacity", f"考场“{room.name}”容量{room.capacity}，已安排{candidates}人",
                                    f"room {room.name} seats {room.capacity} but has {candidates} candidates"))
    if panel:
        problems += _panel_problems(session, exam_session, config["EXAMINERS_PER_TASK"])
    by_user: dict[int, set[str]] = {}
    for assignment in exam_session.staff:
        by_user.setdefault(assignment.user_id, set()).add(assignment.role)
    for user_id, roles in by_user.items():
        if StaffRole.INTERNAL_SUPERVISOR.value in roles and len(roles) > 1:
            user = session.get(User, user_id)
            problems.append(Problem("supervisor_conflict", f"{user.display_name}不得既任内部质量督导员又任监考或考评",
                                    f"{user.username} is internal supervisor and also invigilator or examiner"))
    if not exam_session.papers:
        problems.append(Problem("no_papers", "没有可用的已锁定试卷", "no locked paper is assigned"))
    place = location_problem(session, session.get(Institution, exam_session.institution_id), exam_session.league_city)
    if place is not None:  # e.g. the site filing was revoked after planning
        problems.append(Problem("location", place.message, place.message_en))
    return problems


def notices(session: Session, exam_session: ExamSession) -> list[Problem]:
    """What the institution should see before opening that does not stop the session: a 综合评审
    candidate without materials (who may still hand them in, or be recorded absent at the review)."""
    from examsvc.sessions.materials import missing_materials

    return missing_materials(session, exam_session) if exam_session.status == "planned" else []


def _panel_problems(session: Session, exam_session: ExamSession, needed: int) -> list[Problem]:
    """A panel session's own rules: one paper, and for every candidate ``needed`` examiners who may
    score them (card and grade, rotation, recusal: :mod:`examsvc.grading.examiners`)."""
    from examsvc.grading.examiners import candidate_rules, declared_conflicts, standing

    problems = []
    if len(exam_session.papers) > 1:
        problems.append(Problem("papers", f"操作技能考核和综合评审场次只能使用一份试卷，现有{len(exam_session.papers)}份",
                                f"a skill or review session uses exactly one paper; it has {len(exam_session.papers)}"))
    assigned = sorted({s.user_id for s in exam_session.staff if s.role == StaffRole.EXAMINER.value})
    if len(assigned) < needed:
        problems.append(Problem("examiners", f"每名考生每道试题须由{needed}名考评人员评分，本场次只安排了{len(assigned)}名考评人员",
                                f"every task of every candidate is scored by {needed} examiners; the session has "
                                f"{len(assigned)} examiner(s)"))
        return problems
    standings = {}
    for user_id in assigned:
        user = session.get(User, user_id)
        standings[user_id] = (user, standing(session, exam_session, user))
        if not standings[user_id][1]:
            problems.append(Problem("examiner_standing", standings[user_id][1].reason, standings[user_id][1].reason_en))
    candidates = list(session.scalars(select(Candidate).where(Candidate.session_id == exam_session.id)
                                      .order_by(Candidate.ticket_number)))
    declared = declared_conflicts(session, [c.id for c in candidates])
    for candidate in candidates:
        able = sum(1 for user, decision in standings.values() if candidate_rules(decision, candidate, user, declared))
        if able < needed:
            problems.append(Problem("examiners_short",
                                    f"考生{candidate.name}（{candidate.ticket_number}）只有{able}名考评人员可以评分"
                                    f"（回避、证卡、轮换），需要{needed}名",
                                    f"candidate {candidate.ticket_number} can be scored by {able} examiner(s) "
                                    f"(recusal, cards, rotation); {needed} are needed"))
    return problems


def open_session(session: Session, exam_session: ExamSession, actor: Any) -> ExamSession:
    if exam_session.status != SessionStatus.PLANNED.value:
        raise Conflict("只有筹备中的场次可以开考", "only a planned session can open", field="status")
    institution = session.get(Institution, exam_session.institution_id)
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    can_certify(institution, blueprint.occupation_code, blueprint.level, exam_session.exam_date).raise_if_denied()
    problems = readiness(session, exam_session)
    if problems:
        raise ValidationFailed("；".join(p.message for p in problems), "; ".join(p.message_en for p in problems),
                               field="session", code=f"session.not_ready.{problems[0].code}")
    exam_session.status = SessionStatus.OPEN.value
    exam_session.opened_at = clock.now()
    for session_paper in exam_session.papers:
        paper = session.get(Paper, session_paper.paper_id)
        if paper.status == PaperStatus.LOCKED.value:
            paper.status = PaperStatus.USED.value
    record(session, actor, "session.open", exam_session, {})
    return exam_session


# --- candidates -----------------------------------------------------------------------------

def normalise_identity(id_type: str, id_number: str) -> str:
    if id_type not in ID_TYPES:
        raise _bad("id_type", f"未知证件类型 {id_type}", f"unknown ID type {id_type!r}")
    if id_type == "resident_id":
        try:
            return validate_resident_id(normalise_resident_id(id_number), today=clock.now().date())
        except InvalidValue as exc:
            raise ValidationFailed.from_invalid_value(exc) from None
    value = "".join(str(id_number).split()).upper()
    if not 5 <= len(value) <= 30 or not value.isalnum():
        raise _bad("id_number", "证件号码应为5-30位字母或数字", "an ID number has 5-30 letters or digits")
    return value


@dataclass(frozen=True)
class CandidateValues:
    """One candidate's details, checked and normalised (the ID number in full: protect it next)."""

    name: str
    id_type: str
    id_number: str
    gender: str | None
    employer: str
    phone: str
    exam_language: str
    password: str | None


def check_candidate(exam_session: ExamSession, *, name: str, id_type: str, id_number: str, employer: str = "",
                    phone: str = "", exam_language: str = "zh", gender: str | None = None,
                    password: str | None = None) -> tuple[CandidateValues | None, list[ValidationFailed]]:
    """Every problem of one candidate's details, each naming its field (an import reports them all)."""
    problems: list[ValidationFailed] = []
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        problems.append(_bad("name", "姓名不能为空且不超过100字", "a name of 1-100 characters is required"))
    normalised = ""
    try:
        normalised = normalise_identity(id_type, id_number)
    except ValidationFailed as exc:
        problems.append(exc)
    if exam_language not in exam_session.languages:
        problems.append(_bad("exam_language", "本场次不提供该考试语言", "the session does not offer that language"))
    if gender not in (None, "", "M", "F"):
        problems.append(_bad("gender", "性别应为 M 或 F", "gender must be M or F"))
    employer = " ".join((employer or "").split())
    if len(employer) > 200:
        problems.append(_bad("employer", "工作单位不超过200字", "the employer may have at most 200 characters"))
    phone = "".join((phone or "").split())
    if phone and (not phone.replace("-", "").isdigit() or len(phone) > 20):
        problems.append(_bad("phone", "电话号码格式不正确", "the phone number is malformed"))
    if password is not None and password != "" and len(password) < 6:
        problems.append(_bad("password", "考试密码至少6位", "an exam password needs at least 6 characters"))
    if problems:
        return None, problems
    return CandidateValues(name, id_type, normalised, gender or None, employer, phone, exam_language,
                           password or None), []


def register_candidate(session: Session, exam_session: ExamSession, *, name: str, id_type: str, id_number: str,
                       employer: str = "", phone: str = "", exam_language: str = "zh", gender: str | None = None,
                       password: str | None = None, photo_sha256: str | None = None, actor: Any) -> Candidate:
    """Register one candidate with a ticket number unique in the session and a seat if one is free."""
    _require_not_closed(exam_session)
    lock_for_registration(session, exam_session)
    values, problems = check_candidate(exam_session, name=name, id_type=id_type, id_number=id_number,
                                       employer=employer, phone=phone, exam_language=exam_language, gender=gender,
                                       password=password)
    if problems:
        raise problems[0]
    assert values is not None
    if session.scalar(select(Candidate.id).where(Candidate.session_id == exam_session.id,
                                                 Candidate.id_digest == id_digest(values.id_number))) is not None:
        raise Conflict("该证件号码已在本场次登记", "this ID number is already registered in the session",
                       field="id_number")
    candidate = add_candidate(session, exam_session, values, next_serial(session, exam_session),
                              next(free_seats(session, exam_session), None), photo_sha256=photo_sha256)
    record(session, actor, "candidate.register", candidate, {"session": exam_session.id,
                                                              "ticket": candidate.ticket_number})
    return candidate


def _require_not_closed(exam_session: ExamSession) -> None:
    if exam_session.status == SessionStatus.CLOSED.value:
        raise Conflict("场次已结束", "the session is closed", field="session", code="session_closed")


def lock_for_registration(session: Session, exam_session: ExamSession) -> None:
    """Registrations of one session take their turn (PostgreSQL row lock until commit): two admins
    registering at once would otherwise read the same count and seats, and one would fail on the
    unique ticket number or seat. SQLite has one writer at a time anyway."""
    session.execute(select(ExamSession.id).where(ExamSession.id == exam_session.id).with_for_update())


def next_serial(session: Session, exam_session: ExamSession) -> int:
    return (session.scalar(select(func.count()).select_from(Candidate).where(
        Candidate.session_id == exam_session.id)) or 0) + 1


def add_candidate(session: Session, exam_session: ExamSession, values: CandidateValues, serial: int,
                  seat: tuple[int, int] | None, *, photo_sha256: str | None = None) -> Candidate:
    """Store checked details under ticket number ``serial`` in ``seat`` (room id, seat) or unseated."""
    protected = protect_id(values.id_type, values.id_number)
    candidate = Candidate(session_id=exam_session.id, name=values.name, id_type=values.id_type,
                          id_cipher=protected.cipher, id_digest=protected.digest, id_masked=protected.masked,
                          gender=values.gender, employer=values.employer, phone=values.phone,
                          exam_language=values.exam_language, ticket_number=ticket_number(exam_session, serial),
                          photo_sha256=photo_sha256,
                          password_hash=generate_password_hash(values.password) if values.password else None,
                          room_id=seat[0] if seat else None, seat=seat[1] if seat else None,
                          registered_at=clock.now())
    session.add(candidate)
    session.flush()
    return candidate


def ticket_number(exam_session: ExamSession, serial: int) -> str:
    """准考证号: exam date (8) + session id (6) + serial (4), e.g. 20261128 000012 0007."""
    return f"{exam_session.exam_date:%Y%m%d}{exam_session.id:06d}{serial:04d}"


def free_seats(session: Session, exam_session: ExamSession) -> Iterator[tuple[int, int]]:
    """The free seats (room id, seat number), rooms in order, from one query of the taken ones."""
    taken: dict[int, set[int]] = {}
    for room_id, seat in session.execute(select(Candidate.room_id, Candidate.seat).where(
            Candidate.session_id == exam_session.id, Candidate.room_id.is_not(None))):
        taken.setdefault(room_id, set()).add(seat)
    for room in exam_session.rooms:
        for seat in range(1, room.capacity + 1):
            if seat not in taken.get(room.id, ()):
                yield room.id, seat


def find_candidate(session: Session, exam_session_id: int, candidate_id: int) -> Candidate:
    """A candidate of this session; one of another session is not found here (and not named)."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.session_id != exam_session_id:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    return candidate
