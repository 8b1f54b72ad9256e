"""Roles, permissions and the one permission check used everywhere.

A user holds role grants; a grant may be scoped to one institution, and then gives its permissions
in that institution only (an institution admin of A can do nothing in B). Every protected view
declares its permission with :func:`permission_required`; service code asks :func:`has_permission`
or :func:`require_permission`. Nothing else decides who may do what.
"""

from __future__ import annotations

import enum
from functools import wraps
from typing import Any, Callable, Iterable, Protocol, TypeVar

from flask import current_app, request
from flask_login import current_user

from examsvc.errors import Forbidden


class Role(str, enum.Enum):
    ITEM_WRITER = "item_writer"
    ITEM_REVIEWER = "item_reviewer"
    INSTITUTION_ADMIN = "institution_admin"
    INVIGILATOR = "invigilator"
    EXAMINER = "examiner"
    QUALITY_SUPERVISOR = "quality_supervisor"
    REGULATOR = "regulator"
    CANDIDATE = "candidate"
    SYSADMIN = "sysadmin"


#: Roles that only make sense inside one institution: a grant of these must name it.
INSTITUTION_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INVIGILATOR, Role.EXAMINER})

ROLE_NAMES = {
    Role.ITEM_WRITER: ("命题人员", "Item writer"),
    Role.ITEM_REVIEWER: ("审题人员", "Item reviewer"),
    Role.INSTITUTION_ADMIN: ("评价机构管理员", "Institution administrator"),
    Role.INVIGILATOR: ("监考人员", "Invigilator"),
    Role.EXAMINER: ("考评人员", "Examiner"),
    Role.QUALITY_SUPERVISOR: ("质量督导员", "Quality supervisor"),
    Role.REGULATOR: ("评价监管部门", "Regulator"),
    Role.CANDIDATE: ("参评人员", "Candidate"),
    Role.SYSADMIN: ("系统管理员", "System administrator"),
}


class Permission(str, enum.Enum):
    BANK_WRITE = "bank.write"
    BANK_REVIEW = "bank.review"
    BANK_READ = "bank.read"
    INSTITUTION_VIEW = "institution.view"
    INSTITUTION_MANAGE = "institution.manage"
    SESSION_INVIGILATE = "session.invigilate"
    GRADING_SCORE = "grading.score"
    SESSION_SUPERVISE = "session.supervise"
    REGULATE = "regulate"
    EXAM_TAKE = "exam.take"
    AUDIT_VIEW = "audit.view"
    USERS_MANAGE = "users.manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ITEM_WRITER: frozenset({Permission.BANK_WRITE, Permission.BANK_READ}),
    Role.ITEM_REVIEWER: frozenset({Permission.BANK_REVIEW, Permission.BANK_READ}),
    Role.INSTITUTION_ADMIN: frozenset({Permission.INSTITUTION_VIEW, Permission.INSTITUTION_MANAGE,
                                       Permission.BANK_READ}),
    Role.INVIGILATOR: frozenset({Permission.INSTITUTION_VIEW, Permission.SESSION_INVIGILATE}),
    Role.EXAMINER: frozenset({Permission.INSTITUTION_VIEW, Permission.GRADING_SCORE}),
    Role.QUALITY_SUPERVISOR: frozenset({Permission.INSTITUTION_VIEW, Permission.SESSION_SUPERVISE}),
    Role.REGULATOR: frozenset({Permission.INSTITUTION_VIEW, Permission.REGULATE, Permission.AUDIT_VIEW,
                               Permission.BANK_READ}),
    Role.CANDIDATE: frozenset({Permission.EXAM_TAKE}),
    Role.SYSADMIN: frozenset({Permission.USERS_MANAGE, Permission.AUDIT_VIEW}),
}


class _Grant(Protocol):
    role: str
    institution_id: int | None


class _Principal(Protocol):
    is_authenticated: bool
    grants: Iterable[_Grant]


def has_permission(user: Any, permission: Permission, institution_id: int | None = None) -> bool:
    """Whether ``user`` holds ``permission``; with ``institution_id``, in that institution.

    A grant without an institution applies everywhere; a scoped grant only in its institution.
    Without ``institution_id`` a scoped grant still counts (the caller then limits what it shows
    with :func:`permitted_institutions`).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    for grant in user.grants:
        if permission not in ROLE_PERMISSIONS[Role(grant.role)]:
            continue
        if institution_id is None or grant.institution_id is None or grant.institution_id == institution_id:
            return True
    return False


def permitted_institutions(user: Any, permission: Permission) -> set[int] | None:
    """Institutions where ``user`` holds ``permission``: ``None`` means all of them."""
    scoped: set[int] = set()
    if user is None or not getattr(user, "is_authenticated", False):
        return scoped
    for grant in user.grants:
        if permission in ROLE_PERMISSIONS[Role(grant.role)]:
            if grant.institution_id is None:
                return None
            scoped.add(grant.institution_id)
    return scoped


def require_permission(user: Any, permission: Permission, institution_id: int | None = None) -> None:
    """Raise :class:`Forbidden` naming the permission when ``user`` lacks it."""
    if not has_permission(user, permission, institution_id):
        where = f"（机构 {institution_id}）" if institution_id is not None else ""
        where_en = f" in institution {institution_id}" if institution_id is not None else ""
        raise Forbidden(f"没有权限：{permission.value}{where}", f"permission {permission.value} required{where_en}",
                        code="forbidden")


F = TypeVar("F", bound=Callable[..., Any])


def permission_required(permission: Permission, institution_arg: str | None = None) -> Callable[[F], F]:
    """Protect a view: log in first, then hold ``permission`` (in the institution of the URL).

    The permission is recorded on the view as ``required_permission`` so the permission matrix
    test can find every protected route.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from examsvc.accounts.routes import login_needed_response

            if not current_user.is_authenticated:
                return login_needed_response()
            institution_id = kwargs.get(institution_arg) if institution_arg else None
            require_permission(current_user, permission, institution_id)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        wrapper.institution_arg = institution_arg  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def declared_permission(view: Any, method: str) -> tuple[Permission, str | None] | None:
    """What :func:`permission_required` recorded on ``view`` (or on its MethodView's ``method``)."""
    view_class = getattr(view, "view_class", None)
    handler = view
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
    permission = getattr(handler, "required_permission", None)
    return None if permission is None else (permission, getattr(handler, "institution_arg", None))


def enforce_declared_permission() -> Any:
    """Check the view's declared permission before anything else reads the request.

    Registered as a ``before_request`` hook. flask-smorest parses and validates a request in
    decorators that wrap the view *outside* its ``permission_required`` wrapper, so without this a
    visitor or a role without the permission would be answered 422 (and shown what input is
    expected) instead of 401 or 403. The wrapper still checks too, for views called directly.
    """
    if request.endpoint is None or request.method == "OPTIONS":
        return None
    declared = declared_permission(current_app.view_functions.get(request.endpoint), request.method)
    if declared is None:
        return None
    permission, institution_arg = declared
    if not current_user.is_authenticated:
        from examsvc.accounts.routes import login_needed_response

        return login_needed_response()
    institution_id = (request.view_args or {}).get(institution_arg) if institution_arg else None
    require_permission(current_user, permission, institution_id)
    return None


def client_address() -> str | None:
    """The client's address for the audit trail (ProxyFix has already applied PROXY_COUNT)."""
    try:
        return request.remote_addr
    except RuntimeError:  # outside a request: CLI or job
        return None
