"""Analysis runs: who may start one, the background job that runs it, and what the rest of the
service reads back (the latest statistics of item versions, calibrated difficulty for assembly).

A run covers one or more sessions of one theory blueprint whose results are confirmed; confirming
a session's results starts one by itself (:func:`analyse_confirmed_session`). The job
(``analysis.run``) reads the sealed answers, analyses each form with the psychometrics library,
pools an item version seen on several forms, and writes one immutable :class:`ItemStatistic` per
item version — all in the job's one transaction, so a failed run leaves nothing behind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from flask import current_app
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.analysis.compute import analyse_form, minimums_from, pool_rows, thresholds_from
from examsvc.analysis.models import AnalysisRun, AnalysisRunSession, ItemStatistic
from examsvc.analysis.responses import load_forms
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission, permitted_institutions
from examsvc.bank.models import ExamBlueprint, ItemVersion
from examsvc.delivery.models import Attempt
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.grading.models import ResultPublication
from examsvc.institutions.jurisdiction import covers, jurisdiction_of, regulator_jurisdictions
from examsvc.institutions.models import Institution
from examsvc.jobs.models import Job
from examsvc.jobs.service import enqueue, job_handler, mark_done
from examsvc.sessions.models import ExamSession
from itembank.psychometrics import SampleMinimums, to_jsonable

Progress = Callable[[float, str], None]
JOB_KIND = "analysis.run"
IRT_MODELS = ("rasch", "2pl", "3pl", "none")


# --- runs -----------------------------------------------------------------------------------

def get_run(session: Session, run_id: int) -> AnalysisRun:
    run = session.get(AnalysisRun, run_id)
    if run is None:
        raise NotFound(f"分析任务 {run_id} 不存在", f"analysis run {run_id} not found", field="run_id")
    return run


def may_view_run(user: Any, run: AnalysisRun) -> bool:
    """Regulators, and staff of every institution whose sessions the run analysed."""
    return has_permission(user, Permission.REGULATE) or all(
        has_permission(user, Permission.INSTITUTION_VIEW, i) for i in run.institution_ids)


def may_view_item_statistics(user: Any, run: AnalysisRun) -> bool:
    """Item reports: who may see the run, and bank-wide readers (writers, reviewers, regulators)."""
    return may_view_run(user, run) or (has_permission(user, Permission.BANK_READ)
                                       and permitted_institutions(user, Permission.BANK_READ) is None)


def require_run_access(user: Any, run: AnalysisRun, *, item_level: bool = False) -> None:
    if not (may_view_item_statistics(user, run) if item_level else may_view_run(user, run)):
        raise Forbidden("没有权限查看该分析结果", "you may not see this analysis", code="forbidden")


def analysis_params(config: Any) -> dict[str, Any]:
    model = str(config["ANALYSIS_IRT_MODEL"]).lower()
    if model not in IRT_MODELS:
        raise ValidationFailed(f"ANALYSIS_IRT_MODEL 应为 {IRT_MODELS} 之一", f"ANALYSIS_IRT_MODEL must be one of {IRT_MODELS}",
                               field="irt_model")
    return {"irt_model": None if model == "none" else model, "dif_min_group": int(config["ANALYSIS_DIF_MIN_GROUP"]),
            "thresholds": to_jsonable(thresholds_from(config)), "minimums": asdict(minimums_from(config))}


def may_analyse(session: Session, actor: Any, exam_session: ExamSession) -> bool:
    """Who starts an analysis over ``exam_session``: an admin of its institution, or a regulator
    whose jurisdiction takes it (its institution's, or the league/city where it is held). A
    regulator grant of another jurisdiction does not stand in for either."""
    if isinstance(actor, str):  # "system", "cli"
        return True
    if has_permission(actor, Permission.INSTITUTION_MANAGE, exam_session.institution_id):
        return True
    if not regulator_jurisdictions(actor):
        return False
    institution = session.get(Institution, exam_session.institution_id)
    places = {jurisdiction_of(institution)} | ({exam_session.league_city} if exam_session.league_city else set())
    return any(covers(actor, place) for place in places)


def start_analysis(session: Session, session_ids: Iterable[int], actor: Any, *, trigger: str = "manual"
                   ) -> AnalysisRun:
    """Queue a run over ``session_ids``: one theory blueprint, every session's results confirmed.

    A user needs :func:`may_analyse` for every session; ``actor``
    may also be a string (``"system"``, ``"cli"``) for runs the service starts itself.
    """
    ids = sorted({int(i) for i in session_ids})
    if not ids:
        raise ValidationFailed("请选择要分析的场次", "choose the sessions to analyse", field="session_ids")
    sessions = {s.id: s for s in session.scalars(select(ExamSession).where(ExamSession.id.in_(ids)))}
    missing = [i for i in ids if i not in sessions]
    if missing:
        raise NotFound(f"场次 {missing[0]} 不存在", f"session {missing[0]} not found", field="session_ids")
    for exam_session in sessions.values():
        if not may_analyse(session, actor, exam_session):
            raise Forbidden("只能分析本机构或本辖区的场次",
                            "you may analyse your own institution's sessions, or those of your jurisdiction, only",
                            field="session_ids", code="forbidden")
    blueprints = {s.blueprint_id for s in sessions.values()}
    if len(blueprints) != 1:
        raise ValidationFailed("一次分析的场次须属于同一考核蓝图", "the sessions of one run must share a blueprint",
                               field="session_ids")
    blueprint = session.get(ExamBlueprint, blueprints.pop())
    if blueprint.component != "theory":
        raise ValidationFailed("只有理论知识场次可以做试题分析", "item analysis is for theory sessions",
                               field="session_ids")
    confirmed = set(session.scalars(select(ResultPublication.session_id).where(
        ResultPublication.session_id.in_(ids), ResultPublication.confirmed_at.is_not(None))))
    unconfirmed = [i for i in ids if i not in confirmed]
    if unconfirmed:
        raise Conflict(f"场次 {unconfirmed[0]} 的成绩尚未确认", f"the results of session {unconfirmed[0]} are not confirmed",
                       field="session_ids")
    run = AnalysisRun(blueprint_id=blueprint.id, session_ids=ids,
                      institution_ids=sorted({s.institution_id for s in sessions.values()}), trigger=trigger,
                      status="queued", params=analysis_params(current_app.config),
                      created_by=None if isinstance(actor, str) else actor.id, created_at=clock.now())
    session.add(run)
    session.flush()
    session.add_all([AnalysisRunSession(run_id=run.id, session_id=i) for i in ids])
    run.job_id = enqueue(session, JOB_KIND, {"run_id": run.id}, None if isinstance(actor, str) else actor).id
    record(session, actor, "analysis.start", run, {"sessions": ids, "trigger": trigger})
    return run


def analyse_confirmed_session(session: Session, exam_session: ExamSession, actor: Any) -> AnalysisRun | None:
    """Called when a session's results are confirmed: queue its analysis (theory sessions with
    attempts only) and run the job as soon as the confirmation commits."""
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    has_attempts = session.scalar(select(Attempt.id).where(Attempt.session_id == exam_session.id).limit(1))
    if blueprint is None or blueprint.component != "theory" or has_attempts is None:
        return None
    run = start_analysis(session, [exam_session.id], "system", trigger="confirmation")
    _kick_after_commit(session)
    return run


def _kick_after_commit(session: Session) -> None:
    def kick_runner(_session: Session) -> None:
        from examsvc.jobs.worker import kick

        try:
            kick()
        except RuntimeError:  # no app context (a script): the worker's next poll picks the job up
            pass

    event.listen(session, "after_commit", kick_runner, once=True)


@dataclass(frozen=True)
class RunState:
    status: str      # queued | running | done | failed
    progress: float
    note: str
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def run_state(session: Session, run: AnalysisRun) -> RunState:
    """The run's status, with the job's progress and error (a failed job leaves the run unwritten)."""
    job = session.get(Job, run.job_id) if run.job_id else None
    if run.status == "done":
        return RunState("done", 1.0, "", None)
    if job is not None and job.status == "failed":
        return RunState("failed", job.progress, job.progress_note, job.error)
    status = "running" if job is not None and job.status == "running" else run.status
    return RunState(status, job.progress if job else 0.0, job.progress_note if job else "", run.error)


def runs_for_session(session: Session, session_id: int) -> list[AnalysisRun]:
    """Every run that included the session, newest first."""
    return list(session.scalars(select(AnalysisRun).join(AnalysisRunSession, AnalysisRunSession.run_id == AnalysisRun.id)
                                .where(AnalysisRunSession.session_id == session_id).order_by(AnalysisRun.id.desc())))


# --- the job --------------------------------------------------------------------------------

@job_handler(JOB_KIND)
def _analysis_job(session: Session, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    run = get_run(session, params["run_id"])
    if run.status != "done":  # done before: inline, or by a runner that died before recording the job
        run_analysis(session, run, progress)
    return _job_result(run)


def _job_result(run: AnalysisRun) -> dict[str, Any]:
    return {"run_id": run.id, "items": run.n_items, "candidates": run.n_examinees}


def run_analysis(session: Session, run: AnalysisRun, progress: Progress = lambda fraction, note="": None
                 ) -> AnalysisRun:
    """Analyse the run's sessions and store its statistics (see the module docstring)."""
    if run.status == "done":
        raise Conflict("该分析已完成", "the run is already done", field="run_id")
    params = run.params
    thresholds = thresholds_from_params(params["thresholds"])
    # Runs queued before the minimums existed have none in their parameters: analysed as then.
    minimums = SampleMinimums(**params["minimums"]) if params.get("minimums") else None
    progress(0.05, "loading responses")
    forms = load_forms(session, run.session_ids)
    summaries, by_version = [], defaultdict(list)
    for index, form in enumerate(forms):
        progress(0.1 + 0.8 * index / max(1, len(forms)), f"analysing form {form.paper.form_label} ({form.n})")
        result = analyse_form(form, irt_model=params["irt_model"], thresholds=thresholds, minimums=minimums,
                              dif_min_group=params["dif_min_group"])
        summaries.append(result.summary)
        for version_id, row in result.items.items():
            by_version[version_id].append(row)
    progress(0.92, "storing statistics")
    items = dict(session.execute(select(ItemVersion.id, ItemVersion.item_id)
                                 .where(ItemVersion.id.in_(list(by_version)))).all()) if by_version else {}
    now = clock.now()
    rows = [_statistic_row(run.id, version_id, items[version_id], pool_rows(parts), now)
            for version_id, parts in sorted(by_version.items())]
    if rows:
        session.execute(insert(ItemStatistic), rows)
    run.summary = {"forms": summaries}
    run.n_examinees = sum(f.n for f in forms)
    run.n_items = len(rows)
    run.status, run.finished_at = "done", now
    record(session, "system", "analysis.done", run, {"items": len(rows), "candidates": run.n_examinees,
                                                      "flagged": sum(1 for r in rows if r["flags"])})
    mark_done(session, run.job_id, _job_result(run))  # run inline: no runner analyses it again
    return run


