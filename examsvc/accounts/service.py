"""Account rules: creating users, signing in with lockout, role grants, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from examsvc import clock
from examsvc.accounts.models import ApiToken, RoleGrant, User
from examsvc.audit.service import record
from examsvc.auth import INSTITUTION_ROLES, Role
from examsvc.errors import Conflict, ValidationFailed
from examsvc.institutions.jurisdiction import REGION, parse_jurisdiction
from examsvc.institutions.models import Institution

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD_LENGTH = 8


def create_user(session: Session, *, username: str, password: str, display_name: str,
                roles: list[tuple[str, int | None]], jurisdiction: str | None = None,
                actor: object = "system") -> User:
    """Create a user with role grants ``[(role, institution_id or None), ...]``.

    ``jurisdiction`` is a regulator's: 自治区 (the default) or a league/city. Refuses a malformed or
    taken username, a short password, an unknown role, an institution role without its
    institution, and a jurisdiction for a user who is no regulator.
    """
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("用户名须为3-64位字母、数字或 _ . -", "username must be 3-64 letters, digits or _ . -",
                               field="username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"密码至少{MIN_PASSWORD_LENGTH}位", f"password must have at least {MIN_PASSWORD_LENGTH} characters",
                               field="password")
    if not display_name.strip():
        raise ValidationFailed("姓名不能为空", "display name is required", field="display_name")
    longest = User.__table__.c.display_name.type.length  # PostgreSQL refuses more, SQLite would keep it
    if len(display_name.strip()) > longest:
        raise ValidationFailed(f"姓名不能超过{longest}个字符", f"display name must have at most {longest} characters",
                               field="display_name")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", f"username {username} is already taken", field="username")
    user = User(username=username, display_name=display_name.strip(),
                password_hash=generate_password_hash(password), created_at=clock.now())
    for role, institution_id in roles:
        user.grants.append(_grant(session, role, institution_id))
    regulators = [g for g in user.grants if g.role == Role.REGULATOR.value]
    if jurisdiction and not regulators:
        raise ValidationFailed("只有评价监管部门用户有辖区", "only a regulator has a jurisdiction", field="jurisdiction")
    for grant in regulators:
        grant.jurisdiction = parse_jurisdiction(jurisdiction or REGION)
    session.add(user)
    session.flush()
    record(session, actor, "user.create", user, {"username": username, "roles": sorted(
        f"{g.role}@{g.institution_id or g.jurisdiction}" if g.institution_id or g.jurisdiction else g.role
        for g in user.grants)})
    return user


def _grant(session: Session, role: str, institution_id: int | None) -> RoleGrant:
    try:
        parsed = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"未知角色 {role}", f"unknown role {role!r}; known roles: {known}", field="roles") from None
    if parsed in INSTITUTION_ROLES and institution_id is None:
        raise ValidationFailed(f"角色 {role} 必须指定评价机构", f"role {role} needs an institution", field="institution")
    if institution_id is not None and session.get(Institution, institution_id) is None:
        raise ValidationFailed(f"评价机构 {institution_id} 不存在", f"institution {institution_id} does not exist",
                               field="institution")
    return RoleGrant(role=parsed.value, institution_id=institution_id)


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    reason: str | None = None       # "unknown", "bad_password", "locked", "inactive"
    locked_until: object = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.reason is None


_DUMMY_HASH = generate_password_hash("examsvc-timing-equaliser")


def authenticate(session: Session, username: str, password: str, *, max_failures: int,
                 lock_minutes: int) -> LoginOutcome:
    """Check a password; count failures and lock after ``max_failures`` in a row.

    Every attempt is audited, and so is the lock. A locked account is refused even with the
    right password until the lock ends; the lock time comes from the server clock.
    """
    now = clock.now()
    user = session.scalar(select(User).where(User.username == username.strip()).with_for_update())
    if user is None:
        # Spend the time of a real check, so response times do not tell which usernames exist.
        check_password_hash(_DUMMY_HASH, password)
        record(session, None, "login.failed", ("user", None), {"username": username[:64], "reason": "unknown"})
        return LoginOutcome(None, "unknown")
    if user.locked_until is not None and user.locked_until > now:
        record(session, None, "login.refused_locked", user, {"locked_until": user.locked_until.isoformat()})
        return LoginOutcome(None, "locked", user.locked_until)
    if not check_password_hash(user.password_hash, password):
        # Count in the database, not from the value read above: SQLite ignores FOR UPDATE, and
        # guesses sent at once would otherwise overwrite each other's count and never lock.
        session.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
        session.refresh(user, ["failed_logins"])
        record(session, None, "login.failed", user, {"reason": "bad_password", "failures": user.failed_logins})
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            record(session, "system", "account.locked", user, {"until": user.locked_until.isoformat(),
                                                               "after_failures": max_failures})
            return LoginOutcome(None, "locked", user.locked_until)
        return LoginOutcome(None, "bad_password")
    if not user.active:
        record(session, None, "login.refused_inactive", user, {})
        return LoginOutcome(None, "inactive")
    user.failed_logins = 0
    user.locked_until = None
    record(session, user, "login.success", user, {})
    return LoginOutcome(user)


def issue_api_token(session: Session, user: User, *, days: int, name: str = "") -> str:
    """Create a bearer token; the plain token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name[:100], created_at=now,
                         expires_at=now + timedelta(days=days)))
    record(session, user, "api_token.issue", user, {"name": name[:100], "days": days})
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now() or not row.user.active:
        return None
    return row.user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
