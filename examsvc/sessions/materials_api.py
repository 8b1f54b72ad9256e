"""The review materials JSON API (综合评审材料): list, upload, download and delete a candidate's files.

The same service calls and rules as the pages (:mod:`examsvc.sessions.materials`): the institution's
admins upload and delete; they, the session's unrecused examiners and the covering regulators read.
Candidates, who hold no account, use ``/exam/api/materials`` (:mod:`examsvc.sessions.material_routes`).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.sessions import materials, service
from examsvc.sessions.material_routes import _download

bp = Blueprint("api_materials", __name__, url_prefix="/sessions",
               description="Review materials (综合评审材料) of review sessions' candidates")


class MaterialSchema(Schema):
    id = fields.Integer()
    candidate_id = fields.Integer()
    kind = fields.String(metadata={"enum": list(materials.KINDS)})
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    by_candidate = fields.Boolean(metadata={"description": "uploaded by the candidate, not the institution"})
    uploaded_by = fields.Integer(allow_none=True)
    uploaded_at = fields.DateTime()


class MaterialFormSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(materials.KINDS)),
                         metadata={"description": "performance (业绩材料), summary (技术总结) or thesis (论文)"})


class MaterialFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "PDF, DOCX, JPEG or PNG (judged by its bytes)"})


def _user() -> Any:
    return current_user._get_current_object()


@bp.route("/<int:session_id>/materials")
class SessionMaterials(MethodView):
    @bp.response(200, MaterialSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, session_id: int) -> Any:
        """Every candidate's files the caller may see (admins and regulators: all; a panel examiner:
        all but those of candidates they recused from), without their bytes."""
        session = get_session()
        exam_session = service.get_session_row(session, session_id)
        found = materials.materials_by_candidate(session, exam_session, current_user)
        return [m for rows in found.values() for m in rows]


@bp.route("/<int:session_id>/candidates/<int:candidate_id>/materials")
class CandidateMaterials(MethodView):
    @bp.response(200, MaterialSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, session_id: int, candidate_id: int) -> Any:
        """One candidate's files, oldest first (403 for anyone who may not see them)."""
        session = get_session()
        exam_session = service.get_session_row(session, session_id)
        return materials.list_materials(session, exam_session, service.find_candidate(session, session_id, candidate_id),
                                        current_user)

    @bp.arguments(MaterialFormSchema, location="form")
    @bp.arguments(MaterialFileSchema, location="files")
    @bp.response(201, MaterialSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, form: dict[str, Any], files: dict[str, Any], session_id: int, candidate_id: int) -> Any:
        """Upload a file for the candidate, before the panel begins scoring them (409 after)."""
        upload = files["file"]
        data = upload.read(int(current_app.config["REVIEW_MATERIAL_MAX_BYTES"]) + 1)
        with unit_of_work() as session:
            exam_session = service.get_session_row(session, session_id)
            candidate = service.find_candidate(session, session_id, candidate_id)
            return materials.upload_material(session, exam_session, candidate, form["kind"], upload.filename or "",
                                             data, _user())


@bp.route("/<int:session_id>/materials/<int:material_id>")
class MaterialById(MethodView):
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, session_id: int, material_id: int) -> Any:
        """The file itself, as an attachment with its sanitised name and detected content type."""
        session = get_session()
        exam_session = service.get_session_row(session, session_id)
        return _download(materials.fetch_material(session, exam_session, material_id, current_user))

    @bp.response(204)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def delete(self, session_id: int, material_id: int) -> None:
        """Delete a file, before the panel begins scoring the candidate (409 after)."""
        with unit_of_work() as session:
            materials.delete_material(session, service.get_session_row(session, session_id), material_id, _user())
