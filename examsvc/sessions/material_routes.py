"""Review materials' pages (综合评审材料): a candidate's files on the ``sessions`` blueprint for the
institution, the panel and regulators; the candidate's own page ("我的评审材料") beside their
results, signed in with ticket and ID number; a small JSON API for the candidate.

Who may see or change what is decided in :mod:`examsvc.sessions.materials`; the declared
permissions here only turn away roles that can never qualify.
"""

from __future__ import annotations

import io
from typing import Any, Mapping

from flask import (
    Blueprint, Flask, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.delivery.routes import candidate_required
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from examsvc.sessions import materials, service
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.sessions.routes import _actor, bp, localised

mine_bp = Blueprint("my_materials", __name__, url_prefix="/results/mine/materials")
mine_api = Blueprint("my_materials_api", __name__, url_prefix="/exam/api/materials")


def init_app(app: Flask) -> None:
    app.register_blueprint(mine_bp)
    app.register_blueprint(mine_api)
    app.add_template_global(review_materials)
    app.add_template_global(review_materials_count)
    app.add_template_global(material_kind_names, "material_kind_names")


def material_kind_names() -> dict[str, str]:
    return {"performance": _("Performance record"), "summary": _("Technical summary"), "thesis": _("Thesis")}


def review_materials(exam_session: ExamSession, candidate: Candidate) -> list[materials.ReviewMaterial] | None:
    """For templates (the examiner's scoring screen): the candidate's files the signed-in user may
    see; None when the session is no review session or the user may not see them."""
    session = get_session()
    if not materials.is_review_session(session, exam_session):
        return None
    if not materials.may_view(session, current_user, exam_session, candidate):
        return None
    return materials.list_materials(session, exam_session, candidate, current_user)


def review_materials_count(exam_session: ExamSession) -> dict[int, int] | None:
    """For the candidates page: files per candidate id, or None when the session is no review session."""
    session = get_session()
    if not materials.is_review_session(session, exam_session):
        return None
    return {cid: len(found) for cid, found in materials.materials_by_candidate(session, exam_session, current_user).items()}


def _upload_args() -> tuple[str, str, bytes]:
    """The form's kind, file name and bytes; never more than one byte past the limit is read."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("请选择要上传的文件", "choose a file to upload", field="file")
    data = upload.read(int(current_app.config["REVIEW_MATERIAL_MAX_BYTES"]) + 1)
    return request.form.get("kind", ""), upload.filename, data


def _download(material: materials.ReviewMaterial) -> Any:
    response = send_file(io.BytesIO(material.data), mimetype=material.content_type, as_attachment=True,
                         download_name=material.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"  # personal documents
    return response


# --- the institution's, the panel's and the regulators' page of one candidate -------------------

def _staff_page(session_id: int, candidate_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    exam_session = service.get_session_row(session, session_id)
    candidate = service.find_candidate(session, session_id, candidate_id)
    found = materials.list_materials(session, exam_session, candidate, current_user)
    return render_template(
        "sessions/materials.html", exam_session=exam_session, candidate=candidate, materials=found, error=error,
        may_change=materials.may_change(current_user, exam_session, candidate),
        closed=materials.closed_reason(session, exam_session, candidate),
        is_review=materials.is_review_session(session, exam_session),
        max_mb=current_app.config["REVIEW_MATERIAL_MAX_BYTES"] / 1_000_000,
        max_files=current_app.config["REVIEW_MATERIAL_MAX_FILES"]), status


@bp.route("/<int:session_id>/candidates/<int:candidate_id>/materials")
@permission_required(Permission.INSTITUTION_VIEW)
def materials_page(session_id: int, candidate_id: int) -> Any:
    return _staff_page(session_id, candidate_id)


@bp.route("/<int:session_id>/candidates/<int:candidate_id>/materials", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def upload_material(session_id: int, candidate_id: int) -> Any:
    try:
        with unit_of_work() as session:
            exam_session = service.get_session_row(session, session_id)
            candidate = service.find_candidate(session, session_id, candidate_id)
            kind, filename, data = _upload_args()
            material = materials.upload_material(session, exam_session, candidate, kind, filename, data, _actor())
            name = material.filename
    except ServiceError as exc:
        if exc.status == 403 or exc.status == 404:
            raise
        return _staff_page(session_id, candidate_id, exc, exc.status)
    flash(_("%(name)s uploaded.", name=name))
    return redirect(url_for("sessions.materials_page", session_id=session_id, candidate_id=candidate_id))


@bp.route("/<int:session_id>/materials/<int:material_id>/delete", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def delete_material(session_id: int, material_id: int) -> Any:
    session = get_session()
    exam_session = service.get_session_row(session, session_id)
    candidate_id = materials.get_material(session, exam_session, material_id).candidate_id
    try:
        with unit_of_work() as session:
            materials.delete_material(session, service.get_session_row(session, session_id), material_id, _actor())
    except ServiceError as exc:
        if exc.status == 403 or exc.status == 404:
            raise
        return _staff_page(session_id, candidate_id, exc, exc.status)
    flash(_("File deleted."))
    return redirect(url_for("sessions.materials_page", session_id=session_id, candidate_id=candidate_id))


@bp.route("/<int:session_id>/materials/<int:material_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def download_material(session_id: int, material_id: int) -> Any:
    session = get_session()
    exam_session = service.get_session_row(session, session_id)
    return _download(materials.fetch_material(session, exam_session, material_id, current_user))


# --- the candidate's own page ("我的评审材料") ----------------------------------------------------

def _me(candidate_id: int) -> Candidate:
    return get_session().get(Candidate, candidate_id)


@mine_bp.context_processor
def _mine_globals() -> dict[str, Any]:
    return {"localised": localised}


def _mine_page(candidate_id: int, error: ServiceError | None = None, error_for: int | None = None,
               form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    me = _me(candidate_id)
    return render_template("sessions/my_materials.html", me=me, reviews=materials.own_reviews(get_session(), me),
                           error=error, error_for=error_for, form=form or {},
                           max_mb=current_app.config["REVIEW_MATERIAL_MAX_BYTES"] / 1_000_000,
                           max_files=current_app.config["REVIEW_MATERIAL_MAX_FILES"]), status


@mine_bp.route("")
@candidate_required
def mine(candidate_id: int) -> Any:
    return _mine_page(candidate_id)


@mine_bp.route("/<int:registration_id>", methods=["POST"])
@candidate_required
def upload_mine(candidate_id: int, registration_id: int) -> Any:
    try:
        with unit_of_work() as session:
            me = session.get(Candidate, candidate_id)
            exam_session, registration = materials.own_registration(session, me, registration_id)
            kind, filename, data = _upload_args()
            material = materials.upload_material(session, exam_session, registration, kind, filename, data, me)
            name = material.filename
    except ServiceError as exc:
        if exc.status == 403 or exc.status == 404:
            raise
        return _mine_page(candidate_id, exc, registration_id, request.form, exc.status)
    flash(_("%(name)s uploaded.", name=name))
    return redirect(url_for("my_materials.mine"))


@mine_bp.route("/<int:registration_id>/<int:material_id>/delete", methods=["POST"])
@candidate_required
def delete_mine(candidate_id: int, registration_id: int, material_id: int) -> Any:
    try:
        with unit_of_work() as session:
            me = session.get(Candidate, candidate_id)
            exam_session, registration = materials.own_registration(session, me, registration_id)
            _own_material(session, exam_session, registration, material_id)
            materials.delete_material(session, exam_session, material_id, me)
    except ServiceError as exc:
        if exc.status == 403 or exc.status == 404:
            raise
        return _mine_page(candidate_id, exc, registration_id, status=exc.status)
    flash(_("File deleted."))
    return redirect(url_for("my_materials.mine"))


def _own_material(session: Any, exam_session: ExamSession, registration: Candidate,
                  material_id: int) -> materials.ReviewMaterial:
    """A file of this registration: one of another candidate of the same session is not found here."""
    material = materials.get_material(session, exam_session, material_id)
    if material.candidate_id != registration.id:
        raise NotFound("评审材料不存在", "review material not found", field="material_id")
    return material


@mine_bp.route("/<int:registration_id>/<int:material_id>")
@candidate_required
def download_mine(candidate_id: int, registration_id: int, material_id: int) -> Any:
    session = get_session()
    exam_session, registration = materials.own_registration(session, _me(candidate_id), registration_id)
    _own_material(session, exam_session, registration, material_id)
    return _download(materials.fetch_material(session, exam_session, material_id, _me(candidate_id)))


# --- the candidate's JSON API --------------------------------------------------------------------

def material_json(material: materials.ReviewMaterial) -> dict[str, Any]:
    return {"id": material.id, "candidate_id": material.candidate_id, "kind": material.kind,
            "filename": material.filename, "content_type": material.content_type, "size": material.size,
            "sha256": material.sha256, "by_candidate": material.by_candidate,
            "uploaded_at": material.uploaded_at.isoformat()}


@mine_api.route("")
@candidate_required
def mine_json(candidate_id: int) -> Any:
    reviews = materials.own_reviews(get_session(), _me(candidate_id))
    return jsonify(reviews=[{
        "candidate_id": r.candidate.id, "session_id": r.exam_session.id, "title": r.exam_session.title,
        "exam_date": r.exam_session.exam_date.isoformat(), "open": r.closed is None,
        "materials": [material_json(m) for m in r.materials]} for r in reviews])


@mine_api.route("/<int:registration_id>", methods=["POST"])
@candidate_required
def upload_mine_json(candidate_id: int, registration_id: int) -> Any:
    with unit_of_work() as session:
        me = session.get(Candidate, candidate_id)
        exam_session, registration = materials.own_registration(session, me, registration_id)
        kind, filename, data = _upload_args()
        payload = material_json(materials.upload_material(session, exam_session, registration, kind, filename,
                                                          data, me))
    return jsonify(payload), 201


@mine_api.route("/<int:registration_id>/<int:material_id>", methods=["DELETE"])
@candidate_required
def delete_mine_json(candidate_id: int, registration_id: int, material_id: int) -> Any:
    with unit_of_work() as session:
        me = session.get(Candidate, candidate_id)
        exam_session, registration = materials.own_registration(session, me, registration_id)
        _own_material(session, exam_session, registration, material_id)
        materials.delete_material(session, exam_session, material_id, me)
    return "", 204
