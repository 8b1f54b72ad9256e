"""What each regulator action tells the parties, and to whom.

The areas' service functions call one of these at the end of the action, in the same unit of work,
so an action and its notices are committed together. Each function writes the message (Chinese
first, English beside it) from the objects the action already holds; none reads the request.
Links are paths within the site that the recipient may open (no link where none is theirs to see).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from examsvc.notifications.service import institution_admin_ids, notify_institution, notify_users

_PROBLEMS_SHOWN = 20


def _institution_link(institution_id: int) -> str:
    return f"/institutions/{institution_id}"


def _label(institution: Any) -> str:
    return f"{institution.name}（{institution.code}）"


# --- stop orders (Art. 34) -------------------------------------------------------------------

def stop_order_issued(session: Session, institution: Any, order: Any, actor: Any) -> None:
    notify_institution(
        session, institution.id, "stop_order.issued",
        f"责令停止认定：{order.reference}", f"Order to stop certifying: {order.reference}",
        f"监管部门责令{_label(institution)}停止职业技能等级认定（文号 {order.reference}）。\n理由：{order.reason}\n"
        "责令解除前，不能组织认定、组卷或发证。",
        f"The regulator orders {_label(institution)} to stop certifying (order {order.reference}).\n"
        f"Reason: {order.reason}\nUntil the order is lifted, no session, paper or certificate is allowed.",
        _institution_link(institution.id), ("stop_order", order.id), actor=actor)


def site_revoked(session: Session, institution: Any, league_city: str, reason: str, actor: Any) -> None:
    notify_institution(
        session, institution.id, "site_filing.revoked",
        f"{league_city}站点备案已撤销", f"Site filing in {league_city} revoked",
        f"{league_city}评价监管部门撤销了{_label(institution)}在该盟市的站点备案（第十二条）。\n理由：{reason}\n"
        "该盟市已安排的认定场次不能开考。",
        f"The regulator of {league_city} revoked the site filing of {_label(institution)} there (Art. 12).\n"
        f"Reason: {reason}\nSessions planned there cannot open.",
        _institution_link(institution.id), ("institution", institution.id), actor=actor)


def stop_order_lifted(session: Session, institution: Any, order: Any, actor: Any) -> None:
    still = institution.status == "suspended"
    note_zh = f"\n说明：{order.lift_note}" if order.lift_note else ""
    note_en = f"\nNote: {order.lift_note}" if order.lift_note else ""
    notify_institution(
        session, institution.id, "stop_order.lifted",
        f"责令停止认定已解除：{order.reference}", f"Stop order lifted: {order.reference}",
        f"监管部门已解除对{_label(institution)}的责令停止认定（文号 {order.reference}）。{note_zh}\n"
        + ("仍有其他责令生效，机构仍不能开展认定。" if still else "机构可恢复开展认定。"),
        f"The regulator lifted order {order.reference} on {_label(institution)}.{note_en}\n"
        + ("Another order is still active: the institution still may not certify." if still
           else "The institution may certify again."),
        _institution_link(institution.id), ("stop_order", order.id), actor=actor)


# --- certificate data batches (Art. 29, 40) --------------------------------------------------

def batch_reviewed(session: Session, batch: Any, actor: Any) -> None:
    link, source = f"/certificate-batches/{batch.id}", ("certificate_batch", batch.id)
    period = f"{batch.period_from}—{batch.period_to}"
    if batch.status == "returned":
        problems = batch.problems[:_PROBLEMS_SHOWN]
        more = len(batch.problems) - len(problems)
        lines_zh = "\n".join(f"· {p['subject']}：{p['message']}" for p in problems)
        lines_en = "\n".join(f"· {p['subject']}: {p['message_en']}" for p in problems)
        notify_institution(
            session, batch.institution_id, "certificate_batch.returned",
            f"证书数据批次 {batch.id} 已退回", f"Certificate data batch {batch.id} returned",
            f"报送期间 {period} 的证书数据批次 {batch.id} 经核查发现 {len(batch.problems)} 个问题，已退回，"
            f"请更正后重新报送：\n{lines_zh}" + (f"\n……另有 {more} 个问题" if more else ""),
            f"Certificate data batch {batch.id} ({period}) has {len(batch.problems)} problem(s) and was returned; "
            f"correct them and submit again:\n{lines_en}" + (f"\n… and {more} more" if more else ""),
            link, source, actor=actor)
    else:
        notify_institution(
            session, batch.institution_id, "certificate_batch.forwarded",
            f"证书数据批次 {batch.id} 已上报自治区", f"Certificate data batch {batch.id} forwarded to the region",
            f"报送期间 {period} 的证书数据批次 {batch.id}（发证 {batch.issued_count} 条，撤销 {batch.revoked_count} 条）"
            "经盟市核查无误，已上报自治区。",
            f"Certificate data batch {batch.id} ({period}; {batch.issued_count} issued, {batch.revoked_count} revoked) "
            "passed the league/city check and was forwarded to the region.",
            link, source, actor=actor)


def batch_accepted(session: Session, batch: Any, actor: Any) -> None:
    period = f"{batch.period_from}—{batch.period_to}"
    notify_institution(
        session, batch.institution_id, "certificate_batch.accepted",
        f"证书数据批次 {batch.id} 已被自治区接收", f"Certificate data batch {batch.id} accepted by the region",
        f"报送期间 {period} 的证书数据批次 {batch.id} 已被自治区接收。",
        f"Certificate data batch {batch.id} ({period}) was accepted by the region.",
        f"/certificate-batches/{batch.id}", ("certificate_batch", batch.id), actor=actor)


# --- violation cases (Art. 46-48) ------------------------------------------------------------

def case_recipients(session: Session, case: Any) -> list[tuple[int, int | None]]:
    """Who hears of a case: the institution's admins; a staff member also in person.

    An institution case goes to its admins; a candidate's to the admins of the institution that
    registered the candidate (candidates have no account); a staff member's to the user and to the
    admins of every institution the user holds a role in.
    """
    if case.subject_id is None:
        return []
    if case.subject_kind == "institution":
        return [(uid, case.subject_id) for uid in institution_admin_ids(session, case.subject_id)]
    if case.subject_kind == "candidate":
        from examsvc.sessions.models import Candidate, ExamSession

        candidate = session.get(Candidate, case.subject_id)
        exam_session = session.get(ExamSession, candidate.session_id) if candidate else None
        if exam_session is None:
            return []
        return [(uid, exam_session.institution_id) for uid in institution_admin_ids(session, exam_session.institution_id)]
    from examsvc.accounts.models import User

    user = session.get(User, case.subject_id)
    if user is None:
        return []
    institutions = sorted({g.institution_id for g in user.grants if g.institution_id is not None})
    recipients: list[tuple[int, int | None]] = [(user.id, institutions[0] if institutions else None)]
    for institution_id in institutions:
        recipients += [(uid, institution_id) for uid in institution_admin_ids(session, institution_id)]
    return recipients


def _sanctions(kinds: list[str]) -> tuple[str, str]:
    from examsvc.supervision.service import SANCTION_KINDS

    if not kinds:
        return "无", "none"
    return ("、".join(SANCTION_KINDS[k][1] for k in kinds), "; ".join(SANCTION_KINDS[k][2] for k in kinds))


def _send_case(session: Session, case: Any, kind: str, subject: tuple[str, str], body: tuple[str, str], actor: Any) -> None:
    head_zh = f"案件 {case.reference}，当事人：{case.subject_label}\n"
    head_en = f"Case {case.reference}, party: {case.subject_label}\n"
    notify_users(session, case_recipients(session, case), kind, subject[0], subject[1], head_zh + body[0],
                 head_en + body[1], None, ("supervision_case", case.id), actor=actor)


def case_notice(session: Session, case: Any, event: Any, actor: Any) -> None:
    """Art. 46: the proposed decision's facts, reasons and basis, and the right to state and defend."""
    from examsvc.supervision.service import last_event

    proposal = last_event(case, "proposed_decision")
    p = proposal.details if proposal is not None else {"facts": case.facts, "reasons": "", "basis": [], "sanctions": []}
    sanctions_zh, sanctions_en = _sanctions(p.get("sanctions", []))
    deadline, days = event.details["statement_deadline"], event.details["statement_days"]
    _send_case(session, case, "case.notice",
               (f"拟作出处理决定告知：{case.reference}", f"Notice of a proposed decision: {case.reference}"),
               (f"事实：{p['facts']}\n理由：{p['reasons']}\n依据：{'、'.join(p['basis'])}\n拟处理措施：{sanctions_zh}\n"
                f"当事人有权进行陈述和申辩，请于 {deadline} 前（{days} 个工作日内）向监管部门提出。",
                f"Facts: {p['facts']}\nReasons: {p['reasons']}\nBasis: {', '.join(p['basis'])}\n"
                f"Proposed sanctions: {sanctions_en}\nThe party may state and defend its case until {deadline} "
                f"({days} working days)."), actor)