def thresholds_from_params(values: dict[str, Any]):
    from itembank.psychometrics import FlagThresholds

    return FlagThresholds(**values)


_DETAIL_SKIP = {"n", "n_missing", "facility", "item_rest", "point_biserial", "discrimination_index", "irt_model",
                "irt_a", "irt_se_a", "irt_b", "irt_se_b", "irt_c", "irt_se_c", "irt_infit", "irt_outfit", "dif",
                "flags", "distractors", "item_type"}


def _statistic_row(run_id: int, version_id: int, item_id: int, row: dict[str, Any], now: Any) -> dict[str, Any]:
    return {
        "run_id": run_id, "item_version_id": version_id, "item_id": item_id, "item_type": row["item_type"],
        "n": int(row["n"]), "n_missing": int(row["n_missing"]), "facility": row.get("facility"),
        "discrimination": row.get("item_rest"), "point_biserial": row.get("point_biserial"),
        "discrimination_index": row.get("discrimination_index"), "irt_model": row.get("irt_model"),
        "irt_a": row.get("irt_a"), "irt_a_se": row.get("irt_se_a"), "irt_b": row.get("irt_b"),
        "irt_b_se": row.get("irt_se_b"), "irt_c": row.get("irt_c"), "irt_c_se": row.get("irt_se_c"),
        "infit": row.get("irt_infit"), "outfit": row.get("irt_outfit"), "dif": row.get("dif", {}),
        "flags": row.get("flags", []), "distractors": row.get("distractors"),
        "details": {k: v for k, v in row.items() if k not in _DETAIL_SKIP}, "created_at": now,
    }


