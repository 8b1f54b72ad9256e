"""Institution pages: the list a user may see, and one institution with its scope."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from examsvc import clock
from examsvc.auth import Permission, permission_required, permitted_institutions
from examsvc.db import get_session
from examsvc.institutions.models import Institution
from examsvc.reference.models import Occupation

bp = Blueprint("institutions", __name__, url_prefix="/institutions")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def visible_institutions(user: Any) -> list[Institution]:
    """Institutions ``user`` may see: all for regulators, their own for institution staff."""
    query = select(Institution).order_by(Institution.code)
    allowed = permitted_institutions(user, Permission.INSTITUTION_VIEW)
    if allowed is not None:
        query = query.where(Institution.id.in_(allowed))
    return list(get_session().scalars(query))


@bp.route("/")
@permission_required(Permission.INSTITUTION_VIEW)
def list_institutions() -> Any:
    return render_template("institutions/list.html", institutions=visible_institutions(current_user),
                           today=clock.now().date())


@bp.route("/<int:institution_id>")
@permission_required(Permission.INSTITUTION_VIEW, institution_arg="institution_id")
def show_institution(institution_id: int) -> Any:
    session = get_session()
    institution = session.get(Institution, institution_id)
    if institution is None:
        abort(404)
    names = {code: name for code, name in session.execute(select(Occupation.code, Occupation.name))}
    return render_template("institutions/detail.html", institution=institution, occupation_names=names,
                           today=clock.now().date())
