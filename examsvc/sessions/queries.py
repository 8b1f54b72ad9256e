"""What the session pages and the API read: sessions a user may see, the planning form's choices,
the people who may be assigned, candidates by room. Reads only; the rules are in ``service``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from examsvc.accounts.models import RoleGrant, User
from examsvc.auth import ROLE_PERMISSIONS, Permission, Role, has_permission, permitted_institutions
from examsvc.bank.models import BlueprintVersion, ExamBlueprint
from examsvc.institutions.filing_models import SiteFiling
from examsvc.institutions.models import Institution, Tier
from examsvc.institutions.service import Decision, can_certify
from examsvc.papers.models import Paper, PaperStatus
from examsvc.sessions.models import Candidate, ExamSession, StaffRole
from examsvc.sessions.service import STAFF_PERMISSION


@dataclass(frozen=True)
class SessionRow:
    session: ExamSession
    institution_name: str
    blueprint_title: str
    candidates: int
    my_roles: frozenset[str]   # the viewer's staff roles in the session


def list_sessions(session: Session, user: Any, *, status: str | None = None, limit: int = 500) -> list[SessionRow]:
    """Sessions of the institutions ``user`` may see (all for regulators), newest exam date first."""
    counts = (select(Candidate.session_id, func.count().label("n")).group_by(Candidate.session_id).subquery())
    query = (select(ExamSession, Institution.name, ExamBlueprint.title, func.coalesce(counts.c.n, 0))
             .join(Institution, Institution.id == ExamSession.institution_id)
             .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
             .outerjoin(counts, counts.c.session_id == ExamSession.id)
             .options(selectinload(ExamSession.staff))
             .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc()).limit(limit))
    allowed = permitted_institutions(user, Permission.INSTITUTION_VIEW)
    if allowed is not None:
        query = query.where(ExamSession.institution_id.in_(allowed))
    if status:
        query = query.where(ExamSession.status == status)
    rows = []
    for exam_session, name, title, count in session.execute(query):
        roles = frozenset(s.role for s in exam_session.staff if s.user_id == user.id)
        rows.append(SessionRow(exam_session, name, title, int(count), roles))
    return rows


@dataclass(frozen=True)
class BlueprintOption:
    blueprint: ExamBlueprint
    decision: Decision
    papers: list[Paper]      # the institution's locked papers of this blueprint
    duration_minutes: int


@dataclass(frozen=True)
class PlanningChoice:
    institution: Institution
    blueprints: list[BlueprintOption]
    places: list[str]        # leagues/cities it may hold sessions in: its own, or its site filings (Art. 12)


def planning_choices(session: Session, user: Any, on_date: date) -> list[PlanningChoice]:
    """What the plan form offers: each institution ``user`` manages, the blueprints of its filed
    scope (with the :func:`can_certify` answer for ``on_date``) and its locked papers of each."""
    from examsvc.bank.service import blueprint_of

    allowed = permitted_institutions(user, Permission.INSTITUTION_MANAGE)
    query = select(Institution).order_by(Institution.code)
    if allowed is not None:
        query = query.where(Institution.id.in_(allowed))
    institutions = list(session.scalars(query))
    blueprints = [b for b in session.scalars(select(ExamBlueprint).order_by(
        ExamBlueprint.occupation_code, ExamBlueprint.level, ExamBlueprint.component)) if b.versions]
    papers: dict[tuple[int, int], list[Paper]] = {}
    locked = (select(Paper, BlueprintVersion.blueprint_id)
              .join(BlueprintVersion, BlueprintVersion.id == Paper.blueprint_version_id)
              .where(Paper.status == PaperStatus.LOCKED.value,
                     Paper.institution_id.in_([i.id for i in institutions]))
              .order_by(Paper.id))
    for paper, blueprint_id in session.execute(locked):
        papers.setdefault((paper.institution_id, blueprint_id), []).append(paper)
    sites: dict[int, list[str]] = {}
    for institution_id, league_city in session.execute(
            select(SiteFiling.institution_id, SiteFiling.league_city)
            .where(SiteFiling.revoked_at.is_(None), SiteFiling.institution_id.in_([i.id for i in institutions]))
            .order_by(SiteFiling.id)):
        sites.setdefault(institution_id, []).append(league_city)
    choices = []
    for institution in institutions:
        scope = {(e.occupation_code, e.level) for e in institution.scope}
        choices.append(PlanningChoice(institution, [
            BlueprintOption(b, can_certify(institution, b.occupation_code, b.level, on_date),
                            papers.get((institution.id, b.id), []), blueprint_of(b.latest).paper.duration_minutes)
            for b in blueprints if (b.occupation_code, b.level) in scope],
            [institution.league_city] if institution.tier == Tier.LEAGUE_CITY.value and institution.league_city
            else sites.get(institution.id, [])))
    return choices


def eligible_staff(session: Session, exam_session: ExamSession) -> dict[str, list[User]]:
    """Active users who may be assigned in each staff role: the role's permission in the institution."""
    roles = {r.value for r in Role if ROLE_PERMISSIONS[r] & set(STAFF_PERMISSION.values())}
    users = session.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.active.is_(True), RoleGrant.role.in_(roles),
               or_(RoleGrant.institution_id == exam_session.institution_id, RoleGrant.institution_id.is_(None)))
        .distinct().order_by(User.username)).all()
    return {role.value: [u for u in users if has_permission(u, STAFF_PERMISSION[role], exam_session.institution_id)]
            for role in StaffRole}


def staff_users(session: Session, exam_session: ExamSession) -> dict[int, User]:
    ids = {s.user_id for s in exam_session.staff}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def candidates_of(session: Session, exam_session: ExamSession) -> list[Candidate]:
    """The session's candidates by room and seat (the unseated last), then ticket number."""
    rooms = {r.id: n for n, r in enumerate(exam_session.rooms)}
    found = session.scalars(select(Candidate).where(Candidate.session_id == exam_session.id)).all()
    return sorted(found, key=lambda c: (rooms.get(c.room_id, len(rooms)), c.seat or 0, c.ticket_number))


def candidate_counts(session: Session, exam_session: ExamSession) -> dict[int | None, int]:
    """Candidates per room id (``None``: without a seat)."""
    return dict(session.execute(select(Candidate.room_id, func.count()).where(
        Candidate.session_id == exam_session.id).group_by(Candidate.room_id)).all())
