""""Double random, one public" inspections (双随机、一公开, Art. 38) and supervisors' findings.

A plan draws institutions at random from the active ones (of a jurisdiction, or all; weighted by
credit grade unless asked not to, Art. 39) and a team at random from valid supervisor cards, each a
recorded :class:`Draw`. A special inspection names its
matters and needs a team of at least :data:`SPECIAL_TEAM_MIN`. Supervisors (drawn to a session by
:func:`examsvc.supervision.draws.dispatch_to_session`, or on a plan's team for one of its
institutions) file findings per session from :data:`CHECKLIST`. Publishing a plan shows it and its
findings on the public page.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.institutions.jurisdiction import JURISDICTIONS, REGION, require_covers
from examsvc.institutions.models import Institution, InstitutionStatus
from examsvc.notifications import hooks as notifications
from examsvc.sessions.models import ExamSession
from examsvc.supervision.draws import draw
from examsvc.supervision.people_models import Draw, Finding, InspectionPlan
from examsvc.supervision.registry import valid_supervisors

#: The supervisors' checklist: key -> (Chinese, English).
CHECKLIST: dict[str, tuple[str, str]] = {
    "venue": ("考场设置", "Exam venue set-up"),
    "identity": ("身份核验", "Identity checks"),
    "invigilation": ("监考到位", "Invigilators in place"),
    "paper_security": ("试卷保密", "Paper security"),
    "scoring": ("评分规范", "Scoring by the rules"),
    "certificates": ("证书发放", "Certificate issue"),
}
KINDS = ("routine", "special")
SPECIAL_TEAM_MIN = 3


def create_plan(session: Session, *, title: str, kind: str, institution_count: int, team_size: int,
                matters: str = "", jurisdiction: str = "", on: date | None = None, seed: str | None = None,
                weighted: bool = True, actor: Any) -> InspectionPlan:
    """Draw institutions and a team with one seed (``seed + ":institutions"`` / ``":team"``); with
    ``weighted`` the institutions by credit grade (lower credit, likelier drawn, Art. 39)."""
    require_permission(actor, Permission.REGULATE)
    title, matters, jurisdiction = (title or "").strip(), (matters or "").strip(), (jurisdiction or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed("请填写标题（不超过200字）", "a title of at most 200 characters is required", field="title")
    if kind not in KINDS:
        raise ValidationFailed("督导类型应为日常或专项", "kind is routine or special", field="kind")
    if jurisdiction and jurisdiction not in JURISDICTIONS:
        raise ValidationFailed("辖区应为自治区或一个盟市", "the jurisdiction is 自治区 or a league/city", field="jurisdiction")
    # Drawing across every jurisdiction ("") is the region's; a league/city draws in its own.
    require_covers(actor, jurisdiction or REGION, f"{jurisdiction or '全区'}的督导抽查",
                   f"an inspection draw in {jurisdiction or 'the whole region'}")
    if kind == "special":
        if team_size < SPECIAL_TEAM_MIN:
            raise ValidationFailed(f"专项督导小组应由{SPECIAL_TEAM_MIN}名以上质量督导员组成（第三十八条）",
                                   f"a special inspection team has at least {SPECIAL_TEAM_MIN} quality supervisors (Art. 38)",
                                   field="team_size")
        if not matters:
            raise ValidationFailed("专项督导应明确督导事项（第三十八条）", "a special inspection names its matters (Art. 38)",
                                   field="matters")
    query = select(Institution.id).where(Institution.status == InstitutionStatus.ACTIVE.value)
    if jurisdiction == REGION:
        query = query.where(Institution.league_city.is_(None))
    elif jurisdiction:
        query = query.where(Institution.league_city == jurisdiction)
    day = on or clock.now().date()
    base = (seed or "").strip() or secrets.token_hex(16)
    if len(base) > 50:
        raise ValidationFailed("种子不超过50个字符", "a seed has at most 50 characters", field="seed")
    candidates = list(session.scalars(query))
    weights = None
    if weighted:
        from flask import current_app

        from examsvc.supervision.credit import draw_weights  # credit reads CHECKLIST from here
        weights = draw_weights(session, current_app.config, candidates)
    institutions = draw(session, kind="institutions", purpose="inspection", candidates=candidates,
                        k=institution_count, seed=base + ":institutions", weights=weights, actor=actor)
    team = draw(session, kind="supervisors", purpose="inspection", candidates=valid_supervisors(session, day),
                k=team_size, seed=base + ":team", actor=actor)
    plan = InspectionPlan(title=title, kind=kind, matters=matters[:5000], jurisdiction=jurisdiction,
                          institution_draw_id=institutions.id, team_draw_id=team.id, created_by=actor.id,
                          created_at=clock.now())
    session.add(plan)
    session.flush()
    record(session, actor, "inspection.plan", plan, {"kind": kind, "seed": base, "institutions": institutions.result,
                                                     "team": team.result})
    return plan


def get_plan(session: Session, plan_id: int) -> InspectionPlan:
    plan = session.get(InspectionPlan, plan_id)
    if plan is None:
        raise NotFound("督导计划不存在", "inspection plan not found", field="plan_id")
    return plan


def plan_draws(session: Session, plan: InspectionPlan) -> tuple[Draw, Draw]:
    return session.get(Draw, plan.institution_draw_id), session.get(Draw, plan.team_draw_id)


def list_plans(session: Session, published_only: bool = False) -> list[InspectionPlan]:
    query = select(InspectionPlan).order_by(InspectionPlan.id.desc())
    if published_only:
        query = query.where(InspectionPlan.published_at.is_not(None))
    return list(session.scalars(query))


def publish_plan(session: Session, plan: InspectionPlan, summary: str, actor: Any) -> InspectionPlan:
    """Make the plan, its draws and its findings public (一公开)."""
    require_permission(actor, Permission.REGULATE)
    if plan.published_at is not None:
        raise Conflict("督导结果已公开", "the inspection results are already published", field="plan_id")
    plan.summary, plan.published_at = (summary or "").strip()[:5000], clock.now()
    session.flush()
    findings = plan_findings(session, plan)
    record(session, actor, "inspection.publish", plan, {"findings": len(findings)})
    notifications.plan_published(session, plan, list(plan_draws(session, plan)[0].result), findings, actor)
    return plan


def plan_findings(session: Session, plan: InspectionPlan) -> list[Finding]:
    return list(session.scalars(select(Finding).where(Finding.plan_id == plan.id).order_by(Finding.id)))


# --- findings ---------------------------------------------------------------------------------

def _parse_items(items: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], int]:
    parsed: dict[str, dict[str, Any]] = {}
    for key in CHECKLIST:
        entry = items.get(key)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("ok"), bool):
            raise ValidationFailed(f"请对“{CHECKLIST[key][0]}”给出结论", f"give a verdict on {CHECKLIST[key][1]}",
                                   field=f"items.{key}")
        note = str(entry.get("note") or "").strip()[:2000]
        if not entry["ok"] and not note:
            raise ValidationFailed(f"“{CHECKLIST[key][0]}”有问题，须说明", f"describe the problem with {CHECKLIST[key][1]}",
                                   field=f"items.{key}")
        parsed[key] = {"ok": entry["ok"], "note": note}
    unknown = set(items) - set(CHECKLIST)
    if unknown:
        raise ValidationFailed("未知的检查项", f"unknown checklist items: {', '.join(sorted(unknown))}", field="items")
    return parsed, sum(1 for v in parsed.values() if not v["ok"])


def file_finding(session: Session, *, exam_session: ExamSession, items: Mapping[str, Any],
                 plan: InspectionPlan | None = None, actor: Any) -> Finding:
    """A supervisor sent to the session (drawn for it, or on the plan's team) files its findings."""
    require_permission(actor, Permission.SESSION_SUPERVISE)
    if plan is not None:
        institutions, team = plan_draws(session, plan)
        if actor.id not in team.result:
            raise Forbidden("您不在该督导小组中", "you are not on this inspection team", field="plan_id")
        if exam_session.institution_id not in institutions.result:
            raise ValidationFailed("该场次的评价机构不在本次抽查范围内", "the session's institution was not drawn for this plan",
                                   field="session_id")
        if plan.published_at is not None:
            raise Conflict("督导结果已公开，不能再提交", "the plan is published; findings are closed", field="plan_id")
    else:
        drawn = session.scalars(select(Draw.result).where(Draw.purpose == "session", Draw.session_id == exam_session.id))
        if not any(actor.id in result for result in drawn):
            raise Forbidden("您未被委派到本场次督导（第三十七条）", "you were not drawn to supervise this session (Art. 37)",
                            field="session_id")
    if session.scalar(select(Finding.id).where(Finding.session_id == exam_session.id,
                                               Finding.supervisor_id == actor.id)) is not None:
        raise Conflict("您已提交本场次的督导意见", "you already filed findings for this session", field="session_id")
    parsed, problems = _parse_items(items)
    finding = Finding(session_id=exam_session.id, institution_id=exam_session.institution_id,
                      plan_id=plan.id if plan else None, supervisor_id=actor.id, items=parsed, problems=problems,
                      filed_at=clock.now())
    session.add(finding)
    session.flush()
    record(session, actor, "inspection.finding", finding, {"session_id": exam_session.id, "problems": problems,
                                                           "plan_id": finding.plan_id})
    notifications.finding_filed(session, finding, exam_session, actor)
    return finding


def findings_of(session: Session, *, institution_id: int | None = None, supervisor_id: int | None = None) -> list[Finding]:
    query = select(Finding).order_by(Finding.id.desc())
    if institution_id is not None:
        query = query.where(Finding.institution_id == institution_id)
    if supervisor_id is not None:
        query = query.where(Finding.supervisor_id == supervisor_id)
    return list(session.scalars(query))
