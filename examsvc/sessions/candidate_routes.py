"""Candidates' pages (考生), on the ``sessions`` blueprint: registering one by one (photo
optional), the Excel import with its row-by-row report and blank template, and the printable
admission tickets (准考证). Only the session's institution admins; ID numbers are shown masked.
"""

from __future__ import annotations

import io
from typing import Any, Mapping

from flask import flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from examsvc.auth import Permission, permission_required
from examsvc.bank.models import ExamBlueprint
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from examsvc.institutions.models import Institution
from examsvc.sessions import candidates_import, queries, service
from examsvc.sessions.models import ExamSession
from examsvc.sessions.routes import _actor, bp, load_session

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PHOTO_BYTES = 2_000_000


# --- candidates -----------------------------------------------------------------------------

def _candidates_page(exam_session: ExamSession, error: ServiceError | None = None,
                     form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    session = get_session()
    return render_template("sessions/candidates.html", exam_session=exam_session, error=error, form=form or {},
                           candidates=queries.candidates_of(session, exam_session),
                           rooms={r.id: r.name for r in exam_session.rooms}), status


@bp.route("/<int:session_id>/candidates")
@permission_required(Permission.INSTITUTION_MANAGE)
def candidates_page(session_id: int) -> Any:
    return _candidates_page(load_session(session_id, "manage"))


def _photo(actor: Any) -> str | None:
    """An uploaded photo stored by its hash (the service's one image store), or None."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    from examsvc.bank.service import store_asset

    data = upload.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed("照片不能超过2MB", "a photo may not exceed 2 MB", field="photo")
    try:
        return store_asset(get_session(), data, actor).removeprefix("asset:")
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, exc.message_en, field="photo") from None


@bp.route("/<int:session_id>/candidates", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def add_candidate(session_id: int) -> Any:
    exam_session = load_session(session_id, "manage")
    form = request.form
    try:
        with unit_of_work() as session:
            candidate = service.register_candidate(
                session, exam_session, name=form.get("name", ""), id_type=form.get("id_type", ""),
                id_number=form.get("id_number", ""), employer=form.get("employer", ""), phone=form.get("phone", ""),
                exam_language=form.get("exam_language", "zh"), gender=form.get("gender") or None,
                password=form.get("password") or None, photo_sha256=_photo(_actor()), actor=_actor())
    except ServiceError as exc:
        kept = {k: v for k, v in form.items() if k not in ("id_number", "password", "csrf_token")}
        return _candidates_page(service.get_session_row(get_session(), session_id), exc, kept, exc.status)
    flash(_("%(name)s registered with admission ticket %(ticket)s.", name=candidate.name,
            ticket=candidate.ticket_number))
    return redirect(url_for("sessions.candidates_page", session_id=session_id))


@bp.route("/<int:session_id>/candidates/<int:candidate_id>/photo")
@permission_required(Permission.INSTITUTION_MANAGE)
def candidate_photo(session_id: int, candidate_id: int) -> Any:
    load_session(session_id, "manage")
    from examsvc.bank.service import get_asset

    candidate = service.find_candidate(get_session(), session_id, candidate_id)
    if not candidate.photo_sha256:
        raise NotFound("该考生没有照片", "the candidate has no photo", field="photo")
    stored = get_asset(get_session(), candidate.photo_sha256)
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.media_type
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"  # personal information
    return response


def _import_page(exam_session: ExamSession, report: Any = None, error: ServiceError | None = None,
                 status: int = 200) -> Any:
    return render_template("sessions/import.html", exam_session=exam_session, report=report, error=error,
                           max_rows=candidates_import.MAX_ROWS), status


@bp.route("/<int:session_id>/candidates/import")
@permission_required(Permission.INSTITUTION_MANAGE)
def import_form(session_id: int) -> Any:
    return _import_page(load_session(session_id, "manage"))


@bp.route("/<int:session_id>/candidates/import", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def import_candidates(session_id: int) -> Any:
    exam_session = load_session(session_id, "manage")
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("请选择要导入的 Excel 文件", "choose an Excel file to import", field="file")
        data = upload.read(candidates_import.MAX_BYTES + 1)
        with unit_of_work() as session:
            report = candidates_import.import_candidates(session, exam_session, data, _actor(),
                                                         valid_rows_only=request.form.get("valid_rows_only") == "1")
    except ServiceError as exc:
        return _import_page(service.get_session_row(get_session(), session_id), error=exc, status=exc.status)
    if not report.imported:
        return _import_page(exam_session, report, status=422)
    flash(_("%(n)s candidates imported with admission tickets and seats.", n=len(report.imported)))
    if report.errors:
        return _import_page(exam_session, report)
    return redirect(url_for("sessions.candidates_page", session_id=session_id))


@bp.route("/<int:session_id>/candidates/template.xlsx")
@permission_required(Permission.INSTITUTION_MANAGE)
def import_template(session_id: int) -> Any:
    load_session(session_id, "manage")
    return send_file(io.BytesIO(candidates_import.blank_template()), mimetype=XLSX, as_attachment=True,
                     download_name="考生信息导入模板.xlsx")


@bp.route("/<int:session_id>/tickets")
@permission_required(Permission.INSTITUTION_MANAGE)
def tickets(session_id: int) -> Any:
    """Admission tickets (准考证) to print, every candidate's or one's (``?candidate_id=``)."""
    exam_session = load_session(session_id, "manage")
    session = get_session()
    candidate_id = request.args.get("candidate_id", type=int)
    if candidate_id is not None:
        candidates = [service.find_candidate(session, session_id, candidate_id)]
    else:
        candidates = queries.candidates_of(session, exam_session)
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    return render_template("sessions/tickets.html", exam_session=exam_session, candidates=candidates,
                           blueprint=blueprint, institution=session.get(Institution, exam_session.institution_id),
                           rooms={r.id: r.name for r in exam_session.rooms},
                           sign_in_url=url_for("exam.sign_in", _external=True))
