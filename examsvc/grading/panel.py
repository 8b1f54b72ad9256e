"""Skill tasks and 综合评审 scored by a panel of examiners, independently and blind.

The tasks are those drawn onto the session's one locked paper (:func:`examsvc.papers.skill.paper_tasks`).
Each of ``EXAMINERS_PER_TASK`` examiners (odd, at least 3) enters the rubric of a task for a
candidate on their own; none sees another's scores until the task has all of them. An examiner who
marks one of the task's veto items (否决项, a safety breach) gives the task 0 whatever the rubric
says, with a note saying what happened. A task's value
is the mean or median (``EXAMINER_AGGREGATE``) of the examiners' totals; when the totals spread by
more than ``EXAMINER_SPREAD_MAX`` per 100 task points, the session's chief examiner resolves the
task with a recorded reason. Once every task of a candidate is settled, the component score is

    score = 100 * sum(task values) / sum(task points)

written as a :class:`ComponentScore` (method ``examiners``) that then goes through publication,
review and confirmation like any other (:mod:`examsvc.grading.results`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.bank.models import BlueprintVersion, ExamBlueprint
from examsvc.bank.service import blueprint_of
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.grading.examiners import eligibility
from examsvc.grading.models import ComponentScore, ExaminerScore, Resolution, ResultPublication, ScoreChange
from examsvc.papers.models import Paper
from examsvc.papers.skill import TASK_COMPONENTS
from examsvc.sessions.models import Candidate, ExamSession, SessionStatus
from itembank.blueprint import Blueprint, SkillTask

#: The components scored by an examiner panel are those whose papers are drawn as tasks (one definition).
PANEL_COMPONENTS = TASK_COMPONENTS


@dataclass(frozen=True)
class PanelSettings:
    examiners: int
    aggregate: str
    spread_max: float


def panel_settings() -> PanelSettings:
    config = current_app.config
    return PanelSettings(config["EXAMINERS_PER_TASK"], config["EXAMINER_AGGREGATE"],
                         float(config["EXAMINER_SPREAD_MAX"]))


def session_blueprint(session: Session, exam_session: ExamSession) -> Blueprint:
    """The blueprint version the session examines: the one in force when it was planned."""
    row = session.get(ExamBlueprint, exam_session.blueprint_id)
    versions = [v for v in row.versions if v.loaded_at <= exam_session.created_at]
    version: BlueprintVersion = versions[-1] if versions else row.latest
    return blueprint_of(version)


def panel_tasks(session: Session, exam_session: ExamSession) -> dict[str, SkillTask]:
    """The tasks a panel scores in this session, from its locked paper in paper order; a theory
    session has none and is refused."""
    from examsvc.papers.skill import paper_tasks  # papers build on the bank; grading reads them

    component = session.get(ExamBlueprint, exam_session.blueprint_id).component
    if component not in PANEL_COMPONENTS:
        raise ValidationFailed("理论知识场次由系统评分，不由考评人员评分",
                               "theory sessions are scored automatically, not by examiners", field="session_id")
    paper_ids = [p.paper_id for p in exam_session.papers]
    if len(paper_ids) != 1:  # unreachable through plan_session; pages listing panels skip such a session
        raise ValidationFailed(f"本场次应有且只有一份试卷（现有{len(paper_ids)}份），无法确定考核试题",
                               f"the session needs exactly one paper to take its tasks from; it has {len(paper_ids)}",
                               field="paper_ids")
    return {task.code: task for task in paper_tasks(session, session.get(Paper, paper_ids[0]))}


def _task(session: Session, exam_session: ExamSession, task_code: str) -> SkillTask:
    task = panel_tasks(session, exam_session).get(task_code)
    if task is None:
        raise NotFound(f"本场次没有试题 {task_code}", f"the session has no task {task_code}", field="task_code")
    return task


def _published(session: Session, exam_session: ExamSession) -> bool:
    return session.scalar(select(ResultPublication.id).where(ResultPublication.session_id == exam_session.id)) is not None


def _require_scoring_open(session: Session, exam_session: ExamSession, candidate: Candidate) -> None:
    if exam_session.status == SessionStatus.PLANNED.value:
        raise Conflict("场次尚未开考", "the session has not started", field="session_id")
    if _published(session, exam_session):
        raise Conflict("成绩已公示，只能通过复核修改", "the results are published: changes go through a review",
                       field="session_id")
    score = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == candidate.id))
    if score is not None and score.method == "absent":
        raise Conflict("该考生已登记缺考", "the candidate is recorded absent", field="candidate_id")


def _points(value: Any, maximum: float, field_name: str, label: str) -> float:
    """A number of points between 0 and ``maximum`` with at most two decimals."""
    if isinstance(value, bool) or value is None:
        number = math.nan
    else:
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            number = math.nan
    if not math.isfinite(number):
        raise ValidationFailed(f"{label}：请填写分数", f"{label}: enter a number of points", field=field_name)
    if not 0 <= number <= maximum:
        raise ValidationFailed(f"{label}：得分应在0到{maximum:g}分之间（扣分不能低于0）",
                               f"{label}: points lie between 0 and {maximum:g} (deductions stop at 0)",
                               field=field_name)
    if abs(round(number, 2) - number) > 1e-9:
        raise ValidationFailed(f"{label}：分数最多两位小数", f"{label}: at most two decimals", field=field_name)
    return round(number, 2)


MAX_VETO_NOTE = 2000


def check_vetoes(task: SkillTask, vetoes: Any, note: Any) -> tuple[list[str], str]:
    """The veto items (否决项) an examiner marked, as 1-based positions in ``task.vetoes``, and the
    note that must go with any: returns the marked items' texts and the note."""
    if vetoes is None:
        vetoes = []
    if isinstance(vetoes, (str, bytes, Mapping)) or not isinstance(vetoes, (list, tuple)):
        raise ValidationFailed("否决项应为序号列表", "vetoes is a list of veto item numbers", field="vetoes")
    marked: list[int] = []
    for value in vetoes:
        number = value.strip() if isinstance(value, str) else value
        if isinstance(number, str) and number.isdecimal():  # not isdigit: "¹" is a digit int() refuses
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(task.vetoes):
            raise ValidationFailed(f"试题 {task.code} 没有第{value}项否决项（共{len(task.vetoes)}项）",
                                   f"task {task.code} has no veto item {value!r} (it has {len(task.vetoes)})",
                                   field="vetoes")
        if number in marked:
            raise ValidationFailed(f"否决项第{number}项重复", f"veto item {number} is given twice", field="vetoes")
        marked.append(number)
    note = note.strip() if isinstance(note, str) else note
    if note is not None and not isinstance(note, str):
        raise ValidationFailed("否决说明应为文字", "the veto note is text", field="veto_note")
    note = note or ""
    if marked and not note:
        raise ValidationFailed(f"试题 {task.code} 判否决须写明违规情况", f"a veto on task {task.code} needs a note saying "
                               "what happened", field="veto_note")
    if len(note) > MAX_VETO_NOTE:
        raise ValidationFailed(f"否决说明不超过{MAX_VETO_NOTE}字", f"a veto note has at most {MAX_VETO_NOTE} characters",
                               field="veto_note")
    if not marked and note:
        raise ValidationFailed("未勾选否决项时不填写否决说明", "a veto note goes with a marked veto item only",
                               field="veto_note")
    return [task.vetoes[number - 1] for number in sorted(marked)], note