def case_decision(session: Session, case: Any, event: Any, actor: Any) -> None:
    """Art. 47-48: the decision, how it was delivered, and the objection deadline."""
    d = event.details
    sanctions_zh, sanctions_en = _sanctions(d["sanctions"])
    written = d["delivery"] == "written"
    _send_case(session, case, "case.decision",
               (f"处理决定：{case.reference}", f"Decision: {case.reference}"),
               (f"处理决定：{d['decision']}\n依据：{'、'.join(d['basis'])}\n处理措施：{sanctions_zh}\n"
                f"{'书面送达' if written else '公告'}日期：{d['delivered_on']}\n"
                f"如有异议，请于 {d['objection_deadline']} 前（{d['objection_days']} 个工作日内）书面提出。",
                f"Decision: {d['decision']}\nBasis: {', '.join(d['basis'])}\nSanctions: {sanctions_en}\n"
                f"{'Delivered in writing' if written else 'Announced'} on {d['delivered_on']}\n"
                f"Objections in writing until {d['objection_deadline']} ({d['objection_days']} working days)."),
               actor)


_OUTCOMES = {"upheld": ("维持原处理决定", "the decision is upheld"),
             "amended": ("变更原处理决定", "the decision is amended"),
             "withdrawn": ("撤销原处理决定", "the decision is withdrawn")}


