"""The analysis JSON API: start a run over confirmed sessions, follow it, read its statistics, the
history of an item version, and a blueprint's flagged items (regulators)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.analysis import service
from examsvc.analysis.models import AnalysisRun
from examsvc.auth import Permission, permission_required, require_permission
from examsvc.bank.models import ExamBlueprint
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.jobs.worker import kick
from examsvc.sessions.models import ExamSession

bp = Blueprint("api_analysis", __name__, url_prefix="/analysis", description="Item and test analysis (试题质量分析)")


class AnalysisStartSchema(Schema):
    session_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=100))


class AnalysisRunSchema(Schema):
    id = fields.Integer()
    blueprint_id = fields.Integer()
    session_ids = fields.List(fields.Integer())
    institution_ids = fields.List(fields.Integer())
    trigger = fields.String()
    status = fields.Function(lambda r: service.run_state(get_session(), r).status)
    progress = fields.Function(lambda r: service.run_state(get_session(), r).progress)
    progress_note = fields.Function(lambda r: service.run_state(get_session(), r).note)
    error = fields.Function(lambda r: service.run_state(get_session(), r).error)
    job_id = fields.Integer(allow_none=True)
    n_examinees = fields.Integer()
    n_items = fields.Integer()
    params = fields.Dict()
    summary = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class AnalysisRunBriefSchema(AnalysisRunSchema):
    class Meta:
        exclude = ("summary", "params")


class ItemStatisticSchema(Schema):
    id = fields.Integer()
    run_id = fields.Integer()
    item_id = fields.Integer()
    item_version_id = fields.Integer()
    item_type = fields.String()
    n = fields.Integer()
    n_missing = fields.Integer()
    facility = fields.Float(allow_none=True)
    discrimination = fields.Float(allow_none=True)
    point_biserial = fields.Float(allow_none=True)
    discrimination_index = fields.Float(allow_none=True)
    irt_model = fields.String(allow_none=True)
    irt_a = fields.Float(allow_none=True)
    irt_a_se = fields.Float(allow_none=True)
    irt_b = fields.Float(allow_none=True)
    irt_b_se = fields.Float(allow_none=True)
    irt_c = fields.Float(allow_none=True)
    irt_c_se = fields.Float(allow_none=True)
    infit = fields.Float(allow_none=True)
    outfit = fields.Float(allow_none=True)
    dif = fields.Dict()
    flags = fields.List(fields.Dict())
    distractors = fields.Dict(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()


class ItemStatisticBriefSchema(ItemStatisticSchema):
    class Meta:
        exclude = ("distractors", "details")


class BankQualitySchema(Schema):
    item_id = fields.Integer()
    item_version_id = fields.Function(lambda row: row.version.id)
    flags = fields.Function(lambda row: row.statistic.flags)
    statistic = fields.Nested(ItemStatisticBriefSchema)


def _run(run_id: int, *, item_level: bool = False) -> AnalysisRun:
    run = service.get_run(get_session(), run_id)
    service.require_run_access(current_user, run, item_level=item_level)
    return run


@bp.route("/runs")
class Runs(MethodView):
    @bp.arguments(AnalysisStartSchema)
    @bp.response(202, AnalysisRunSchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def post(self, body: dict[str, Any]) -> Any:
        """Analyse confirmed sessions of one blueprint (institution managers of every session, or
        regulators); poll the run for progress."""
        with unit_of_work() as session:
            run = service.start_analysis(session, body["session_ids"], current_user._get_current_object())
        kick()
        get_session().refresh(run)
        return run


@bp.route("/runs/<int:run_id>")
class RunById(MethodView):
    @bp.response(200, AnalysisRunSchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, run_id: int) -> Any:
        """A run: status, progress, and when done the test statistics of every form."""
        return _run(run_id)


@bp.route("/runs/<int:run_id>/items")
class RunItems(MethodView):
    @bp.response(200, ItemStatisticSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, run_id: int) -> Any:
        """Every item statistic of a run, distractor tables and flags included."""
        return service.run_statistics(get_session(), _run(run_id).id)


@bp.route("/sessions/<int:session_id>/runs")
class SessionRuns(MethodView):
    @bp.response(200, AnalysisRunBriefSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, session_id: int) -> Any:
        """The runs that analysed a session, newest first."""
        exam_session = get_session().get(ExamSession, session_id)
        if exam_session is None:
            raise NotFound(f"场次 {session_id} 不存在", f"session {session_id} not found", field="session_id")
        require_permission(current_user, Permission.INSTITUTION_VIEW, exam_session.institution_id)
        return service.runs_for_session(get_session(), session_id)


@bp.route("/item-versions/<int:version_id>/statistics")
class VersionStatistics(MethodView):
    @bp.response(200, ItemStatisticSchema(many=True))
    @permission_required(Permission.BANK_READ)
    def get(self, version_id: int) -> Any:
        """The statistics of an item version in every run the caller may see, newest first."""
        session = get_session()
        return [s for s in service.statistics_history(session, version_id)
                if service.may_view_item_statistics(current_user, session.get(AnalysisRun, s.run_id))]


@bp.route("/blueprints/<int:blueprint_id>/quality")
class BlueprintQuality(MethodView):
    @bp.response(200, BankQualitySchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self, blueprint_id: int) -> Any:
        """The blueprint's usable items whose latest statistics carry flags, most severe first."""
        session = get_session()
        if session.get(ExamBlueprint, blueprint_id) is None:
            raise NotFound(f"考核蓝图 {blueprint_id} 不存在", f"blueprint {blueprint_id} not found", field="blueprint_id")
        return service.bank_quality(session, blueprint_id)