def check_rubric(task: SkillTask, scores: Mapping[str, Any]) -> dict[str, float]:
    """Every criterion of the task's rubric scored once, each a number from 0 to the line's points
    with at most two decimals; nothing else. Errors name the line (field ``scores.<code>``)."""
    known = {criterion.code for criterion in task.rubric}
    unknown = sorted(set(scores) - known)
    if unknown:
        raise ValidationFailed(f"试题 {task.code} 的评分表没有评分项 {unknown[0]}",
                               f"task {task.code} has no rubric criterion {unknown[0]}", field=f"scores.{unknown[0]}")
    checked = {}
    for criterion in task.rubric:
        if criterion.code not in scores:
            raise ValidationFailed(f"评分项 {criterion.code} 未评分", f"criterion {criterion.code} is not scored",
                                   field=f"scores.{criterion.code}")
        checked[criterion.code] = _points(scores[criterion.code], criterion.points, f"scores.{criterion.code}",
                                          criterion.code)
    return checked


def submit_scores(session: Session, candidate: Candidate, task_code: str, examiner: User,
                  scores: Mapping[str, Any] | None, vetoes: Any = (), veto_note: Any = "") -> ExaminerScore:
    """An eligible examiner's rubric scores of one task; final once stored, and never a N+1-th.

    ``vetoes`` are 1-based numbers of the task's veto items (否决项) the examiner marks, with a
    ``veto_note``; a marked veto scores the task 0 from this examiner and the rubric is not read.
    """
    exam_session = session.get(ExamSession, candidate.session_id)
    task = _task(session, exam_session, task_code)
    _require_scoring_open(session, exam_session, candidate)
    eligibility(session, exam_session, candidate, examiner).raise_if_denied()
    marked, note = check_vetoes(task, list(vetoes) if isinstance(vetoes, tuple) else vetoes, veto_note)
    if marked:  # the task is zeroed: the rubric lines are ignored
        criteria = {criterion.code: 0.0 for criterion in task.rubric}
    else:
        if not isinstance(scores, Mapping):
            raise ValidationFailed("评分应为评分项到分数的对应", "scores map criterion codes to points", field="scores")
        criteria = check_rubric(task, scores)
    existing = list(session.scalars(select(ExaminerScore).where(ExaminerScore.candidate_id == candidate.id,
                                                                ExaminerScore.task_code == task.code)))
    if any(row.examiner_id == examiner.id for row in existing):
        raise Conflict("您已提交本题评分，提交后不能修改", "you already scored this task; submitted scores are final",
                       field="task_code", code="examiner.already_scored")
    needed = panel_settings().examiners
    if len(existing) >= needed:
        raise Conflict(f"本题已有{needed}名考评人员评分，不再接受第{len(existing) + 1}名",
                       f"this task already has its {needed} examiners' scores; a {len(existing) + 1}th is refused",
                       field="task_code", code="examiner.panel_full")
    row = ExaminerScore(session_id=exam_session.id, candidate_id=candidate.id, task_code=task.code,
                        examiner_id=examiner.id, slot=len(existing) + 1, criteria=criteria,
                        total=0.0 if marked else round(sum(criteria.values()), 2), vetoes=marked, veto_note=note,
                        submitted_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another examiner took the same slot at the same moment
        raise Conflict("其他考评人员同时提交了本题评分，请刷新后重试", "another examiner submitted at the same time; reload",
                       field="task_code", code="examiner.concurrent") from None
    record(session, examiner, "grading.examiner_score", candidate,
           {"task": task.code, "criteria": criteria, "total": row.total, "slot": row.slot,
            **({"vetoes": marked, "veto_note": note} if marked else {})})
    settle(session, candidate)
    return row


# --- the state of a candidate's tasks ---------------------------------------------------------

@dataclass
class TaskState:
    """One task of one candidate as ``viewer`` may see it (blind until the panel is complete)."""

    task: SkillTask
    needed: int
    scores: list[ExaminerScore] = field(default_factory=list)  # visible rows only
    count: int = 0                                             # how many examiners have scored
    mine: ExaminerScore | None = None
    spread: float | None = None
    too_wide: bool = False
    resolution: Resolution | None = None
    value: float | None = None                                 # the aggregate, or the resolved total
    veto_rows: list[ExaminerScore] = field(default_factory=list)  # rows marking a veto the viewer may see

    @property
    def complete(self) -> bool:
        return self.count >= self.needed

    @property
    def settled(self) -> bool:
        return self.value is not None

    @property
    def needs_resolution(self) -> bool:
        return self.complete and self.too_wide and self.resolution is None

    @property
    def vetoes(self) -> list[ExaminerScore]:
        """The rows in which an examiner marked a veto item (否决项) that the viewer may see: the
        visible rows, and for the chief examiner (and the institution's overview) every one at once."""
        return self.veto_rows

    @property
    def vetoed(self) -> bool:
        return bool(self.vetoes)


def aggregate(totals: list[float], how: str) -> float:
    """The task's value: mean or median of the examiners' totals (unrounded: the component score rounds)."""
    return statistics.median(totals) if how == "median" else statistics.fmean(totals)


def task_states(session: Session, candidate: Candidate, viewer: User | None = None) -> list[TaskState]:
    """Every task of the candidate; with a ``viewer``, other examiners' rows only once all are in."""
    exam_session = session.get(ExamSession, candidate.session_id)
    rows = list(session.scalars(select(ExaminerScore).where(ExaminerScore.candidate_id == candidate.id)))
    resolutions = list(session.scalars(select(Resolution).where(Resolution.candidate_id == candidate.id)))
    return _states(panel_tasks(session, exam_session), panel_settings(), rows, resolutions, viewer,
                   _sees_vetoes(session, exam_session, viewer))


def _sees_vetoes(session: Session, exam_session: ExamSession, viewer: User | None) -> bool:
    """A veto (a safety breach) is shown at once to the chief examiner and on the institution's
    overview (no viewer); other examiners see it only with the scores, once the panel is complete."""
    if viewer is None:
        return True
    from examsvc.grading.examiners import chief_of

    chief = chief_of(session, exam_session)
    return chief is not None and chief.user_id == viewer.id


def _states(tasks: dict[str, SkillTask], settings: PanelSettings, rows: list[ExaminerScore],
            resolutions: list[Resolution], viewer: User | None, sees_vetoes: bool = False) -> list[TaskState]:
    by_task: dict[str, list[ExaminerScore]] = {}
    for row in sorted(rows, key=lambda r: r.slot):
        by_task.setdefault(row.task_code, []).append(row)
    resolved = {r.task_code: r for r in resolutions}
    states = []
    for code, task in tasks.items():
        all_rows = by_task.get(code, [])
        state = TaskState(task=task, needed=settings.examiners, count=len(all_rows), resolution=resolved.get(code))
        state.mine = next((r for r in all_rows if viewer is not None and r.examiner_id == viewer.id), None)
        if state.complete:
            totals = [r.total for r in all_rows[:settings.examiners]]
            state.spread = round(max(totals) - min(totals), 2)
            state.too_wide = state.spread > settings.spread_max * task.points / 100 + 1e-9
            if state.resolution is not None:
                state.value = state.resolution.resolved_total
            elif not state.too_wide:
                state.value = aggregate(totals, settings.aggregate)
            state.scores = all_rows
        else:
            state.scores = [state.mine] if state.mine is not None else []  # blind: one's own row at most
        state.veto_rows = [r for r in (all_rows if sees_vetoes else state.scores) if r.vetoes]
        states.append(state)
    return states


@dataclass(frozen=True)
class BoardRow:
    """A candidate of a session on an examiner's or the institution's overview."""

    candidate: Candidate
    tasks: list[TaskState]
    score: ComponentScore | None

    @property
    def needs_resolution(self) -> bool:
        return any(state.needs_resolution for state in self.tasks)

    @property
    def settled(self) -> bool:
        return self.score is not None


def board(session: Session, exam_session: ExamSession, viewer: User | None = None) -> list[BoardRow]:
    """Every candidate of a panel-scored session with the state of each task, in three queries."""
    tasks = panel_tasks(session, exam_session)
    settings = panel_settings()
    candidates = list(session.scalars(select(Candidate).where(Candidate.session_id == exam_session.id)
                                      .order_by(Candidate.ticket_number)))
    rows: dict[int, list[ExaminerScore]] = {}
    for row in session.scalars(select(ExaminerScore).where(ExaminerScore.session_id == exam_session.id)):
        rows.setdefault(row.candidate_id, []).append(row)
    resolutions: dict[int, list[Resolution]] = {}
    for resolution in session.scalars(select(Resolution).where(Resolution.session_id == exam_session.id)):
        resolutions.setdefault(resolution.candidate_id, []).append(resolution)
    scores = {s.candidate_id: s for s in session.scalars(select(ComponentScore).where(
        ComponentScore.session_id == exam_session.id))}
    sees_vetoes = _sees_vetoes(session, exam_session, viewer)
    return [BoardRow(c, _states(tasks, settings, rows.get(c.id, []), resolutions.get(c.id, []), viewer, sees_vetoes),
                     scores.get(c.id)) for c in candidates]


def resolve_task(session: Session, candidate: Candidate, task_code: str, chief: User, resolved_total: Any,
                 reason: str) -> Resolution:
    """The chief examiner settles a task whose examiners' totals spread beyond the threshold."""
    exam_session = session.get(ExamSession, candidate.session_id)
    task = _task(session, exam_session, task_code)
    _require_scoring_open(session, exam_session, candidate)
    eligibility(session, exam_session, candidate, chief, as_chief=True).raise_if_denied()
    state = next(s for s in task_states(session, candidate) if s.task.code == task.code)
    if state.resolution is not None:
        raise Conflict("本题已由考评组长裁定", "the task is already resolved", field="task_code")
    if not state.complete:
        raise Conflict(f"本题尚有考评人员未评分（{state.count}/{state.needed}）",
                       f"not every examiner has scored the task yet ({state.count}/{state.needed})", field="task_code")
    if not state.too_wide:
        raise Conflict("本题评分差异未超过限度，无需裁定", "the examiners' totals are within the spread limit",
                       field="task_code")
    total = _points(resolved_total, task.points, "resolved_total", task.code)
    if not reason.strip():
        raise ValidationFailed("须写明裁定理由", "a reason is required", field="reason")
    resolution = Resolution(session_id=exam_session.id, candidate_id=candidate.id, task_code=task.code,
                            chief_id=chief.id, spread=state.spread, resolved_total=total,
                            reason=reason.strip()[:2000], resolved_at=clock.now())
    session.add(resolution)
    session.flush()
    record(session, chief, "grading.resolve", candidate, {"task": task.code, "spread": state.spread,
                                                          "resolved_total": total, "reason": resolution.reason})
    settle(session, candidate)
    return resolution


def settle(session: Session, candidate: Candidate) -> ComponentScore | None:
    """Write (or refresh) the component score once every task of the candidate is settled."""
    exam_session = session.get(ExamSession, candidate.session_id)
    blueprint = session_blueprint(session, exam_session)
    states = task_states(session, candidate)
    if not all(state.settled for state in states):
        return None
    points = sum(state.task.points for state in states)
    score = round(100.0 * sum(state.value for state in states) / points, 2)
    passed = score >= float(blueprint.paper.pass_mark)
    settings = panel_settings()
    details = {"aggregate": settings.aggregate, "examiners_per_task": settings.examiners, "tasks": {
        state.task.code: {"points": state.task.points, "totals": [r.total for r in state.scores],
                          "examiners": [r.examiner_id for r in state.scores], "spread": state.spread,
                          "value": round(state.value, 2),
                          "vetoes": {str(r.slot): r.vetoes for r in state.scores if r.vetoes},
                          "resolution": state.resolution.id if state.resolution is not None else None}
        for state in states}}
    row = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == candidate.id))
    now = clock.now()
    if row is None:
        row = ComponentScore(session_id=exam_session.id, candidate_id=candidate.id, component=blueprint.component,
                             score=score, passed=passed, method="examiners", details=details, scored_at=now)
        session.add(row)
    else:
        if row.score != score or row.passed != passed:
            session.add(ScoreChange(score_id=row.id, old_score=row.score, new_score=score, old_passed=row.passed,
                                    new_passed=passed, reason="考评组裁定 / panel resolution", source="resolution",
                                    source_id=None, changed_by=None, changed_at=now))
        row.score, row.passed, row.details, row.scored_at = score, passed, details, now
    session.flush()
    return row


def mark_absent(session: Session, candidate: Candidate, actor: Any) -> ComponentScore:
    """A candidate who did not sit the skill session scores 0 (absent); refused once anyone scored them."""
    exam_session = session.get(ExamSession, candidate.session_id)
    blueprint = session_blueprint(session, exam_session)
    panel_tasks(session, exam_session)
    _require_scoring_open(session, exam_session, candidate)
    if session.scalar(select(ExaminerScore.id).where(ExaminerScore.candidate_id == candidate.id)) is not None:
        raise Conflict("已有考评人员评分，不能登记缺考", "examiners have scored the candidate: not absent",
                       field="candidate_id")
    if session.scalar(select(ComponentScore.id).where(ComponentScore.candidate_id == candidate.id)) is not None:
        raise Conflict("该考生已有成绩", "the candidate already has a score", field="candidate_id")
    row = ComponentScore(session_id=exam_session.id, candidate_id=candidate.id, component=blueprint.component,
                         score=0.0, passed=False, method="absent", details={}, scored_at=clock.now())
    session.add(row)
    session.flush()
    record(session, actor, "grading.absent", candidate, {})
    return row