def _outcome(event: Any) -> tuple[str, str]:
    """A review's or an appeal's outcome with its date, text and any amended sanctions (zh, en)."""
    d = event.details
    outcome_zh, outcome_en = _OUTCOMES[d["outcome"]]
    zh, en = f"{outcome_zh}（{event.on_date}）\n{d['text']}", f"{outcome_en} ({event.on_date})\n{d['text']}"
    if d["outcome"] == "amended":
        sanctions_zh, sanctions_en = _sanctions(d.get("sanctions", []))
        zh, en = f"{zh}\n变更后的处理措施：{sanctions_zh}", f"{en}\nAmended sanctions: {sanctions_en}"
    return zh, en


def case_review(session: Session, case: Any, event: Any, actor: Any) -> None:
    """Art. 48: the review decision on the objection; an appeal goes one level up."""
    zh, en = _outcome(event)
    _send_case(session, case, "case.review",
               (f"复核决定：{case.reference}", f"Review decision: {case.reference}"),
               (f"复核结论：{zh}\n对复核决定不服的，可向上一级评价监管部门申诉。",
                f"Review: {en}\nAn appeal against the review decision goes to the next-level regulator."), actor)


def case_appeal_decision(session: Session, case: Any, event: Any, actor: Any) -> None:
    """Art. 48: the region's decision on the appeal against a league/city's review."""
    zh, en = _outcome(event)
    _send_case(session, case, "case.appeal_decision",
               (f"申诉处理决定：{case.reference}", f"Appeal decision: {case.reference}"),
               (f"自治区评价监管部门对申诉作出处理：{zh}", f"The region's regulator decided the appeal: {en}"), actor)


# --- filing (Art. 13-18) ---------------------------------------------------------------------

_CHANGE_KINDS = {"basic": ("基础信息变更", "change of basic information"),
                 "scope": ("备案范围变更", "change of scope"),
                 "termination": ("终止备案", "termination of the filing")}


def change_decided(session: Session, institution: Any, change: Any, actor: Any) -> None:
    kind_zh, kind_en = _CHANGE_KINDS.get(change.kind, (change.kind, change.kind))
    approved = change.status == "approved"
    note_zh = f"\n说明：{change.decision_note}" if change.decision_note else ""
    note_en = f"\nNote: {change.decision_note}" if change.decision_note else ""
    notify_institution(
        session, institution.id, "filing.change_decided",
        f"变更申请 {change.id}（{kind_zh}）{'已批准' if approved else '未予批准'}",
        f"Change request {change.id} ({kind_en}) {'approved' if approved else 'rejected'}",
        f"{_label(institution)}的变更申请 {change.id}（{kind_zh}）{'已批准并生效' if approved else '未予批准'}。{note_zh}",
        f"Change request {change.id} ({kind_en}) of {_label(institution)} was "
        f"{'approved and applied' if approved else 'rejected'}.{note_en}",
        _institution_link(institution.id), ("institution_change_request", change.id), actor=actor)