# --- what the rest of the service reads -----------------------------------------------------

def _latest_ids(session: Session, column: Any, keys: list[int], *, min_n: int | None = None) -> list[int]:
    if not keys:
        return []
    query = select(func.max(ItemStatistic.id)).where(column.in_(keys)).group_by(column)
    if min_n is not None:
        query = query.where(ItemStatistic.n >= min_n, ItemStatistic.facility.is_not(None))
    return list(session.scalars(query))


def latest_statistics(session: Session, item_version_ids: Iterable[int]) -> dict[int, ItemStatistic]:
    """The most recent statistic of each item version that has one."""
    ids = _latest_ids(session, ItemStatistic.item_version_id, sorted(set(item_version_ids)))
    return {s.item_version_id: s for s in session.scalars(select(ItemStatistic).where(ItemStatistic.id.in_(ids)))} \
        if ids else {}


def latest_for_items(session: Session, item_ids: Iterable[int]) -> dict[int, ItemStatistic]:
    """The most recent statistic of any version of each item (the bank's lists and queue)."""
    ids = _latest_ids(session, ItemStatistic.item_id, sorted(set(item_ids)))
    return {s.item_id: s for s in session.scalars(select(ItemStatistic).where(ItemStatistic.id.in_(ids)))} \
        if ids else {}


