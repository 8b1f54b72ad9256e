"""The papers JSON API: assemble (as a job), follow the run, read reports, lock, the answer key.

A skill or review paper has ``tasks`` (position, module, code, title, points, minutes) and no
``items``; its rubric is in the score sheets, for the same people as a theory paper's key."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required, require_permission
from examsvc.bank.models import BlueprintVersion
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.institutions.models import Institution
from examsvc.jobs.worker import kick
from examsvc.papers import service
from examsvc.papers.models import Paper

bp = Blueprint("api_papers", __name__, url_prefix="/papers", description="Papers (试卷) and assembly (组卷)")


class AssembleSchema(Schema):
    institution_id = fields.Integer(required=True)
    blueprint_version_id = fields.Integer(required=True)
    forms = fields.Integer(load_default=1, validate=validate.Range(min=1, max=service.MAX_FORMS))
    overrides = fields.Dict(load_default=dict, metadata={"description": (
        "theory: seed, time_limit, target_difficulty, ... (itembank.assembly.OVERRIDE_KEYS); "
        "skill and review: seed and allow_overlap only")})


class PaperSchema(Schema):
    id = fields.Integer()
    run_id = fields.Integer()
    institution_id = fields.Integer()
    blueprint_version_id = fields.Integer()
    form_label = fields.String()
    title = fields.String()
    status = fields.String()
    duration_minutes = fields.Integer()
    total_points = fields.Float()
    snapshot_hash = fields.String(allow_none=True)
    report = fields.Dict()
    items = fields.Function(lambda p: [{"position": i.position, "item_version_id": i.item_version_id,
                                        "type": i.item_type, "element_code": i.element_code, "points": i.points}
                                       for i in p.items])
    tasks = fields.Function(lambda p: [{"position": t.position, "module_code": t.module_code, "task_code": t.task_code,
                                        "title": t.content["title"], "points": t.points,
                                        "time_minutes": t.content["time_minutes"]} for t in p.tasks])


class PaperBriefSchema(Schema):
    id = fields.Integer()
    form_label = fields.String()
    status = fields.String()


class RunSchema(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    blueprint_version_id = fields.Integer()
    forms = fields.Integer()
    status = fields.Function(lambda r: service.run_state(get_session(), r).status)
    outcome = fields.Dict(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    progress = fields.Function(lambda r: service.run_state(get_session(), r).progress)
    error = fields.Function(lambda r: service.run_state(get_session(), r).error)
    papers = fields.List(fields.Nested(PaperBriefSchema))


class KeySchema(Schema):
    paper_id = fields.Integer()
    snapshot_hash = fields.String(allow_none=True)
    keys = fields.List(fields.Dict())


class PaperRetireSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


def _user() -> Any:
    return current_user._get_current_object()


def _paper(paper_id: int, permission: Permission = Permission.INSTITUTION_VIEW) -> Paper:
    """The paper, once the user may read it (its institution's staff, a regulator of its
    jurisdiction) or, for a managing act, holds INSTITUTION_MANAGE in its own institution: a
    regulator grant never stands in for that."""
    paper = service.get_paper(get_session(), paper_id)
    if permission is Permission.INSTITUTION_MANAGE:
        service.require_manage(_user(), paper.institution_id)
    else:
        service.require_view(get_session(), _user(), paper.institution_id)
    return paper


@bp.route("/assemble")
class Assemble(MethodView):
    @bp.arguments(AssembleSchema)
    @bp.response(202, RunSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> Any:
        """Queue the assembly of parallel forms; poll the run for progress and the papers."""
        require_permission(current_user, Permission.INSTITUTION_MANAGE, body["institution_id"])
        with unit_of_work() as session:
            institution = session.get(Institution, body["institution_id"])
            version = session.get(BlueprintVersion, body["blueprint_version_id"])
            if institution is None or version is None:
                raise NotFound("评价机构或蓝图版本不存在", "institution or blueprint version not found",
                               field="institution_id" if institution is None else "blueprint_version_id")
            run = service.start_assembly(session, institution=institution, blueprint_version=version,
                                         forms=body["forms"], overrides=body["overrides"], actor=_user())
        kick()
        get_session().refresh(run)
        return run


@bp.route("/runs/<int:run_id>")
class RunById(MethodView):
    @bp.response(200, RunSchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, run_id: int) -> Any:
        """An assembly run: its status and progress, the papers, or why the bank falls short."""
        run = service.get_run(get_session(), run_id)
        service.require_view(get_session(), _user(), run.institution_id)
        return run


@bp.route("/<int:paper_id>")
class PaperById(MethodView):
    @bp.response(200, PaperSchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, paper_id: int) -> Paper:
        """A paper with its report (no answer key)."""
        return _paper(paper_id)


@bp.route("/<int:paper_id>/lock")
class LockPaper(MethodView):
    @bp.response(200, PaperSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, paper_id: int) -> Paper:
        """Lock a draft paper; it never changes afterwards."""
        with unit_of_work() as session:
            return service.lock_paper(session, _paper(paper_id, Permission.INSTITUTION_MANAGE), _user())


@bp.route("/<int:paper_id>/retire")
class RetirePaper(MethodView):
    @bp.arguments(PaperRetireSchema)
    @bp.response(200, PaperSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], paper_id: int) -> Paper:
        """Retire a paper so that no session uses it again."""
        with unit_of_work() as session:
            return service.retire_paper(session, _paper(paper_id, Permission.INSTITUTION_MANAGE), _user(),
                                        body["reason"])


@bp.route("/<int:paper_id>/key")
class PaperKey(MethodView):
    @bp.response(200, KeySchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, paper_id: int) -> dict[str, Any]:
        """The answer key, for the paper's institution admins and for regulators only."""
        paper = service.get_paper(get_session(), paper_id)
        service.require_key_access(current_user, paper)
        return {"paper_id": paper.id, "snapshot_hash": paper.snapshot_hash,
                "keys": [{"position": i.position, "key": i.key, "points": i.points} for i in paper.items]}
