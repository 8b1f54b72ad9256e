"""User administration pages for system administrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.accounts.service import create_user
from examsvc.auth import Permission, Role, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ServiceError
from examsvc.institutions.jurisdiction import JURISDICTIONS
from examsvc.institutions.models import Institution

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin/users")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _page(error: ServiceError | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    session = get_session()
    users = session.scalars(select(User).order_by(User.username)).all()
    institutions = session.scalars(select(Institution).order_by(Institution.code)).all()
    return render_template("accounts/users.html", users=users, institutions=institutions, roles=list(Role),
                           jurisdictions=JURISDICTIONS, error=error, form=form or {}), status


@bp.route("/")
@permission_required(Permission.USERS_MANAGE)
def list_users() -> Any:
    return _page()


@bp.route("/", methods=["POST"])
@permission_required(Permission.USERS_MANAGE)
def add_user() -> Any:
    form = request.form
    institution = form.get("institution_id", "")
    if institution and not institution.isdecimal():
        return _page(ServiceError("评价机构无效", "invalid institution", field="institution"), dict(form), 422)
    try:
        with unit_of_work() as session:
            actor = session.get(User, current_user.id)
            create_user(session, username=form.get("username", ""), password=form.get("password", ""),
                        display_name=form.get("display_name", ""),
                        roles=[(form.get("role", ""), int(institution) if institution else None)],
                        jurisdiction=form.get("jurisdiction") if form.get("role") == "regulator" else None,
                        actor=actor)
    except ServiceError as exc:
        return _page(exc, dict(form), exc.status)
    flash(_("User %(name)s created.", name=form.get("username", "")))
    return redirect(url_for("accounts_admin.list_users"))
