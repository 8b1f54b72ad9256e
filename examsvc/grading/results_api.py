"""The results JSON API: a session's tally and rows, theory scoring, publication with a notice
period (公示), review decisions (复核), confirmation and export.

A candidate's own results and review requests are under ``/exam/api/results`` (candidate sign-in,
see :mod:`examsvc.grading.result_routes`).
"""

from __future__ import annotations

import io
from typing import Any

from flask import send_file
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.audit.service import record
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.grading import reports, results
from examsvc.grading.models import ReviewRequest
from examsvc.grading.result_routes import EXPORT_TYPES
from examsvc.grading.routes import exam_session_for
from examsvc.grading.service import score_session
from examsvc.sessions.models import ExamSession

bp = Blueprint("api_results", __name__, url_prefix="/results",
               description="Results: tally, publication (公示), reviews (复核), confirmation, export")


def _user() -> Any:
    return current_user._get_current_object()


class ReviewRequestSchema(Schema):
    id = fields.Integer()
    score_id = fields.Integer()
    reason = fields.String()
    requested_at = fields.DateTime()
    status = fields.String()
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision = fields.String(allow_none=True)


class SessionResultRowSchema(Schema):
    candidate_id = fields.Function(lambda r: r.candidate.id)
    ticket_number = fields.Function(lambda r: r.candidate.ticket_number)
    name = fields.Function(lambda r: r.candidate.name)
    id_masked = fields.Function(lambda r: r.candidate.id_masked)
    score_id = fields.Function(lambda r: r.score.id if r.score else None)
    score = fields.Function(lambda r: r.score.score if r.score else None)
    passed = fields.Function(lambda r: r.score.passed if r.score else None)
    method = fields.Function(lambda r: r.score.method if r.score else None)
    reviews = fields.List(fields.Nested(ReviewRequestSchema))


class ResultPublicationSchema(Schema):
    published_at = fields.DateTime()
    notice_until = fields.Date()
    confirmed_at = fields.DateTime(allow_none=True)


class SessionTallySchema(Schema):
    session_id = fields.Integer()
    component = fields.String()
    registered = fields.Integer()
    scored = fields.Integer()
    unscored = fields.Integer()
    passed = fields.Integer()
    failed = fields.Integer()
    absent = fields.Integer()
    open_reviews = fields.Integer()
    publication = fields.Nested(ResultPublicationSchema, allow_none=True)
    rows = fields.List(fields.Nested(SessionResultRowSchema))


class PublishResultsBody(Schema):
    notice_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=30))


class ReviewDecisionBody(Schema):
    decision = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    new_score = fields.Float(load_default=None, allow_none=True)


class ResultsExportQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class ConfirmedPassRecordSchema(Schema):
    id = fields.Integer()
    occupation_code = fields.String()
    level = fields.String()
    name = fields.String()
    id_masked = fields.String()
    scores = fields.Dict()


def _tally(exam_session: ExamSession) -> dict[str, Any]:
    session = get_session()
    data = reports.tally(session, exam_session)
    return {"session_id": exam_session.id, "component": data.component, "registered": data.registered,
            "scored": data.scored, "unscored": data.unscored, "passed": data.passed, "failed": data.failed,
            "absent": data.absent, "open_reviews": data.open_reviews,
            "publication": reports.publication_of(session, exam_session), "rows": data.rows}


@bp.route("/sessions/<int:session_id>")
class SessionResults(MethodView):
    @bp.response(200, SessionTallySchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, session_id: int) -> Any:
        """The session's tally and every candidate's score and reviews."""
        return _tally(exam_session_for(session_id, Permission.INSTITUTION_MANAGE))


@bp.route("/sessions/<int:session_id>/score")
class ScoreTheory(MethodView):
    @bp.response(200, SessionTallySchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, session_id: int) -> Any:
        """Score a closed theory session against its locked forms (absent candidates score 0)."""
        with unit_of_work() as session:
            score_session(session, exam_session_for(session_id, Permission.INSTITUTION_MANAGE), _user())
        return _tally(exam_session_for(session_id, Permission.INSTITUTION_MANAGE))


@bp.route("/sessions/<int:session_id>/publication")
class Publication(MethodView):
    @bp.arguments(PublishResultsBody)
    @bp.response(201, ResultPublicationSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Publish the results for the notice period (公示); every candidate must have a score."""
        with unit_of_work() as session:
            publication = results.publish_results(session, exam_session_for(session_id, Permission.INSTITUTION_MANAGE),
                                                  _user(), body["notice_days"])
        return publication


@bp.route("/sessions/<int:session_id>/confirmation")
class Confirmation(MethodView):
    @bp.response(201, ConfirmedPassRecordSchema(many=True))
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, session_id: int) -> Any:
        """Confirm after the notice period with no open review; returns the pass records created."""
        with unit_of_work() as session:
            records = results.confirm_results(session, exam_session_for(session_id, Permission.INSTITUTION_MANAGE),
                                              _user())
        return records


@bp.route("/reviews/<int:review_id>/decision")
class ReviewDecision(MethodView):
    @bp.arguments(ReviewDecisionBody)
    @bp.response(200, ReviewRequestSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], review_id: int) -> Any:
        """Uphold a score under review, or change it (recorded as a score change)."""
        with unit_of_work() as session:
            review = session.get(ReviewRequest, review_id)
            if review is None:
                raise NotFound("复核申请不存在", "review request not found", field="review_id")
            exam_session_for(results.get_score(session, review.score_id).session_id, Permission.INSTITUTION_MANAGE)
            results.decide_review(session, review, _user(), body["decision"], body["new_score"])
        return review


@bp.route("/sessions/<int:session_id>/export")
class Export(MethodView):
    @bp.arguments(ResultsExportQuery, location="query")
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, query: dict[str, Any], session_id: int) -> Any:
        """The session's results as an Excel workbook or a CSV file (audited)."""
        exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
        with unit_of_work() as session:
            data = reports.export_results(reports.tally(session, exam_session), query["format"])
            record(session, _user(), "results.export", exam_session, {"format": query["format"]})
        return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[query["format"]], as_attachment=True,
                         download_name=f"results-{exam_session.exam_date:%Y%m%d}-{exam_session.id}.{query['format']}")
