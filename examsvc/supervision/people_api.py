"""JSON API of people and supervision under ``/api/v1/people``: supervisor cards, the examiner
registry switch (Art. 35-36), recorded draws (Art. 37), inspections and findings (Art. 38), credit (Art. 39)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.accounts.models import User
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.sessions.models import ExamSession
from examsvc.supervision import credit, draws, inspections, registry
from examsvc.supervision.people_models import Draw

bp = Blueprint("api_people", __name__, url_prefix="/people",
               description="Supervisor cards, examiner registry, random draws, inspections, findings, credit (seed Art. 35-39)")


def _actor() -> Any:
    return current_user._get_current_object()


def _get(session: Any, model: Any, ident: int, what: str, field: str) -> Any:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{what}不存在", f"{field} not found", field=field)
    return row


class SupervisorCardSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(required=True)
    card_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    jurisdiction = fields.String(required=True, validate=validate.OneOf(registry.JURISDICTIONS))
    training_note = fields.String(load_default="", validate=validate.Length(max=2000))


class ExaminerRegistrySwitch(Schema):
    jurisdiction = fields.String(required=True, validate=validate.OneOf(registry.JURISDICTIONS))
    examiner_registry_on = fields.Boolean(required=True)


class SupervisionDrawSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    purpose = fields.String()
    session_id = fields.Integer(allow_none=True)
    seed = fields.String()
    algorithm = fields.String()
    candidates = fields.List(fields.Integer())
    weights = fields.List(fields.Integer(), allow_none=True,
                          metadata={"description": "each candidate's weight, of a draw weighted by credit grade; "
                                                   "null for a plain draw"})
    k = fields.Integer()
    result = fields.List(fields.Integer())
    drawn_at = fields.DateTime()
    reproduced = fields.Boolean(metadata={"description": "re-running the seed over the candidates gives the result"})


class SupervisorDispatchRequest(Schema):
    session_id = fields.Integer(required=True)
    k = fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    seed = fields.String(load_default=None, validate=validate.Length(max=64))


class InspectionPlanRequest(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(inspections.KINDS))
    institution_count = fields.Integer(required=True, validate=validate.Range(min=1, max=500))
    team_size = fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    matters = fields.String(load_default="", validate=validate.Length(max=5000))
    jurisdiction = fields.String(load_default="", validate=validate.OneOf(("", *registry.JURISDICTIONS)))
    seed = fields.String(load_default=None, validate=validate.Length(max=50))
    weighted = fields.Boolean(load_default=True, metadata={
        "description": "draw institutions weighted by credit grade (CREDIT_DRAW_WEIGHTS; lower credit, likelier)"})


class InspectionPlanSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    matters = fields.String()
    jurisdiction = fields.String()
    institution_draw = fields.Nested(SupervisionDrawSchema)
    team_draw = fields.Nested(SupervisionDrawSchema)
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    summary = fields.String()


class InspectionPublishRequest(Schema):
    summary = fields.String(load_default="", validate=validate.Length(max=5000))


class ChecklistVerdict(Schema):
    ok = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class SupervisionFindingRequest(Schema):
    session_id = fields.Integer(required=True)
    plan_id = fields.Integer(load_default=None)
    items = fields.Dict(keys=fields.String(validate=validate.OneOf(list(inspections.CHECKLIST))),
                        values=fields.Nested(ChecklistVerdict), required=True)


class SupervisionFindingSchema(Schema):
    id = fields.Integer()
    session_id = fields.Integer()
    institution_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    supervisor_id = fields.Integer()
    items = fields.Dict()
    problems = fields.Integer()
    filed_at = fields.DateTime()


class CreditGradeSchema(Schema):
    institution_id = fields.Integer()
    score = fields.Float()
    grade = fields.String()
    findings = fields.Integer()
    problems = fields.Integer()
    inspections_per_year = fields.Integer()
    last_inspected = fields.Date(allow_none=True)
    next_due = fields.Date()
    institution_name = fields.String()
    draw_weight = fields.Integer()
    overdue_days = fields.Integer()


def _draw(row: Draw) -> dict[str, Any]:
    data = {column.name: getattr(row, column.name) for column in row.__table__.columns}
    return {**data, "reproduced": draws.rerun_draw(row) == list(row.result)}


def _plan(session: Any, plan: Any) -> dict[str, Any]:
    institutions, team = inspections.plan_draws(session, plan)
    data = {column.name: getattr(plan, column.name) for column in plan.__table__.columns}
    return {**data, "institution_draw": _draw(institutions), "team_draw": _draw(team)}


@bp.route("/cards")
class Cards(MethodView):
    @bp.response(200, SupervisorCardSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Quality supervisor cards (外督证卡, Art. 36)."""
        return registry.supervisor_cards(get_session())

    @bp.arguments(SupervisorCardSchema)
    @bp.response(201, SupervisorCardSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Register a supervisor card the regulator issued; the holder has the quality supervisor role."""
        with unit_of_work() as session:
            holder = _get(session, User, body.pop("user_id"), "用户", "user_id")
            card = registry.register_supervisor_card(session, holder=holder, actor=_actor(), **body)
        return card


@bp.route("/registry")
class Registry(MethodView):
    @bp.response(200, ExaminerRegistrySwitch(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Each jurisdiction's examiner registry switch (Art. 35)."""
        return [{"jurisdiction": j, "examiner_registry_on": on} for j, on in registry.registry_settings(get_session()).items()]

    @bp.arguments(ExaminerRegistrySwitch)
    @bp.response(200, ExaminerRegistrySwitch)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Turn a jurisdiction's examiner registry on (examiners outside it can no longer be assigned) or off."""
        with unit_of_work() as session:
            registry.set_examiner_registry(session, body["jurisdiction"], body["examiner_registry_on"], _actor())
        return body


@bp.route("/draws/dispatch")
class Dispatch(MethodView):
    @bp.arguments(SupervisorDispatchRequest)
    @bp.response(201, SupervisionDrawSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Draw external supervisors for a session from valid card holders (Art. 37); the seed is recorded."""
        with unit_of_work() as session:
            exam_session = _get(session, ExamSession, body["session_id"], "场次", "session_id")
            row = draws.dispatch_to_session(session, exam_session, body["k"], body["seed"], _actor())
            return _draw(row)


@bp.route("/draws/<int:draw_id>")
class DrawById(MethodView):
    @bp.response(200, SupervisionDrawSchema)
    @permission_required(Permission.REGULATE)
    def get(self, draw_id: int) -> Any:
        """A draw with its seed and candidates, re-run to check its result."""
        return _draw(_get(get_session(), Draw, draw_id, "抽取记录", "draw_id"))


@bp.route("/inspections")
class Inspections(MethodView):
    @bp.response(200, InspectionPlanSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Inspection plans, newest first."""
        session = get_session()
        return [_plan(session, p) for p in inspections.list_plans(session)]

    @bp.arguments(InspectionPlanRequest)
    @bp.response(201, InspectionPlanSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Draw institutions and a team (a special inspection needs 3 or more supervisors, Art. 38)."""
        with unit_of_work() as session:
            plan = inspections.create_plan(session, actor=_actor(), **body)
            return _plan(session, plan)


@bp.route("/inspections/<int:plan_id>/publish")
class Publish(MethodView):
    @bp.arguments(InspectionPublishRequest)
    @bp.response(200, InspectionPlanSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], plan_id: int) -> Any:
        """Publish the plan's results (一公开) on the public findings page."""
        with unit_of_work() as session:
            plan = inspections.publish_plan(session, inspections.get_plan(session, plan_id), body["summary"], _actor())
            return _plan(session, plan)


@bp.route("/findings")
class Findings(MethodView):
    @bp.response(200, SupervisionFindingSchema(many=True))
    @permission_required(Permission.SESSION_SUPERVISE)
    def get(self) -> Any:
        """The findings you filed."""
        return inspections.findings_of(get_session(), supervisor_id=current_user.id)

    @bp.arguments(SupervisionFindingRequest)
    @bp.response(201, SupervisionFindingSchema)
    @permission_required(Permission.SESSION_SUPERVISE)
    def post(self, body: dict[str, Any]) -> Any:
        """File findings on a session, every checklist item ok or a problem with a note."""
        with unit_of_work() as session:
            exam_session = _get(session, ExamSession, body["session_id"], "场次", "session_id")
            plan = inspections.get_plan(session, body["plan_id"]) if body["plan_id"] is not None else None
            return inspections.file_finding(session, exam_session=exam_session, items=body["items"], plan=plan,
                                            actor=_actor())


@bp.route("/credit")
class Credit(MethodView):
    @bp.response(200, CreditGradeSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Institutions' credit grades from findings, lowest score first, with inspections per year (Art. 39)."""
        return credit.credit_table(get_session(), current_app.config)


@bp.route("/credit/overdue")
class Overdue(MethodView):
    @bp.response(200, CreditGradeSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Institutions overdue for inspection given their grade's inspections per year, longest overdue first."""
        return credit.overdue(get_session(), current_app.config)
