"""Analysis pages (试题质量分析): runs with their progress, the session report, the item report with
its plots, exports, and the regulator's bank quality view; plus the flag badges the bank's pages
show (template globals, so the bank's templates need one line each).

Run pages and exports are for the staff of the institutions whose sessions a run analysed and for
regulators; item reports also for bank-wide readers (writers, reviewers). Rows are looked up before
access is checked, so a run that does not exist is 404 for everyone who holds the permission.
"""

from __future__ import annotations

from typing import Any, Iterable

from flask import Blueprint, Flask, Response, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.analysis import export, service
from examsvc.analysis.models import AnalysisRun, ItemStatistic
from examsvc.app import current_locale
from examsvc.clock import local_time
from examsvc.auth import Permission, has_permission, permission_required, permitted_institutions, require_permission
from examsvc.bank.models import ExamBlueprint, ItemVersion
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError
from examsvc.grading.models import ResultPublication
from examsvc.jobs.worker import kick
from examsvc.sessions.models import ExamSession

bp = Blueprint("analysis", __name__, url_prefix="/analysis")
FORM_PLOTS = ("histogram", "information")
ITEM_PLOTS = ("trace", "icc")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(analysis_for_items)
    app.add_template_global(flag_names, "analysis_flag_names")
    app.add_template_global(flag_message, "analysis_flag_message")
    app.add_template_global(may_open_item_report)


def _zh() -> bool:
    return current_locale().startswith("zh")


def _user() -> Any:
    return current_user._get_current_object()


def flag_names() -> dict[str, str]:
    return {"too_hard": _("Too hard"), "too_easy": _("Too easy"), "negative_discrimination": _("Negative discrimination"),
            "low_discrimination": _("Low discrimination"), "probable_miskey": _("Probable miskey"),
            "nonfunctioning_distractor": _("Distractor hardly chosen"), "high_missing": _("Often unanswered"),
            "dif_c": _("DIF class C"), "dif_b": _("DIF class B"), "poor_fit": _("Poor model fit")}


def flag_message(flag: dict[str, Any]) -> str:
    return flag.get("message") if _zh() else flag.get("message_en", flag.get("message", ""))


def analysis_for_items(item_ids: Iterable[int]) -> dict[int, ItemStatistic]:
    """Template global for the bank's lists: item id -> the latest statistic of any of its versions."""
    return service.latest_for_items(get_session(), list(item_ids))


def may_open_item_report(statistic: ItemStatistic) -> bool:
    run = get_session().get(AnalysisRun, statistic.run_id)
    return run is not None and service.may_view_item_statistics(current_user, run)


@bp.context_processor
def _analysis_globals() -> dict[str, Any]:
    return {"flag_names": flag_names(), "zh": _zh(), "local_time": local_time,
            "analysis_is_regulator": has_permission(current_user, Permission.REGULATE),
            "variable_names": {"language": _("Exam language"), "gender": _("Gender"), "institution": _("Institution")},
            "status_names": {"queued": _("Queued"), "running": _("Running"), "done": _("Done"), "failed": _("Failed")}}


# --- runs -----------------------------------------------------------------------------------

def _run(run_id: int, *, item_level: bool = False) -> AnalysisRun:
    run = service.get_run(get_session(), run_id)
    service.require_run_access(current_user, run, item_level=item_level)
    return run


def _exam_session(session_id: int) -> ExamSession:
    exam_session = get_session().get(ExamSession, session_id)
    if exam_session is None:
        raise NotFound(f"场次 {session_id} 不存在", f"session {session_id} not found", field="session_id")
    require_permission(current_user, Permission.INSTITUTION_VIEW, exam_session.institution_id)
    return exam_session


def _may_start(exam_session: ExamSession) -> bool:
    return service.may_analyse(get_session(), current_user, exam_session)


@bp.route("/")
@permission_required(Permission.INSTITUTION_VIEW)
def list_runs() -> Any:
    session = get_session()
    runs = [r for r in session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(300))
            if service.may_view_run(current_user, r)]
    blueprints = {b.id: b for b in session.scalars(select(ExamBlueprint).where(
        ExamBlueprint.id.in_({r.blueprint_id for r in runs})))} if runs else {}
    states = {r.id: service.run_state(session, r) for r in runs}
    return render_template("analysis/runs.html", runs=runs, blueprints=blueprints, states=states)


