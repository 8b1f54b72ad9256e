"""Registries of people (Art. 35-36): quality supervisor cards, and each jurisdiction's switch for
its examiner registry.

Examiner cards are the grading area's :class:`~examsvc.grading.models.ExaminerCard` (registered
with :func:`examsvc.grading.examiners.register_card`); this module does not keep a second list.
Once a jurisdiction turns its registry on, :func:`registry_allows` admits as examiner of its
institutions only holders of an examiner card of that jurisdiction valid on the day (Art. 35:
"原则上不得使用库外考评人员"). Region-level institutions and cards belong to :data:`REGION`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission, require_permission
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from examsvc.institutions.models import Institution
from examsvc.institutions.jurisdiction import (
    JURISDICTIONS, REGION, jurisdiction_of, parse_jurisdiction, require_covers,
)
from examsvc.supervision.people_models import JurisdictionSetting, SupervisorCard

_jurisdiction = parse_jurisdiction


# --- supervisor cards -----------------------------------------------------------------------

def register_supervisor_card(session: Session, *, holder: User, card_number: str, valid_from: date,
                             valid_until: date, jurisdiction: str, training_note: str = "",
                             actor: Any) -> SupervisorCard:
    """A regulator records the card it issued to a trained and examined supervisor (Art. 36)."""
    require_permission(actor, Permission.REGULATE)
    require_covers(actor, _jurisdiction(jurisdiction), "该辖区的督导员证卡", "this jurisdiction's supervisor cards")
    number = "".join((card_number or "").split()).upper()
    if not re.fullmatch(r"[0-9A-Z-]{4,40}", number):
        raise ValidationFailed("证卡编号应为4-40位字母、数字或连字符", "a card number has 4-40 letters, digits or hyphens",
                               field="card_number")
    if valid_until < valid_from:
        raise ValidationFailed("有效期止应不早于起", "the card must end after it begins", field="valid_until")
    if not has_permission(holder, Permission.SESSION_SUPERVISE):
        raise ValidationFailed(f"{holder.display_name}不是质量督导员", f"{holder.username} holds no quality supervisor role",
                               field="user_id")
    jurisdiction = _jurisdiction(jurisdiction)
    if session.scalar(select(SupervisorCard.id).where(SupervisorCard.card_number == number)) is not None:
        raise Conflict(f"证卡编号 {number} 已登记", f"card {number} is already registered", field="card_number")
    card = SupervisorCard(user_id=holder.id, card_number=number, valid_from=valid_from, valid_until=valid_until,
                          jurisdiction=jurisdiction, training_note=(training_note or "").strip()[:2000],
                          registered_by=actor.id, registered_at=clock.now())
    session.add(card)
    session.flush()
    record(session, actor, "supervisor.card_register", card, {"holder": holder.username, "card": number,
                                                              "valid_until": valid_until.isoformat()})
    return card


def supervisor_cards(session: Session) -> list[SupervisorCard]:
    return list(session.scalars(select(SupervisorCard).order_by(SupervisorCard.jurisdiction, SupervisorCard.card_number)))


def valid_supervisors(session: Session, on: date, jurisdiction: str | None = None) -> list[int]:
    """Users holding a supervisor card valid on ``on`` (of ``jurisdiction`` if given), ascending ids."""
    query = select(SupervisorCard.user_id).where(SupervisorCard.valid_from <= on, SupervisorCard.valid_until >= on)
    if jurisdiction:
        query = query.where(SupervisorCard.jurisdiction == jurisdiction)
    return sorted(set(session.scalars(query)))


# --- the examiner registry switch (Art. 35) -----------------------------------------------------

def registry_on(session: Session, jurisdiction: str) -> bool:
    return bool(session.scalar(select(JurisdictionSetting.examiner_registry_on)
                               .where(JurisdictionSetting.jurisdiction == jurisdiction)))


def registry_settings(session: Session) -> dict[str, bool]:
    on = {s.jurisdiction: s.examiner_registry_on for s in session.scalars(select(JurisdictionSetting))}
    return {j: on.get(j, False) for j in JURISDICTIONS}


def set_examiner_registry(session: Session, jurisdiction: str, on: bool, actor: Any) -> JurisdictionSetting:
    require_permission(actor, Permission.REGULATE)
    jurisdiction = _jurisdiction(jurisdiction)
    require_covers(actor, jurisdiction, "该辖区的考评人员信息库", "this jurisdiction's examiner registry")
    setting = session.scalar(select(JurisdictionSetting).where(JurisdictionSetting.jurisdiction == jurisdiction))
    if setting is None:
        setting = JurisdictionSetting(jurisdiction=jurisdiction)
        session.add(setting)
    setting.examiner_registry_on, setting.updated_by, setting.updated_at = bool(on), actor.id, clock.now()
    session.flush()
    record(session, actor, "examiner.registry_switch", ("jurisdiction", jurisdiction), {"on": bool(on)})
    return setting


def registry_allows(session: Session, user: User, institution: Institution, on: date | None = None) -> bool:
    """Whether ``user`` may be assigned as examiner of ``institution`` (on the day ``on``, default today).

    True while the institution's jurisdiction keeps its registry off; once on, only with an
    examiner card of that jurisdiction valid on the day.
    """
    jurisdiction = jurisdiction_of(institution)
    if not registry_on(session, jurisdiction):
        return True
    from examsvc.grading.models import ExaminerCard  # the grading area's card registry (imported when used)

    day = on or clock.now().date()
    return session.scalar(select(ExaminerCard.id).where(
        ExaminerCard.user_id == user.id, ExaminerCard.jurisdiction == jurisdiction,
        ExaminerCard.valid_from <= day, ExaminerCard.valid_until >= day).limit(1)) is not None


def require_registry(session: Session, user: User, institution: Institution, on: date | None = None) -> None:
    """Raise :class:`Forbidden` naming Art. 35 when :func:`registry_allows` refuses."""
    if not registry_allows(session, user, institution, on):
        where = jurisdiction_of(institution)
        raise Forbidden(f"{where}已启用考评人员信息库：{user.display_name}没有本辖区有效的考评员证卡，不得使用库外考评人员（第三十五条）",
                        f"{where} has turned its examiner registry on: {user.username} holds no examiner card of this "
                        "jurisdiction valid on the day, and examiners outside the registry may not be used (Art. 35)",
                        field="user_id", code="examiner.outside_registry")
