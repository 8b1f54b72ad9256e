"""Sending notifications and reading one's own.

The sending functions run inside the caller's unit of work (a regulator's action and the notices it
causes are committed together or not at all) and record every notification on the audit trail.
Reading and marking take the user: another user's notification is answered "not found", never shown.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import RoleGrant, User
from examsvc.audit.service import record
from examsvc.auth import Role
from examsvc.errors import NotFound, ValidationFailed
from examsvc.notifications.models import Notification

#: Source of a notification: (kind, id), e.g. ``("stop_order", 3)``, or a model instance.
Source = Any
LIST_LIMIT = 200


def _source(source: Source) -> tuple[str, int | None]:
    if source is None:
        return "", None
    if isinstance(source, tuple):
        kind, ident = source
        return str(kind)[:40], None if ident is None else int(ident)
    return getattr(source, "__tablename__", type(source).__name__)[:40], getattr(source, "id", None)


def _check_link(link: str | None) -> str | None:
    link = (link or "").strip() or None
    if link is not None and (not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 300):
        raise ValidationFailed("链接须为本站内的路径", "a link is a path within the site", field="link")
    return link


def institution_admin_ids(session: Session, institution_id: int) -> list[int]:
    """Active users holding the institution_admin role of ``institution_id``."""
    return list(session.scalars(
        select(User.id).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.INSTITUTION_ADMIN.value, RoleGrant.institution_id == institution_id,
               User.active.is_(True))
        .distinct().order_by(User.id)))


def notify_users(session: Session, recipients: Iterable[tuple[int, int | None]], kind: str, subject_zh: str,
                 subject_en: str, body_zh: str, body_en: str, link: str | None = None, source: Source = None,
                 *, actor: Any = "system") -> list[Notification]:
    """One notification per distinct recipient ``(user_id, institution_id)``; the first pair of a user wins."""
    kind = (kind or "").strip()
    if not kind or len(kind) > 40:
        raise ValidationFailed("通知类别须为1至40个字符", "a notification kind has 1 to 40 characters", field="kind")
    if not subject_zh.strip() or not body_zh.strip():
        raise ValidationFailed("通知须有中文标题和正文", "a notification needs a Chinese subject and body", field="subject_zh")
    link = _check_link(link)
    source_kind, source_id = _source(source)
    now = clock.now()
    chosen: dict[int, int | None] = {}
    for user_id, institution_id in recipients:
        chosen.setdefault(user_id, institution_id)
    sent = []
    for user_id, institution_id in chosen.items():
        notification = Notification(
            recipient_id=user_id, institution_id=institution_id, kind=kind, subject_zh=subject_zh.strip()[:200],
            subject_en=(subject_en or subject_zh).strip()[:200], body_zh=body_zh.strip(),
            body_en=(body_en or body_zh).strip(), link=link, source_kind=source_kind, source_id=source_id,
            created_at=now)
        session.add(notification)
        sent.append(notification)
    if sent:
        session.flush()
    for notification in sent:
        record(session, actor, "notification.send", notification,
               {"recipient_id": notification.recipient_id, "institution_id": notification.institution_id,
                "kind": kind, "source": [source_kind, source_id], "subject": notification.subject_zh})
    return sent


def notify_institution(session: Session, institution_id: int, kind: str, subject_zh: str, subject_en: str,
                       body_zh: str, body_en: str, link: str | None = None, source: Source = None,
                       *, actor: Any = "system", also_users: Iterable[int] = ()) -> list[Notification]:
    """Notify every active institution admin of ``institution_id`` (and ``also_users``, e.g. the party itself)."""
    recipients = [(user_id, institution_id) for user_id in also_users]
    recipients += [(user_id, institution_id) for user_id in institution_admin_ids(session, institution_id)]
    return notify_users(session, recipients, kind, subject_zh, subject_en, body_zh, body_en, link, source,
                        actor=actor)


def notify_user(session: Session, user_id: int, kind: str, subject_zh: str, subject_en: str, body_zh: str,
                body_en: str, link: str | None = None, source: Source = None, *, institution_id: int | None = None,
                actor: Any = "system") -> Notification:
    """Notify one user."""
    if session.get(User, user_id) is None:
        raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} not found", field="user_id")
    return notify_users(session, [(user_id, institution_id)], kind, subject_zh, subject_en, body_zh, body_en, link,
                        source, actor=actor)[0]


# --- one's own --------------------------------------------------------------------------------

def list_for_user(session: Session, user_id: int, unread_only: bool = False,
                  limit: int = LIST_LIMIT) -> list[Notification]:
    """The user's notifications, newest first."""
    query = (select(Notification).where(Notification.recipient_id == user_id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query))


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.recipient_id == user_id, Notification.read_at.is_(None))) or 0


def get_own(session: Session, user: Any, notification_id: int) -> Notification:
    """The user's notification ``notification_id``; another user's is "not found" as much as a missing one."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != getattr(user, "id", None):
        raise NotFound(f"通知 {notification_id} 不存在", f"notification {notification_id} not found",
                       field="notification_id")
    return notification


def mark_read(session: Session, user: Any, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (a second time changes nothing)."""
    notification = get_own(session, user, notification_id)
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.flush()
    return notification


def mark_all_read(session: Session, user: Any) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = session.execute(update(Notification).where(Notification.recipient_id == user.id,
                                                        Notification.read_at.is_(None))
                             .values(read_at=clock.now()).execution_options(synchronize_session=False))
    for loaded in [o for o in session.identity_map.values() if isinstance(o, Notification)]:
        session.expire(loaded, ["read_at"])
    return result.rowcount or 0
