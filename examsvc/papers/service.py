"""Paper rules: assembling parallel forms for an institution, locking, retiring, the answer key.

Assembly is allowed only where the institution may certify (``can_certify``); it runs as a
background job (``papers.assemble``) and creates draft papers, or records why the bank cannot
satisfy the blueprint. A theory paper is solved from the item bank; a skill or review paper
draws its tasks from the blueprint's module pools (:mod:`examsvc.papers.skill`). A locked paper
never changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

import numpy as np
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.analysis.service import calibrated_difficulty
from examsvc.audit.service import record
from examsvc.auth import (
    ROLE_PERMISSIONS, Permission, Role, has_permission, permitted_institutions, require_permission,
)
from examsvc.bank.models import BlueprintVersion, EnemyMember, ExamBlueprint, Item, ItemVersion
from examsvc.bank.service import blueprint_of, usable_versions
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.institutions.jurisdiction import REGION, covers, jurisdiction_of, regulator_jurisdictions
from examsvc.institutions.models import Institution
from examsvc.institutions.service import Decision, can_certify
from examsvc.jobs.models import Job
from examsvc.jobs.service import enqueue, job_handler, mark_done
from examsvc.papers import skill
from examsvc.papers.models import AssemblyRun, Paper, PaperItem, PaperStatus
from itembank.assembly import (
    AssemblyInfeasible, AssemblySpecError, AssemblyTimeLimit, ItemPool, TaskDrawError, assemble_forms,
    spec_from_blueprint,
)
from itembank.blueprint import Blueprint

FORM_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_FORMS = 12


def get_paper(session: Session, paper_id: int) -> Paper:
    paper = session.get(Paper, paper_id)
    if paper is None:
        raise NotFound(f"试卷 {paper_id} 不存在", f"paper {paper_id} not found", field="paper_id")
    return paper


def get_run(session: Session, run_id: int) -> AssemblyRun:
    run = session.get(AssemblyRun, run_id)
    if run is None:
        raise NotFound(f"组卷任务 {run_id} 不存在", f"assembly run {run_id} not found", field="run_id")
    return run


def _spec(version: BlueprintVersion, forms: int, overrides: Mapping[str, Any]):
    try:
        return spec_from_blueprint(blueprint_of(version), forms=forms, overrides=overrides)
    except AssemblySpecError as exc:
        raise ValidationFailed(exc.message, exc.message_en, field=exc.field, code=exc.code) from None


def start_assembly(session: Session, *, institution: Institution, blueprint_version: BlueprintVersion, forms: int,
                   overrides: Mapping[str, Any] | None, actor: User) -> AssemblyRun:
    """Check the request and queue the assembly; nothing is created when a rule says no.

    A theory blueprint is assembled from the bank; a skill or review blueprint draws task sets,
    taking only ``seed`` (chosen now when left out, so the run is reproducible) and
    ``allow_overlap`` as overrides. Only the institution's own admins assemble its papers."""
    blueprint = blueprint_version.blueprint
    can_certify(institution, blueprint.occupation_code, blueprint.level, clock.now().date()).raise_if_denied()
    require_manage(actor, institution.id)
    if not 1 <= forms <= MAX_FORMS:
        raise ValidationFailed(f"平行卷数量应为1-{MAX_FORMS}", f"forms must be between 1 and {MAX_FORMS}", field="forms")
    overrides = dict(overrides or {})
    if blueprint.component in skill.TASK_COMPONENTS:
        overrides = skill.task_overrides(overrides)
    else:
        _spec(blueprint_version, forms, overrides)  # refuse contradictory overrides before queuing
    run = AssemblyRun(institution_id=institution.id, blueprint_version_id=blueprint_version.id, forms=forms,
                      params={"overrides": overrides}, status="queued", created_by=actor.id, created_at=clock.now())
    session.add(run)
    session.flush()
    run.job_id = enqueue(session, "papers.assemble", {"run_id": run.id}, actor).id
    record(session, actor, "papers.assembly_start", run, {"forms": forms, "overrides": overrides,
                                                          "blueprint_version": blueprint_version.id})
    return run