def renewal_granted(session: Session, institution: Any, application: Any, actor: Any) -> None:
    dropped = application.dropped_occupations
    notify_institution(
        session, institution.id, "filing.renewed",
        f"备案续期已批准，有效期至 {institution.valid_until}", f"Filing renewed until {institution.valid_until}",
        f"{_label(institution)}的续期申请 {application.id} 已批准，备案有效期延续至 {institution.valid_until}。"
        + (f"\n取消的职业：{'、'.join(dropped)}" if dropped else ""),
        f"Renewal application {application.id} of {_label(institution)} was granted: the filing is valid until "
        f"{institution.valid_until}." + (f"\nOccupations dropped: {', '.join(dropped)}" if dropped else ""),
        _institution_link(institution.id), ("filing_application", application.id), actor=actor)


def application_rejected(session: Session, application: Any, actor: Any) -> None:
    """Only an applicant that already is an institution (a renewal) has accounts to tell."""
    if application.institution_id is None:
        return
    notify_institution(
        session, application.institution_id, "filing.rejected",
        f"备案申请 {application.id} 不予备案", f"Filing application {application.id} rejected",
        f"{application.applicant_name}的{'续期' if application.purpose == 'renewal' else '备案'}申请 {application.id}"
        f"不予备案。\n理由：{application.reason}",
        f"{'Renewal' if application.purpose == 'renewal' else 'Filing'} application {application.id} of "
        f"{application.applicant_name} was rejected.\nReason: {application.reason}",
        _institution_link(application.institution_id), ("filing_application", application.id), actor=actor)


# --- inspections (Art. 38) -------------------------------------------------------------------

def plan_published(session: Session, plan: Any, institution_ids: list[int], findings: list[Any], actor: Any) -> None:
    """Each drawn institution hears that the results are public, with its own findings' count."""
    for institution_id in institution_ids:
        own = [f for f in findings if f.institution_id == institution_id]
        problems = sum(f.problems for f in own)
        summary_zh = f"\n结论：{plan.summary}" if plan.summary else ""
        summary_en = f"\nConclusion: {plan.summary}" if plan.summary else ""
        notify_institution(
            session, institution_id, "inspection.published",
            f"督导检查结果已公开：{plan.title}", f"Inspection results published: {plan.title}",
            f"“双随机、一公开”督导检查“{plan.title}”的结果已公开。本机构被抽中，督导意见 {len(own)} 份，"
            f"发现问题 {problems} 项。{summary_zh}",
            f"The results of the inspection \"{plan.title}\" are public. Your institution was drawn: "
            f"{len(own)} finding(s), {problems} problem(s).{summary_en}",
            "/supervision/findings", ("inspection_plan", plan.id), actor=actor)


def finding_filed(session: Session, finding: Any, exam_session: Any, actor: Any) -> None:
    from examsvc.supervision.inspections import CHECKLIST

    bad = [(key, entry["note"]) for key, entry in finding.items.items() if not entry["ok"]]
    lines_zh = "\n".join(f"· {CHECKLIST[key][0]}：{note}" for key, note in bad) or "各检查项均无问题。"
    lines_en = "\n".join(f"· {CHECKLIST[key][1]}: {note}" for key, note in bad) or "No problem on any checklist item."
    notify_institution(
        session, exam_session.institution_id, "inspection.finding",
        f"质量督导意见：{exam_session.title}", f"Quality supervision finding: {exam_session.title}",
        f"质量督导员对认定场次“{exam_session.title}”（{exam_session.exam_date}）提交了督导意见，发现问题 "
        f"{finding.problems} 项：\n{lines_zh}",
        f"A quality supervisor filed findings on session \"{exam_session.title}\" ({exam_session.exam_date}): "
        f"{finding.problems} problem(s):\n{lines_en}",
        None, ("supervision_finding", finding.id), actor=actor)