def statistics_history(session: Session, item_version_id: int) -> list[ItemStatistic]:
    """Every statistic of an item version, newest first (history is never overwritten)."""
    return list(session.scalars(select(ItemStatistic).where(ItemStatistic.item_version_id == item_version_id)
                                .order_by(ItemStatistic.id.desc())))


def calibrated_difficulty(session: Session, item_version_ids: Iterable[int], min_n: int | None = None
                          ) -> dict[int, float]:
    """Observed facility (proportion right) per item version, from its most recent statistic based
    on at least ``min_n`` responses (default ``ANALYSIS_MIN_N``); versions without one are absent
    and keep the writer's estimate."""
    if min_n is None:
        min_n = int(current_app.config["ANALYSIS_MIN_N"])
    ids = _latest_ids(session, ItemStatistic.item_version_id, sorted(set(item_version_ids)), min_n=min_n)
    if not ids:
        return {}
    return {v: float(f) for v, f in session.execute(select(ItemStatistic.item_version_id, ItemStatistic.facility)
                                                    .where(ItemStatistic.id.in_(ids)))}


def get_statistic(session: Session, run_id: int, item_version_id: int) -> ItemStatistic:
    statistic = session.scalar(select(ItemStatistic).where(ItemStatistic.run_id == run_id,
                                                           ItemStatistic.item_version_id == item_version_id))
    if statistic is None:
        raise NotFound("该分析中没有这道题的统计", "no statistics of this item version in the run",
                       field="item_version_id")
    return statistic


def run_statistics(session: Session, run_id: int) -> list[ItemStatistic]:
    return list(session.scalars(select(ItemStatistic).where(ItemStatistic.run_id == run_id)
                                .order_by(ItemStatistic.id)))


@dataclass(frozen=True)
class QualityRow:
    """One flagged item of a blueprint for the regulator's bank quality view."""

    item_id: int
    version: ItemVersion
    statistic: ItemStatistic


def bank_quality(session: Session, blueprint_id: int) -> list[QualityRow]:
    """The usable (approved, unretired) items of a blueprint whose latest statistic carries flags."""
    from examsvc.bank.service import usable_versions

    versions = {v.id: v for v in usable_versions(session, blueprint_id)}
    latest = latest_statistics(session, versions)
    rows = [QualityRow(versions[v].item_id, versions[v], s) for v, s in latest.items() if s.flags]
    severity = {"error": 0, "warning": 1, "info": 2}
    return sorted(rows, key=lambda r: (min(severity.get(f["severity"], 3) for f in r.statistic.flags), r.item_id))


def quality_overview(session: Session) -> list[dict[str, Any]]:
    """Per theory blueprint: usable items, items with statistics, flagged items by worst severity."""
    from examsvc.bank.service import usable_versions

    out = []
    for blueprint in session.scalars(select(ExamBlueprint).where(ExamBlueprint.component == "theory")
                                     .order_by(ExamBlueprint.occupation_code, ExamBlueprint.level)):
        versions = [v.id for v in usable_versions(session, blueprint.id)]
        latest = latest_statistics(session, versions)
        worst = defaultdict(int)
        for statistic in latest.values():
            severities = {f["severity"] for f in statistic.flags}
            for level in ("error", "warning", "info"):
                if level in severities:
                    worst[level] += 1
                    break
        out.append({"blueprint": blueprint, "usable": len(versions), "analysed": len(latest),
                    "errors": worst["error"], "warnings": worst["warning"], "info": worst["info"]})
    return out