def _session_page(exam_session: ExamSession, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    runs = service.runs_for_session(session, exam_session.id)
    allowed = permitted_institutions(current_user, Permission.INSTITUTION_MANAGE)
    if has_permission(current_user, Permission.REGULATE):
        allowed = None
    query = (select(ExamSession).join(ResultPublication, ResultPublication.session_id == ExamSession.id)
             .where(ExamSession.blueprint_id == exam_session.blueprint_id, ExamSession.id != exam_session.id,
                    ResultPublication.confirmed_at.is_not(None)).order_by(ExamSession.exam_date.desc()))
    if allowed is not None:
        query = query.where(ExamSession.institution_id.in_(allowed or {-1}))
    confirmed = session.scalar(select(ResultPublication.confirmed_at).where(
        ResultPublication.session_id == exam_session.id))
    return render_template("analysis/session.html", exam_session=exam_session, runs=runs,
                           states={r.id: service.run_state(session, r) for r in runs},
                           others=[s for s in session.scalars(query) if service.may_analyse(session, current_user, s)]
                           if _may_start(exam_session) else [],
                           may_start=_may_start(exam_session) and confirmed is not None, confirmed=confirmed,
                           blueprint=session.get(ExamBlueprint, exam_session.blueprint_id), error=error), status


@bp.route("/sessions/<int:session_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def session_report(session_id: int) -> Any:
    return _session_page(_exam_session(session_id))


@bp.route("/sessions/<int:session_id>/runs", methods=["POST"])
@permission_required(Permission.INSTITUTION_VIEW)
def start_run(session_id: int) -> Any:
    exam_session = _exam_session(session_id)
    ids = [exam_session.id] + [int(i) for i in request.form.getlist("session_ids") if i.isdecimal()]
    try:
        with unit_of_work() as session:
            run = service.start_analysis(session, ids, _user())
    except ServiceError as exc:
        if exc.status == 403:
            raise
        return _session_page(exam_session, exc, exc.status)
    kick()
    return redirect(url_for("analysis.show_run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def show_run(run_id: int) -> Any:
    run = _run(run_id)
    session = get_session()
    statistics = service.run_statistics(session, run.id) if run.status == "done" else []
    versions = {v.id: v for v in session.scalars(select(ItemVersion).where(
        ItemVersion.id.in_([s.item_version_id for s in statistics])))} if statistics else {}
    sessions = list(session.scalars(select(ExamSession).where(ExamSession.id.in_(run.session_ids))))
    return render_template("analysis/run.html", run=run, state=service.run_state(session, run), statistics=statistics,
                           versions=versions, sessions=sessions, blueprint=session.get(ExamBlueprint, run.blueprint_id),
                           item_reports=service.may_view_item_statistics(current_user, run))


def _svg(text: str) -> Response:
    response = make_response(text)
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=3600"  # a finished run never changes
    return response


@bp.route("/runs/<int:run_id>/forms/<int:paper_id>/<kind>.svg")
@permission_required(Permission.INSTITUTION_VIEW)
def form_plot(run_id: int, paper_id: int, kind: str) -> Any:
    run = _run(run_id)
    form = next((f for f in (run.summary or {}).get("forms", []) if f["paper_id"] == paper_id), None)
    if kind not in FORM_PLOTS or form is None or not form.get("analysed"):
        raise NotFound("没有这张图", "no such plot", field="kind")
    from examsvc.analysis import plots

    if kind == "histogram":
        return _svg(plots.score_histogram(form["score"]["frequencies"], mean=form["score"]["mean"], zh=_zh()))
    if not form.get("information"):
        raise NotFound("本次分析未做 IRT 标定", "the run has no IRT calibration", field="kind")
    return _svg(plots.test_information_plot(form["information"]["theta"], form["information"]["information"], zh=_zh()))


@bp.route("/runs/<int:run_id>/items/<int:version_id>")
@permission_required(Permission.BANK_READ)
def item_report(run_id: int, version_id: int) -> Any:
    session = get_session()
    run = service.get_run(session, run_id)
    statistic = service.get_statistic(session, run_id, version_id)
    service.require_run_access(current_user, run, item_level=True)
    version = session.get(ItemVersion, version_id)
    history = service.statistics_history(session, version_id)
    return render_template("analysis/item.html", run=run, statistic=statistic, version=version, history=history,
                           run_access=service.may_view_run(current_user, run),
                           history_access={s.id: service.may_view_item_statistics(
                               current_user, session.get(AnalysisRun, s.run_id)) for s in history})


@bp.route("/runs/<int:run_id>/items/<int:version_id>/<kind>.svg")
@permission_required(Permission.BANK_READ)
def item_plot(run_id: int, version_id: int, kind: str) -> Any:
    session = get_session()
    run = service.get_run(session, run_id)
    statistic = service.get_statistic(session, run_id, version_id)
    service.require_run_access(current_user, run, item_level=True)
    from examsvc.analysis import plots

    trace = (statistic.distractors or {}).get("trace")
    if kind == "trace" and trace:
        return _svg(plots.option_trace(trace["score"], trace["shares"], statistic.distractors["key"], zh=_zh()))
    if kind == "icc" and statistic.irt_a is not None and statistic.irt_b is not None:
        return _svg(plots.item_characteristic(statistic.irt_a, statistic.irt_b, statistic.irt_c,
                                              statistic.details.get("icc_observed"), zh=_zh()))
    raise NotFound("没有这张图", "no such plot", field="kind")


@bp.route("/runs/<int:run_id>/export.<fmt>")
@permission_required(Permission.INSTITUTION_VIEW)
def export_run(run_id: int, fmt: str) -> Any:
    run = _run(run_id)
    if fmt not in ("xlsx", "csv") or run.status != "done":
        raise NotFound("没有该导出", "no such export", field="fmt")
    statistics = service.run_statistics(get_session(), run.id)
    if fmt == "xlsx":
        body, media = export.to_xlsx(run, statistics), XLSX
        name = f"analysis-{run.id}.xlsx"
    else:
        table = request.args.get("table", "items")
        if table not in export.TABLES:
            raise NotFound("没有该表", "no such table", field="table")
        body, media, name = export.to_csv(run, statistics, table), "text/csv; charset=utf-8", f"analysis-{run.id}-{table}.csv"
    response = make_response(body)
    response.headers["Content-Type"] = media
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the regulator's bank quality view ------------------------------------------------------

@bp.route("/quality")
@permission_required(Permission.REGULATE)
def quality_overview() -> Any:
    return render_template("analysis/quality.html", rows=service.quality_overview(get_session()))


@bp.route("/quality/<int:blueprint_id>")
@permission_required(Permission.REGULATE)
def quality_blueprint(blueprint_id: int) -> Any:
    session = get_session()
    blueprint = session.get(ExamBlueprint, blueprint_id)
    if blueprint is None:
        raise NotFound(f"考核蓝图 {blueprint_id} 不存在", f"blueprint {blueprint_id} not found", field="blueprint_id")
    return render_template("analysis/quality_blueprint.html", blueprint=blueprint,
                           rows=service.bank_quality(session, blueprint_id))
