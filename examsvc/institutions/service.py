"""Institution rules: registering a filed institution, its scope, and :func:`can_certify`.

``can_certify`` is the one gate that later areas (paper assembly, exam sessions, certificates)
ask before they act for an institution; it answers with the reason when it says no.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.errors import Conflict, ServiceError, ValidationFailed
from examsvc.institutions.models import Institution, InstitutionStatus, ScopeEntry, Tier
from examsvc.institutions.regions import LEAGUES_AND_CITIES
from examsvc.reference.models import Occupation
from itembank.errors import InvalidValue
from itembank.identifiers import validate_institution_code
from itembank.levels import Level, check_level_allowed, parse_institution_kind, parse_level
from itembank.occupations import validate_occupation_code

#: A filing is valid for three years from publication (seed Art. 15).
FILING_VALIDITY_YEARS = 3


def filing_valid_until(published_on: date) -> date:
    """The last day of a filing published on ``published_on`` (three years, less one day)."""
    try:
        anniversary = published_on.replace(year=published_on.year + FILING_VALIDITY_YEARS)
    except ValueError:  # 29 February
        anniversary = published_on.replace(year=published_on.year + FILING_VALIDITY_YEARS, day=28)
    return date.fromordinal(anniversary.toordinal() - 1)


def register_institution(session: Session, *, code: str, name: str, kind: str, tier: str,
                         league_city: str | None, published_on: date,
                         scope: list[tuple[str, str]], actor: object = "system") -> Institution:
    """Record a filed (备案公布) institution with its scope of (occupation code, level) pairs."""
    try:
        parsed_kind = parse_institution_kind(kind)
        code = validate_institution_code(code, parsed_kind)
    except InvalidValue as exc:
        raise ValidationFailed.from_invalid_value(exc) from None
    if not name.strip():
        raise ValidationFailed("机构名称不能为空", "institution name is required", field="name")
    longest = Institution.__table__.c.name.type.length  # PostgreSQL refuses more, SQLite would keep it
    if len(name.strip()) > longest:
        raise ValidationFailed(f"机构名称不能超过{longest}个字符", f"institution name must have at most {longest} characters",
                               field="name")
    try:
        parsed_tier = Tier(tier)
    except ValueError:
        raise ValidationFailed(f"未知层级 {tier}", f"tier must be region or league_city, got {tier!r}", field="tier") from None
    if parsed_tier is Tier.LEAGUE_CITY and league_city not in LEAGUES_AND_CITIES:
        raise ValidationFailed("盟市级机构须注明所在盟市", "a league/city institution needs its league or city",
                               field="league_city")
    if session.scalar(select(Institution.id).where(Institution.code == code)) is not None:
        raise Conflict(f"机构代码 {code} 已存在", f"institution code {code} is already registered", field="code")
    institution = Institution(
        code=code, name=name.strip(), kind=parsed_kind.value, tier=parsed_tier.value,
        league_city=league_city if parsed_tier is Tier.LEAGUE_CITY else None,
        published_on=published_on, valid_until=filing_valid_until(published_on),
        status=InstitutionStatus.ACTIVE.value, created_at=clock.now(),
    )
    session.add(institution)
    for occupation_code, level in scope:
        institution.scope.append(_scope_entry(session, parsed_kind.value, occupation_code, level))
    session.flush()
    record(session, actor, "institution.register", institution,
           {"code": code, "scope": [f"{e.occupation_code}/{e.level}" for e in institution.scope]})
    return institution


def _scope_entry(session: Session, kind: str, occupation_code: str, level: str) -> ScopeEntry:
    try:
        occupation_code = validate_occupation_code(occupation_code)
        parsed_level = check_level_allowed(kind, level)
    except InvalidValue as exc:
        raise ValidationFailed.from_invalid_value(exc) from None
    occupation = session.get(Occupation, occupation_code)
    if occupation is None:
        raise ValidationFailed(f"职业 {occupation_code} 不在职业目录中", f"occupation {occupation_code} is not in the catalogue",
                               field="scope")
    if parsed_level.value not in occupation.levels.split("|") and parsed_level in _FIVE:
        raise ValidationFailed(f"{occupation.name}没有{parsed_level.name_zh}",
                               f"occupation {occupation_code} has no level {parsed_level.value}", field="scope")
    return ScopeEntry(occupation_code=occupation_code, level=parsed_level.value)


_FIVE = frozenset({Level.L5, Level.L4, Level.L3, Level.L2, Level.L1})


def set_status(session: Session, institution: Institution, status: InstitutionStatus, reason: str,
               actor: object) -> None:
    """Suspend, reinstate or terminate an institution, with the reason (an order's reference)."""
    if institution.status == InstitutionStatus.TERMINATED.value:
        raise Conflict("机构备案已终止，不能变更状态", "a terminated institution cannot change status", field="status")
    if status is not InstitutionStatus.ACTIVE and not reason.strip():
        raise ValidationFailed("须说明理由", "a reason is required", field="reason")
    old = institution.status
    institution.status = status.value
    institution.status_reason = reason.strip() or None
    record(session, actor, "institution.status", institution, {"from": old, "to": status.value, "reason": reason})


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`can_certify`: allowed, or not with the reason in Chinese and English."""

    allowed: bool
    code: str = "ok"
    reason: str = ""
    reason_en: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise ServiceError(self.reason, self.reason_en, field="institution", code=f"can_certify.{self.code}")


def can_certify(institution: Institution, occupation_code: str, level: str | Level, on_date: date) -> Decision:
    """Whether ``institution`` may certify ``occupation_code`` at ``level`` on ``on_date``.

    No when the institution is terminated or suspended (the order is named), when the date lies
    outside its filing's validity, when the level is not one its kind may use (seed Art. 20), or
    when the (occupation, level) pair is not in its filed scope (seed Art. 14).
    """
    try:
        occupation_code = validate_occupation_code(occupation_code)
        parsed_level = parse_level(level)
    except InvalidValue as exc:
        return Decision(False, exc.code, exc.message, exc.message_en)
    if institution.status == InstitutionStatus.TERMINATED.value:
        why = f"：{institution.status_reason}" if institution.status_reason else ""
        why_en = f": {institution.status_reason}" if institution.status_reason else ""
        return Decision(False, "terminated", f"{institution.name}备案已终止{why}",
                        f"{institution.name}'s filing is terminated{why_en}")
    from examsvc.institutions.orders import active_order_of  # orders build on this module

    order = active_order_of(institution)
    if order is not None:  # read from the orders themselves: a status changed by hand cannot hide one
        return Decision(False, "stop_order", f"{institution.name}已被责令停止认定（{order.reference}）：{order.reason}",
                        f"{institution.name} was ordered to stop certifying ({order.reference}): {order.reason}")
    if institution.status == InstitutionStatus.SUSPENDED.value:
        why = institution.status_reason or ""
        return Decision(False, "suspended", f"{institution.name}已被责令停止认定：{why}",
                        f"{institution.name} was ordered to stop certifying: {why}")
    if on_date < institution.published_on:
        return Decision(False, "not_yet_valid", f"备案自{institution.published_on}起生效",
                        f"the filing takes effect on {institution.published_on}")
    if on_date > institution.valid_until:
        return Decision(False, "expired", f"备案已于{institution.valid_until}到期",
                        f"the filing expired on {institution.valid_until}")
    try:
        check_level_allowed(institution.kind, parsed_level)
    except InvalidValue as exc:
        return Decision(False, "level_not_allowed", exc.message, exc.message_en)
    if not any(e.occupation_code == occupation_code and e.level == parsed_level.value for e in institution.scope):
        return Decision(False, "out_of_scope",
                        f"{occupation_code} {parsed_level.name_zh}不在{institution.name}的备案范围内",
                        f"{occupation_code} level {parsed_level.value} is not in {institution.name}'s filed scope")
    return Decision(True)