def build_pool(session: Session, blueprint_id: int) -> tuple[ItemPool, dict[int, ItemVersion], list[frozenset[int]]]:
    """The approved, unretired bank of a blueprint as the engine's arrays, and its enemy groups."""
    versions = usable_versions(session, blueprint_id)
    by_item = {v.item_id: v for v in versions}
    ids = np.array(list(by_item), dtype=np.int64)
    contents = [v.content for v in by_item.values()]
    # Observed difficulty where an analysis had enough responses (ANALYSIS_MIN_N), else the writer's estimate.
    observed = calibrated_difficulty(session, [v.id for v in by_item.values()])
    difficulty = np.array([observed[v.id] if v.id in observed else c.get("difficulty_estimate")
                           if c.get("difficulty_estimate") is not None else np.nan
                           for v, c in zip(by_item.values(), contents)], dtype=float)
    since, rate = item_exposure(session, blueprint_id, list(by_item))
    pool = ItemPool(
        ids=ids,
        sessions_since_use=np.array([since.get(i, np.inf) for i in by_item], dtype=float),
        exposure_rate=np.array([rate.get(i, 0.0) for i in by_item], dtype=float),
        item_type=np.array([c["type"] for c in contents], dtype=object),
        element=np.array([c["element_code"] for c in contents], dtype=object),
        difficulty=difficulty,
        calibrated=np.array([v.id in observed for v in by_item.values()], dtype=bool),
        key=np.array([c["key"][0] if c["type"] == "single_choice" and c["key"] else "" for c in contents],
                     dtype=object),
    )
    groups: dict[int, set[int]] = {}
    for group_id, item_id in session.execute(select(EnemyMember.group_id, EnemyMember.item_id)
                                             .where(EnemyMember.item_id.in_(list(by_item)))):
        groups.setdefault(group_id, set()).add(item_id)
    return pool, by_item, [frozenset(g) for g in groups.values() if len(g) > 1]


#: How many of a blueprint's latest sessions the exposure rate looks at.
EXPOSURE_WINDOW_SESSIONS = 10


def item_exposure(session: Session, blueprint_id: int, item_ids: list[int]) -> tuple[dict[int, int], dict[int, float]]:
    """How recently and how often items were used in sessions of this blueprint.

    Returns ``sessions_since_use`` (1 = used in the most recent session that has opened; absent =
    never) and ``exposure_rate``: the share of the last :data:`EXPOSURE_WINDOW_SESSIONS` sessions
    whose papers held the item. The engine's exposure policy (override ``exposure``, default from
    ``ASSEMBLY_EXCLUDE_RECENT_SESSIONS``) decides what to do with them.
    """
    from examsvc.sessions.models import ExamSession, SessionPaper, SessionStatus

    sessions = list(session.scalars(select(ExamSession.id).where(
        ExamSession.blueprint_id == blueprint_id, ExamSession.status != SessionStatus.PLANNED.value)
        .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc())))
    if not sessions or not item_ids:
        return {}, {}
    rank = {session_id: n for n, session_id in enumerate(sessions, start=1)}
    since: dict[int, int] = {}
    windows: dict[int, set[int]] = {}
    for session_id, item_id in session.execute(
            select(SessionPaper.session_id, ItemVersion.item_id).distinct()
            .join(PaperItem, PaperItem.paper_id == SessionPaper.paper_id)
            .join(ItemVersion, ItemVersion.id == PaperItem.item_version_id)
            .where(SessionPaper.session_id.in_(sessions), ItemVersion.item_id.in_(item_ids))):
        since[item_id] = min(since.get(item_id, rank[session_id]), rank[session_id])
        if rank[session_id] <= EXPOSURE_WINDOW_SESSIONS:
            windows.setdefault(item_id, set()).add(session_id)
    window = min(len(sessions), EXPOSURE_WINDOW_SESSIONS)
    return since, {item_id: len(used) / window for item_id, used in windows.items()}


#: Statuses of a run whose assembly happened: its papers (or its reasons) exist, never made twice.
ASSEMBLED = ("done", "infeasible")


