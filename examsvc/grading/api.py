"""The grading JSON API: examiner panels (blind), chief resolutions, cards, recusals and absences.

The same service functions as the pages; refusals answer ``{code, message, field}`` (an eligibility
refusal is 403 with ``code`` ``examiner.<rule>``). Results are in :mod:`examsvc.grading.results_api`.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required, require_permission
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ValidationFailed
from examsvc.grading import examiners, panel
from examsvc.grading.routes import candidate_of, exam_session_for
from examsvc.sessions.models import ExamSession

bp = Blueprint("api_grading", __name__, url_prefix="/grading",
               description="Examiner panels (考评组): cards, recusal, blind rubric scores, chief resolutions")


def _user() -> Any:
    return current_user._get_current_object()


class ExaminerEligibilitySchema(Schema):
    allowed = fields.Boolean()
    code = fields.String()
    reason = fields.String()
    reason_en = fields.String()


class ExaminerTaskScoreSchema(Schema):
    id = fields.Integer()
    slot = fields.Integer()
    examiner_id = fields.Integer()
    criteria = fields.Dict(keys=fields.String(), values=fields.Float())
    total = fields.Float()
    submitted_at = fields.DateTime()
    vetoes = fields.List(fields.String(), metadata={"description": "veto items (否决项) marked: the total is 0"})
    veto_note = fields.String()


class ChiefResolutionSchema(Schema):
    id = fields.Integer()
    task_code = fields.String()
    chief_id = fields.Integer()
    spread = fields.Float()
    resolved_total = fields.Float()
    reason = fields.String()
    resolved_at = fields.DateTime()


class PanelTaskSchema(Schema):
    task_code = fields.Function(lambda s: s.task.code)
    title = fields.Function(lambda s: s.task.title)
    points = fields.Function(lambda s: s.task.points)
    rubric = fields.Function(lambda s: [{"code": c.code, "description": c.description, "points": c.points,
                                         "deduction_rule": c.deduction_rule} for c in s.task.rubric])
    veto_items = fields.Function(lambda s: list(s.task.vetoes), metadata={
        "description": "the task's veto items (否决项), numbered from 1 in this order"})
    materials = fields.Function(lambda s: list(s.task.materials))
    equipment = fields.Function(lambda s: list(s.task.equipment))
    vetoed = fields.Boolean(metadata={"description": "a visible examiner's row marks a veto item"})
    needed = fields.Integer()
    count = fields.Integer()
    complete = fields.Boolean()
    scores = fields.List(fields.Nested(ExaminerTaskScoreSchema), metadata={
        "description": "your own row until every examiner has scored; then all of them"})
    spread = fields.Float(allow_none=True)
    needs_resolution = fields.Boolean()
    resolution = fields.Nested(ChiefResolutionSchema, allow_none=True)
    value = fields.Float(allow_none=True)


class CandidatePanelSchema(Schema):
    candidate_id = fields.Integer()
    ticket_number = fields.String()
    name = fields.String()
    eligibility = fields.Nested(ExaminerEligibilitySchema)
    tasks = fields.List(fields.Nested(PanelTaskSchema))


class ExaminerAssignmentSchema(Schema):
    session_id = fields.Integer()
    title = fields.String()
    exam_date = fields.Date()
    chief = fields.Boolean()
    standing = fields.Nested(ExaminerEligibilitySchema)
    candidates = fields.List(fields.Dict())


class RubricScoresBody(Schema):
    scores = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                         metadata={"description": "rubric criterion code -> points awarded ({} with a veto)"})
    vetoes = fields.List(fields.Raw(), load_default=list, metadata={
        "description": "numbers (from 1) of the task's veto items (否决项) marked: the task scores 0"})
    veto_note = fields.String(load_default="", metadata={"description": "what happened; required with a veto"})


class ChiefResolutionBody(Schema):
    resolved_total = fields.Float(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ConflictDeclarationBody(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(examiners.CONFLICT_KINDS)))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class InstitutionConflictBody(ConflictDeclarationBody):
    examiner_id = fields.Integer(required=True)
    candidate_id = fields.Integer(required=True)


class ConflictDeclarationSchema(Schema):
    id = fields.Integer()
    examiner_id = fields.Integer()
    candidate_id = fields.Integer()
    kind = fields.String()
    note = fields.String()
    declared_at = fields.DateTime()


class ExaminerCardBody(Schema):
    user_id = fields.Integer(required=True)
    institution_id = fields.Integer(required=True)
    card_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    grade = fields.String(required=True, validate=validate.OneOf(list(examiners.GRADES)))
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    jurisdiction = fields.String(load_default="", validate=validate.Length(max=100))
    employer = fields.String(load_default="", validate=validate.Length(max=200))
    training_note = fields.String(load_default="", validate=validate.Length(max=2000))


class ExaminerCardSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    card_number = fields.String()
    grade = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    institution_id = fields.Integer(allow_none=True)
    jurisdiction = fields.String()
    employer = fields.String()
    training_note = fields.String()


class AbsentScoreSchema(Schema):
    score_id = fields.Integer()
    score = fields.Float()
    method = fields.String()


class ChiefExaminerBody(Schema):
    user_id = fields.Integer(required=True)


class ChiefExaminerSchema(Schema):
    session_id = fields.Integer()
    user_id = fields.Integer()
    designated_at = fields.DateTime()


def _eligibility(decision: examiners.Eligibility) -> dict[str, Any]:
    return {"allowed": decision.allowed, "code": decision.code, "reason": decision.reason,
            "reason_en": decision.reason_en}


def _panel_view(exam_session: ExamSession, candidate_id: int) -> dict[str, Any]:
    session = get_session()
    candidate = candidate_of(exam_session, candidate_id)
    return {"candidate_id": candidate.id, "ticket_number": candidate.ticket_number, "name": candidate.name,
            "eligibility": _eligibility(examiners.eligibility(session, exam_session, candidate, _user())),
            "tasks": panel.task_states(session, candidate, _user())}


# --- examiners --------------------------------------------------------------------------------

@bp.route("/assignments")
class Assignments(MethodView):
    @bp.response(200, ExaminerAssignmentSchema(many=True))
    @permission_required(Permission.GRADING_SCORE)
    def get(self) -> Any:
        """The skill and review sessions you examine, with each candidate's tasks (counts, and yours)."""
        session = get_session()
        user = _user()
        out = []
        for exam_session in examiners.examiner_sessions(session, user):
            try:
                rows = panel.board(session, exam_session, user)
            except ValidationFailed:  # a theory session has no panel
                continue
            chief = examiners.chief_of(session, exam_session)
            out.append({"session_id": exam_session.id, "title": exam_session.title, "exam_date": exam_session.exam_date,
                        "chief": chief is not None and chief.user_id == user.id,
                        "standing": _eligibility(examiners.standing(session, exam_session, user)),
                        "candidates": [{"candidate_id": r.candidate.id, "ticket_number": r.candidate.ticket_number,
                                        "name": r.candidate.name, "settled": r.settled,
                                        "tasks": {s.task.code: {"count": s.count, "needed": s.needed,
                                                                "scored_by_me": s.mine is not None,
                                                                "needs_resolution": s.needs_resolution}
                                                  for s in r.tasks}} for r in rows]})
        return out


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>")
class CandidatePanel(MethodView):
    @bp.response(200, CandidatePanelSchema)
    @permission_required(Permission.GRADING_SCORE)
    def get(self, session_id: int, candidate_id: int) -> Any:
        """One candidate's tasks as you may see them: blind until every examiner of a task has scored."""
        return _panel_view(exam_session_for(session_id, Permission.GRADING_SCORE), candidate_id)


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/tasks/<task_code>/scores")
class TaskScores(MethodView):
    @bp.arguments(RubricScoresBody)
    @bp.response(201, ExaminerTaskScoreSchema)
    @permission_required(Permission.GRADING_SCORE)
    def post(self, body: dict[str, Any], session_id: int, candidate_id: int, task_code: str) -> Any:
        """Submit your rubric scores of a task (final). Refused with the rule when you may not score."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            row = panel.submit_scores(session, candidate_of(exam_session, candidate_id), task_code, _user(),
                                      body["scores"], body["vetoes"], body["veto_note"])
        return row


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/tasks/<task_code>/resolution")
class TaskResolution(MethodView):
    @bp.arguments(ChiefResolutionBody)
    @bp.response(201, ChiefResolutionSchema)
    @permission_required(Permission.GRADING_SCORE)
    def post(self, body: dict[str, Any], session_id: int, candidate_id: int, task_code: str) -> Any:
        """The chief examiner resolves a task whose examiners' totals spread too far, with a reason."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            resolution = panel.resolve_task(session, candidate_of(exam_session, candidate_id), task_code, _user(),
                                            body["resolved_total"], body["reason"])
        return resolution


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/conflict")
class OwnConflict(MethodView):
    @bp.arguments(ConflictDeclarationBody)
    @bp.response(201, ConflictDeclarationSchema)
    @permission_required(Permission.GRADING_SCORE)
    def post(self, body: dict[str, Any], session_id: int, candidate_id: int) -> Any:
        """Declare your own conflict with a candidate (回避): you no longer score them."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            declaration = examiners.declare_conflict(session, examiner=_user(),
                                                     candidate=candidate_of(exam_session, candidate_id),
                                                     kind=body["kind"], note=body["note"], actor=_user())
        return declaration


# --- the institution ------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/conflicts")
class SessionConflicts(MethodView):
    @bp.arguments(InstitutionConflictBody)
    @bp.response(201, ConflictDeclarationSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Record an examiner's conflict with a candidate of the session on their behalf."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
            declaration = examiners.declare_conflict(
                session, examiner=examiners.get_user(session, body["examiner_id"]),
                candidate=candidate_of(exam_session, body["candidate_id"]), kind=body["kind"], note=body["note"],
                actor=_user())
        return declaration


@bp.route("/sessions/<int:session_id>/chief")
class SessionChief(MethodView):
    @bp.arguments(ChiefExaminerBody)
    @bp.response(200, ChiefExaminerSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def put(self, body: dict[str, Any], session_id: int) -> Any:
        """Designate the session's chief examiner (an eligible examiner assigned to it)."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
            chief = examiners.designate_chief(session, exam_session, examiners.get_user(session, body["user_id"]),
                                              _user())
        return chief


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/absent")
class CandidateAbsent(MethodView):
    @bp.response(201, AbsentScoreSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, session_id: int, candidate_id: int) -> Any:
        """Record a candidate absent from a skill or review session: the component scores 0."""
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
            score = panel.mark_absent(session, candidate_of(exam_session, candidate_id), _user())
            return {"score_id": score.id, "score": score.score, "method": score.method}


@bp.route("/examiner-cards")
class ExaminerCards(MethodView):
    @bp.response(200, ExaminerCardSchema(many=True))
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self) -> Any:
        """Cards recorded by your institutions or held by their examiners."""
        from examsvc.grading.routes import visible_cards

        return [card for card, _holder in visible_cards(current_user)]

    @bp.arguments(ExaminerCardBody)
    @bp.response(201, ExaminerCardSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> Any:
        """Record an examiner card of one of the institution's examiners."""
        require_permission(current_user, Permission.INSTITUTION_MANAGE, body["institution_id"])
        with unit_of_work() as session:
            card = examiners.register_card(
                session, holder=examiners.get_user(session, body["user_id"]), card_number=body["card_number"],
                grade=body["grade"], valid_from=body["valid_from"], valid_until=body["valid_until"],
                institution_id=body["institution_id"], jurisdiction=body["jurisdiction"], employer=body["employer"],
                training_note=body["training_note"], actor=_user())
        return card
