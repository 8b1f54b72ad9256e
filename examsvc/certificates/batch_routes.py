"""Certificate data batch pages: institutions submit and follow their batches; regulators check
them (returned with the problems, or forwarded to the region) and the region accepts them."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from examsvc.app import current_locale
from examsvc.auth import Permission, permission_required, permitted_institutions, require_permission
from examsvc.certificates import batches
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ServiceError
from examsvc.institutions.jurisdiction import require_covers, visible_jurisdictions
from examsvc.institutions.models import Institution

bp = Blueprint("certificate_batches", __name__, url_prefix="/certificate-batches")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _message(exc: ServiceError) -> str:
    return exc.message if current_locale().startswith("zh") else exc.message_en


@bp.context_processor
def _globals() -> dict[str, Any]:
    zh = current_locale().startswith("zh")
    return {"status_name": lambda s: batches.STATUS_NAMES[s][0 if zh else 1],
            "problem_text": lambda p: p["message"] if zh else p["message_en"]}


def _institutions(allowed: set[int] | None) -> list[Institution]:
    query = get_session().query(Institution).order_by(Institution.code)
    return list(query if allowed is None else query.filter(Institution.id.in_(allowed or {-1})))


@bp.route("/", methods=["GET", "POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def list_batches() -> Any:
    allowed = permitted_institutions(current_user, Permission.INSTITUTION_MANAGE)
    if request.method == "POST":
        try:
            institution_id = int(request.form.get("institution_id", ""))
            period = (date.fromisoformat(request.form.get("period_from", "")),
                      date.fromisoformat(request.form.get("period_to", "")))
        except ValueError:
            flash(_("Choose the institution and both dates of the period."), "error")
            return redirect(url_for(".list_batches"))
        require_permission(current_user, Permission.INSTITUTION_MANAGE, institution_id)
        try:
            with unit_of_work() as session:
                institution = session.get(Institution, institution_id)
                if institution is None:
                    raise ServiceError("机构不存在", "no such institution", field="institution_id")
                batch = batches.submit_batch(session, institution, *period, current_user._get_current_object(),
                                             note=request.form.get("note", ""))
                batch_id = batch.id
        except ServiceError as exc:
            flash(_message(exc), "error")
            return redirect(url_for(".list_batches"))
        flash(_("Batch %(id)s submitted to the regulator.", id=batch_id), "success")
        return redirect(url_for(".show_batch", batch_id=batch_id))
    return render_template("archives/batches.html", audience="institution",
                           batches=batches.list_batches(get_session(), allowed),
                           institutions=_institutions(allowed))


@bp.route("/<int:batch_id>")
@permission_required(Permission.INSTITUTION_MANAGE)
def show_batch(batch_id: int) -> Any:
    batch = batches.get_batch(get_session(), batch_id)
    require_permission(current_user, Permission.INSTITUTION_MANAGE, batch.institution_id)
    return render_template("archives/batch.html", batch=batch, audience="institution")


@bp.route("/regulator/")
@permission_required(Permission.REGULATE)
def regulator_list() -> Any:
    status = request.args.get("status") if request.args.get("status") in batches.STATUS_NAMES else None
    return render_template("archives/batches.html", audience="regulator", status=status,
                           batches=batches.list_batches(get_session(), None, status,
                                                        visible_jurisdictions(current_user)), institutions=[])


@bp.route("/regulator/<int:batch_id>")
@permission_required(Permission.REGULATE)
def regulator_show(batch_id: int) -> Any:
    batch = batches.get_batch(get_session(), batch_id)
    require_covers(current_user, batches.receiver(batch), "该批次", "this batch")
    return render_template("archives/batch.html", batch=batch, audience="regulator")


@bp.route("/regulator/<int:batch_id>/review", methods=["POST"])
@permission_required(Permission.REGULATE)
def regulator_review(batch_id: int) -> Any:
    return _decide(batch_id, batches.review_batch)


@bp.route("/regulator/<int:batch_id>/accept", methods=["POST"])
@permission_required(Permission.REGULATE)
def regulator_accept(batch_id: int) -> Any:
    return _decide(batch_id, batches.accept_batch)


def _decide(batch_id: int, step: Any) -> Any:
    try:
        with unit_of_work() as session:
            batch = batches.get_batch(session, batch_id)
            step(session, batch, current_user._get_current_object())
            status = batch.status
    except ServiceError as exc:
        flash(_message(exc), "error")
    else:
        flash({"returned": _("Problems found: the batch was returned to the institution."),
               "forwarded": _("No problems: the batch was forwarded to the region."),
               "accepted": _("The batch was accepted.")}[status], "success")
    return redirect(url_for(".regulator_show", batch_id=batch_id))