def run_assembly(session: Session, run: AssemblyRun) -> AssemblyRun:
    """Solve the run's programme and create its draft papers, or record the reasons it cannot.

    Runs once: a run already assembled is refused, and the run's queued job is recorded done
    here, so that a job runner started later (``examsvc run`` after ``examsvc demo``) does not
    assemble a second set of papers."""
    if run.status in ASSEMBLED:
        raise Conflict("该组卷已完成", "the assembly run is already done", field="run_id")
    version = session.get(BlueprintVersion, run.blueprint_version_id)
    blueprint = blueprint_of(version)
    if blueprint.component in skill.TASK_COMPONENTS:
        return _draw_tasks(session, run, version, blueprint)
    pool, by_item, enemies = build_pool(session, version.blueprint_id)
    overrides = dict(run.params.get("overrides", {}))
    overrides.setdefault("enemy_groups", [sorted(g) for g in enemies])
    recent = current_app.config["ASSEMBLY_EXCLUDE_RECENT_SESSIONS"]
    if recent and "exposure" not in overrides:
        overrides["exposure"] = {"recent_sessions": recent, "action": "exclude"}
    spec = _spec(version, run.forms, overrides)
    try:
        result = assemble_forms(pool, spec)
    except AssemblyInfeasible as exc:
        run.status = "infeasible"
        run.outcome = {"reasons": [{"message": r.message, "message_en": r.message_en,
                                    "rule": getattr(r, "rule", None) or ",".join(getattr(r, "rules", ())),
                                    **{k: getattr(r, k, None) for k in ("type", "scope", "element", "have", "need")}}
                                   for r in exc.explanations]}
        mark_done(session, run.job_id, _job_result(run))
        return run
    except AssemblyTimeLimit as exc:
        run.status = "infeasible"
        run.outcome = {"reasons": [{"message": exc.message, "message_en": exc.message_en, "rule": "time_limit"}]}
        mark_done(session, run.job_id, _job_result(run))
        return run
    points = dict(spec.type_points)
    now = clock.now()
    for index, form in enumerate(result.forms):
        paper = _new_paper(run, version, blueprint, index, now)
        ordered = _paper_order(form, by_item, blueprint)
        for position, item_id in enumerate(ordered, start=1):
            v = by_item[item_id]
            paper.items.append(PaperItem(position=position, item_version_id=v.id, item_type=v.content["type"],
                                         element_code=v.content["element_code"], points=points[v.content["type"]],
                                         key=list(v.content["key"])))
        session.add(paper)
    run.status = "done"
    run.outcome = {"status": result.status, "objective": result.objective, "gap": result.gap,
                   "seconds": round(result.seconds, 3), "seed": result.seed,
                   "checks_failed": [c.rule for c in result.checks if not c.ok]}
    return _finish(session, run)


def _new_paper(run: AssemblyRun, version: BlueprintVersion, blueprint: Blueprint, index: int, now) -> Paper:
    return Paper(run=run, institution_id=run.institution_id, blueprint_version_id=version.id,
                 form_label=FORM_LABELS[index], title=f"{blueprint.title} {FORM_LABELS[index]}卷",
                 status=PaperStatus.DRAFT.value, duration_minutes=blueprint.paper.duration_minutes,
                 total_points=float(blueprint.paper.total_points), created_at=now, report={})


def _draw_tasks(session: Session, run: AssemblyRun, version: BlueprintVersion, blueprint: Blueprint) -> AssemblyRun:
    """A skill or review run: one draft paper per drawn task set, or the reasons the pools are short."""
    overrides = run.params["overrides"]
    try:
        sets = skill.draw_sets(blueprint, run.forms, overrides)
    except TaskDrawError as exc:
        run.status = "infeasible"
        run.outcome = {"reasons": [{"message": r.message, "message_en": r.message_en, "rule": "task_pool",
                                    "module": r.module, "have": r.have, "need": r.need} for r in exc.reasons]}
        mark_done(session, run.job_id, _job_result(run))
        return run
    now = clock.now()
    for index, tasks in enumerate(sets):
        paper = _new_paper(run, version, blueprint, index, now)
        paper.tasks.extend(skill.task_rows(tasks))
        session.add(paper)
    run.status = "done"
    run.outcome = {"status": "drawn", "seed": overrides["seed"], "allow_overlap": overrides["allow_overlap"],
                   "seconds": 0.0, "checks_failed": []}
    return _finish(session, run)


def _finish(session: Session, run: AssemblyRun) -> AssemblyRun:
    """Reports, audit and the job recorded done, once the run's papers exist."""
    session.flush()
    for paper in run.papers:
        paper.report = paper_report(session, paper)
    record(session, "system", "papers.assembled", run, {"papers": [p.id for p in run.papers],
                                                        "status": run.outcome["status"]})
    mark_done(session, run.job_id, _job_result(run))
    return run


def _job_result(run: AssemblyRun) -> dict[str, Any]:
    return {"run_id": run.id, "status": run.status}


_TYPE_ORDER = {"true_false": 0, "single_choice": 1, "multiple_choice": 2}


def _paper_order(form: list[int], by_item: dict[int, ItemVersion], blueprint) -> list[int]:
    """Sections by type (判断, 单选, 多选), within a section in blueprint element order."""
    element_order = {code: i for i, code in enumerate(blueprint.element_codes)}
    return sorted(form, key=lambda i: (_TYPE_ORDER.get(by_item[i].content["type"], 9),
                                       element_order.get(by_item[i].content["element_code"], 10**6), i))


@job_handler("papers.assemble")
def _assemble_job(session: Session, params: dict[str, Any], progress) -> dict[str, Any]:
    run = get_run(session, params["run_id"])
    if run.status in ASSEMBLED:  # assembled before (inline, or by a runner that died before recording the job)
        return _job_result(run)
    run.status = "running"
    progress(0.1, "solving")
    run_assembly(session, run)
    return _job_result(run)


def lock_paper(session: Session, paper: Paper, actor: User) -> Paper:
    """Freeze a draft paper: its snapshot hash covers every item version, position, point and key,
    or every drawn task whole (rubric, vetoes, equipment ...) of a skill or review paper."""
    require_manage(actor, paper.institution_id)
    if paper.status != PaperStatus.DRAFT.value:
        raise Conflict("只有草稿试卷可以锁定", "only a draft paper can be locked", field="status")
    paper.snapshot_hash = snapshot_hash(paper)
    paper.status = PaperStatus.LOCKED.value
    paper.locked_at = clock.now()
    paper.locked_by = actor.id
    record(session, actor, "paper.lock", paper, {"hash": paper.snapshot_hash})
    return paper


def retire_paper(session: Session, paper: Paper, actor: User, reason: str) -> Paper:
    require_manage(actor, paper.institution_id)
    if paper.status == PaperStatus.RETIRED.value:
        raise Conflict("试卷已停用", "the paper is already retired", field="status")
    if not reason.strip():
        raise ValidationFailed("须说明停用理由", "a reason is required", field="reason")
    old = paper.status
    paper.status = PaperStatus.RETIRED.value
    record(session, actor, "paper.retire", paper, {"from": old, "reason": reason.strip()[:500]})
    return paper


def discard_draft(session: Session, paper: Paper, actor: User) -> None:
    require_manage(actor, paper.institution_id)
    if paper.status != PaperStatus.DRAFT.value:
        raise Conflict("只能删除草稿试卷", "only a draft paper can be discarded", field="status")
    record(session, actor, "paper.discard", paper, {"items": [i.item_version_id for i in paper.items],
                                                    "tasks": [t.task_code for t in paper.tasks]})
    session.delete(paper)


def snapshot_hash(paper: Paper) -> str:
    body: dict[str, Any] = {"blueprint_version": paper.blueprint_version_id,
                            "items": [[i.position, i.item_version_id, i.points, list(i.key)] for i in paper.items]}
    if paper.tasks:  # only then, so a theory paper's hash is what it was before skill papers existed
        body["tasks"] = skill.task_snapshot(paper)
    return hashlib.sha256(json.dumps(body, separators=(",", ":"), sort_keys=True,
                                     ensure_ascii=False).encode()).hexdigest()


def require_manage(actor: Any, institution_id: int) -> None:
    """Managing a paper (assemble, lock, retire, discard) is for the admins of the paper's own
    institution, whatever other grants the account holds: a regulator grant reads, it never manages."""
    if not isinstance(actor, str):  # "cli", "system": the operators on the server itself
        require_permission(actor, Permission.INSTITUTION_MANAGE, institution_id)


def _staff_may_view(user: Any, institution_id: int) -> bool:
    """A grant other than a regulator's gives INSTITUTION_VIEW in this institution."""
    return any(grant.role != Role.REGULATOR.value
               and Permission.INSTITUTION_VIEW in ROLE_PERMISSIONS[Role(grant.role)]
               and grant.institution_id in (None, institution_id) for grant in user.grants)


def _regulates(user: Any, institution: Institution) -> bool:
    return bool(regulator_jurisdictions(user)) and covers(user, jurisdiction_of(institution))


def may_view(session: Session, user: Any, institution_id: int) -> bool:
    """Who reads an institution's papers and runs: its own staff, and a regulator whose
    jurisdiction takes the institution (examsvc.institutions.jurisdiction), no other regulator."""
    if isinstance(user, str):
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if _staff_may_view(user, institution_id):
        return True
    institution = session.get(Institution, institution_id)
    return institution is not None and _regulates(user, institution)


def require_view(session: Session, user: Any, institution_id: int) -> None:
    if not may_view(session, user, institution_id):
        raise Forbidden(f"没有权限：{Permission.INSTITUTION_VIEW.value}（机构 {institution_id}）",
                        f"permission {Permission.INSTITUTION_VIEW.value} required in institution {institution_id}",
                        field="institution_id", code="forbidden")


def _regulator_reads(user: Any, paper: Paper) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not regulator_jurisdictions(user):
        return False
    institution = object_session(paper).get(Institution, paper.institution_id)
    return institution is not None and _regulates(user, institution)


def require_key_access(user: Any, paper: Paper) -> None:
    """The answer key is for the paper's institution admins and for the regulators whose
    jurisdiction takes the paper's institution, nobody else."""
    if not (has_permission(user, Permission.INSTITUTION_MANAGE, paper.institution_id)
            or _regulator_reads(user, paper)):
        raise Forbidden("无权查看答案", "the answer key is not available to you", field="paper_id")


def paper_versions(session: Session, paper: Paper) -> dict[int, ItemVersion]:
    ids = [i.item_version_id for i in paper.items]
    return {v.id: v for v in session.scalars(select(ItemVersion).where(ItemVersion.id.in_(ids)))}



def require_content_access(user: Any, paper: Paper) -> None:
    """A paper's items (the printable paper) are for the same people as its key: the paper's
    institution admins and regulators. Invigilators and supervisors see the report, not the items,
    so that nobody holding a paper before its session has not been chosen to."""
    if not (has_permission(user, Permission.INSTITUTION_MANAGE, paper.institution_id)
            or _regulator_reads(user, paper)):
        raise Forbidden("无权查看试卷内容", "the paper's items are not available to you", field="paper_id")


def request_assembly(session: Session, *, institution_id: int, blueprint_version_id: int, forms: int,
                     overrides: Mapping[str, Any] | None, actor: User) -> AssemblyRun:
    """:func:`start_assembly` from the ids a form or a request carries; a missing row names its field."""
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"评价机构 {institution_id} 不存在", f"institution {institution_id} not found",
                       field="institution_id")
    version = session.get(BlueprintVersion, blueprint_version_id)
    if version is None:
        raise NotFound(f"蓝图版本 {blueprint_version_id} 不存在",
                       f"blueprint version {blueprint_version_id} not found", field="blueprint_version_id")
    return start_assembly(session, institution=institution, blueprint_version=version, forms=forms,
                          overrides=overrides, actor=actor)


@dataclass(frozen=True)
class RunState:
    """Where an assembly run stands, with its job's progress and, when the job failed, its error."""

    status: str          # queued | running | done | infeasible | failed
    progress: float
    note: str = ""
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in {"done", "infeasible", "failed"}


def run_state(session: Session, run: AssemblyRun) -> RunState:
    return _state(run, session.get(Job, run.job_id) if run.job_id else None)


def _state(run: AssemblyRun, job: Job | None) -> RunState:
    if run.status in {"done", "infeasible", "failed"}:
        return RunState(run.status, 1.0)
    if job is None:
        return RunState(run.status, 0.0)
    if job.status == "failed":  # the job's own transaction was rolled back: the run still says queued
        return RunState("failed", job.progress, job.progress_note, job.error)
    return RunState("running" if job.status == "running" else run.status, job.progress, job.progress_note)


def _visible(query: Any, column: Any, user: Any) -> Any:
    """Limit ``query`` (joined to Institution) to what :func:`may_view` lets ``user`` read."""
    if isinstance(user, str):
        return query
    if user is None or not getattr(user, "is_authenticated", False):
        return query.where(column.in_(set()))
    staff: set[int] = set()
    for grant in user.grants:
        if grant.role == Role.REGULATOR.value or Permission.INSTITUTION_VIEW not in ROLE_PERMISSIONS[Role(grant.role)]:
            continue
        if grant.institution_id is None:
            return query
        staff.add(grant.institution_id)
    held = regulator_jurisdictions(user)
    if REGION in held:
        return query
    leagues = held - {REGION}
    return query.where(or_(column.in_(staff), Institution.league_city.in_(leagues)) if leagues
                       else column.in_(staff))


def list_papers(session: Session, user: Any, *, status: str | None = None,
                limit: int = 500) -> list[tuple[Paper, str, str]]:
    """Papers ``user`` may see (their institutions' for institution staff, all for regulators),
    newest first, each with its institution's name and its blueprint's title."""
    query = (select(Paper, Institution.name, ExamBlueprint.title)
             .join(Institution, Institution.id == Paper.institution_id)
             .join(BlueprintVersion, BlueprintVersion.id == Paper.blueprint_version_id)
             .join(ExamBlueprint, ExamBlueprint.id == BlueprintVersion.blueprint_id)
             .order_by(Paper.id.desc()).limit(limit))
    if status:
        query = query.where(Paper.status == status)
    return [tuple(row) for row in session.execute(_visible(query, Paper.institution_id, user))]


def list_runs(session: Session, user: Any, *, limit: int = 50) -> list[tuple[AssemblyRun, str, str, int, RunState]]:
    """Assembly runs ``user`` may see, newest first, with institution name, blueprint title,
    blueprint version number and where the run stands."""
    query = (select(AssemblyRun, Institution.name, ExamBlueprint.title, BlueprintVersion.number, Job)
             .join(Institution, Institution.id == AssemblyRun.institution_id)
             .join(BlueprintVersion, BlueprintVersion.id == AssemblyRun.blueprint_version_id)
             .join(ExamBlueprint, ExamBlueprint.id == BlueprintVersion.blueprint_id)
             .outerjoin(Job, Job.id == AssemblyRun.job_id)
             .order_by(AssemblyRun.id.desc()).limit(limit))
    return [(run, name, title, number, _state(run, job))
            for run, name, title, number, job in session.execute(_visible(query, AssemblyRun.institution_id, user))]


@dataclass(frozen=True)
class BlueprintChoice:
    """A blueprint (theory, skill or review) in an institution's filed scope, its versions (newest
    first) and whether the institution may certify it today."""

    blueprint: ExamBlueprint
    versions: list[BlueprintVersion]
    decision: Decision


@dataclass(frozen=True)
class InstitutionChoice:
    institution: Institution
    blueprints: list[BlueprintChoice]


def assembly_choices(session: Session, user: Any, on_date: date) -> list[InstitutionChoice]:
    """What the assemble form offers ``user``: each institution they manage, with the blueprints
    of its filed scope (theory papers from the bank, skill and review papers from task pools) and
    the :func:`can_certify` answer for each."""
    allowed = permitted_institutions(user, Permission.INSTITUTION_MANAGE)
    query = select(Institution).order_by(Institution.code)
    if allowed is not None:
        query = query.where(Institution.id.in_(allowed))
    institutions = list(session.scalars(query))
    blueprints = list(session.scalars(select(ExamBlueprint).order_by(
        ExamBlueprint.occupation_code, ExamBlueprint.level, ExamBlueprint.component)))
    choices = []
    for institution in institutions:
        scope = {(e.occupation_code, e.level) for e in institution.scope}
        choices.append(InstitutionChoice(institution, [
            BlueprintChoice(b, list(reversed(b.versions)), can_certify(institution, b.occupation_code, b.level, on_date))
            for b in blueprints if (b.occupation_code, b.level) in scope and b.versions]))
    return choices


from examsvc.papers.report import paper_report  # noqa: E402  (report builds on the helpers above)
