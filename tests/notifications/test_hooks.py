"""Each regulator action tells the right parties once, in the same transaction, with its deadline or reference."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.bank.models import ExamBlueprint
from examsvc.certificates import batches
from examsvc.certificates.batch_models import CertificateBatch
from examsvc.certificates.service import Problem
from examsvc.errors import ValidationFailed
from examsvc.institutions import filing
from examsvc.institutions.orders import issue_stop_order, lift_stop_order
from examsvc.notifications.models import Notification
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.supervision import inspections, registry
from examsvc.supervision import service as cases
from tests.conftest import count_rows, make_user

REF = "内人社监〔2026〕3号"


def received(session, kind: str | None = None) -> dict[str, list[Notification]]:
    """username -> that user's notifications (of ``kind``)."""
    from examsvc.accounts.models import User

    session.expire_all()
    query = select(Notification, User.username).join(User, User.id == Notification.recipient_id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    found: dict[str, list[Notification]] = {}
    for notification, username in session.execute(query):
        found.setdefault(username, []).append(notification)
    return found


def only_once(found: dict[str, list[Notification]], *usernames: str) -> list[Notification]:
    assert sorted(found) == sorted(usernames), found.keys()
    assert all(len(v) == 1 for v in found.values()), {k: len(v) for k, v in found.items()}
    return [found[u][0] for u in usernames]


# --- stop orders -----------------------------------------------------------------------------

def test_a_stop_order_and_its_lifting_reach_every_active_admin_of_the_institution_only(session, people):
    people["admin_a2"].active = False  # a disabled account hears nothing
    session.commit()
    order = issue_stop_order(session, people["A"], reference=REF, reason="题库不符合要求", actor=people["regulator"])
    session.commit()
    (sent,) = only_once(received(session, "stop_order.issued"), "admin_a")
    assert REF in sent.subject_zh and REF in sent.subject_en and "题库不符合要求" in sent.body_zh
    assert sent.institution_id == people["A"].id and sent.link == f"/institutions/{people['A'].id}"
    assert (sent.source_kind, sent.source_id) == ("stop_order", order.id) and sent.read_at is None
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "notification.send")).all()
    assert [(e.subject_type, e.subject_id, e.details["recipient_id"]) for e in audit] == [
        ("notifications", str(sent.id), people["admin_a"].id)]

    lift_stop_order(session, order, note="已补充题库", actor=people["regulator"])
    session.commit()
    (lifted,) = only_once(received(session, "stop_order.lifted"), "admin_a")
    assert REF in lifted.subject_zh and "已补充题库" in lifted.body_zh and "恢复" in lifted.body_zh


def test_a_refused_action_leaves_no_notification(session, people):
    with pytest.raises(ValidationFailed):
        issue_stop_order(session, people["A"], reference=REF, reason="", actor=people["regulator"])
    session.rollback()
    assert count_rows(session, Notification) == 0


# --- certificate data batches ----------------------------------------------------------------

def _batch(session, people) -> CertificateBatch:
    batch = CertificateBatch(institution_id=people["A"].id, league_city=None, period_from=date(2026, 2, 1),
                             period_to=date(2026, 2, 28), status="submitted", issued_count=3, revoked_count=0,
                             problems=[], note="", submitted_by=people["admin_a"].id, submitted_at=clock.now())
    session.add(batch)
    session.commit()
    return batch


def test_a_batch_returned_with_its_problems_then_one_forwarded_and_accepted(session, people, monkeypatch):
    number = "S00001500000126400001"
    monkeypatch.setattr(batches, "check_batch", lambda _s, _b: [
        Problem(number, "id_number", "身份证号码校验位错误", "the ID number's check character is wrong")])
    returned = _batch(session, people)
    batches.review_batch(session, returned, people["regulator"])
    session.commit()
    first, second = only_once(received(session, "certificate_batch.returned"), "admin_a", "admin_a2")
    assert f"批次 {returned.id}" in first.subject_zh and number in first.body_zh and "身份证号码校验位错误" in first.body_zh
    assert "check character" in first.body_en and first.link == f"/certificate-batches/{returned.id}"
    assert first.body_zh == second.body_zh and first.recipient_id != second.recipient_id

    monkeypatch.setattr(batches, "check_batch", lambda _s, _b: [])
    clean = _batch(session, people)
    batches.review_batch(session, clean, people["regulator"])
    session.commit()
    forwarded, _ = only_once(received(session, "certificate_batch.forwarded"), "admin_a", "admin_a2")
    assert "自治区" in forwarded.subject_zh and forwarded.source_id == clean.id
    batches.accept_batch(session, clean, people["regulator"])
    session.commit()
    accepted, _ = only_once(received(session, "certificate_batch.accepted"), "admin_a", "admin_a2")
    assert str(clean.id) in accepted.subject_zh and "admin_b" not in received(session)


# --- violation cases -------------------------------------------------------------------------

def _through_review(session, people, subject_kind: str, subject_id: int, sanctions: list[str]):
    regulator = people["regulator"]
    case = cases.open_case(session, subject_kind=subject_kind, subject_id=subject_id, source="regulator",
                           facts="组织替考", actor=regulator)
    cases.propose_decision(session, case, facts="冒名顶替参加考试", reasons="严重违规", basis=["第四十五条"],
                           sanctions=sanctions, actor=regulator)
    cases.send_notice(session, case, sent_on=date(2026, 3, 2), statement_days=5, actor=regulator)
    session.commit()
    cases.record_statement(session, case, received_on=date(2026, 3, 2), text="不知情", actor=regulator)
    cases.decide(session, case, decision="责令限期整改", basis=["第四十五条", "第四十七条"], sanctions=sanctions,
                 delivery="written", delivered_on=date(2026, 3, 2), actor=regulator)
    session.commit()
    cases.file_objection(session, case, filed_on=date(2026, 3, 2), text="事实不清", actor=regulator)
    cases.review_decision(session, case, outcome="upheld", text="维持原决定", decided_on=date(2026, 3, 2), actor=regulator)
    session.commit()
    return case


def test_an_institution_case_tells_its_admins_the_facts_basis_and_each_deadline(session, people):
    case = _through_review(session, people, "institution", people["A"].id, ["rectification"])
    # Monday 2 March 2026: five working days end on Monday 9 March.
    notice, _ = only_once(received(session, "case.notice"), "admin_a", "admin_a2")
    assert case.reference in notice.subject_zh and case.reference in notice.body_zh
    for text in ("冒名顶替参加考试", "严重违规", "第四十五条", "限期整改", "陈述和申辩", "2026-03-09"):
        assert text in notice.body_zh, text
    assert "2026-03-09" in notice.body_en and "state and defend" in notice.body_en
    assert notice.link is None and (notice.source_kind, notice.source_id) == ("supervision_case", case.id)
    decision, _ = only_once(received(session, "case.decision"), "admin_a", "admin_a2")
    assert "责令限期整改" in decision.body_zh and "第四十七条" in decision.body_zh
    assert "2026-03-09" in decision.body_zh and "5 个工作日" in decision.body_zh and "书面送达" in decision.body_zh
    review, _ = only_once(received(session, "case.review"), "admin_a", "admin_a2")
    assert "维持原处理决定" in review.body_zh and "申诉" in review.body_zh and "upheld" in review.body_en
    assert "admin_b" not in received(session) and "regulator" not in received(session)


def test_a_staff_members_case_reaches_the_person_and_the_admins_of_their_institution(session, people):
    case = _through_review(session, people, "staff", people["examiner_a"].id, ["recover_subsidy"])
    for kind in ("case.notice", "case.decision", "case.review"):
        mine, *_ = only_once(received(session, kind), "examiner_a", "admin_a", "admin_a2")
        assert case.reference in mine.body_zh and mine.institution_id == people["A"].id


def test_a_candidates_case_reaches_the_admins_of_the_institution_that_registered_the_candidate(session, people):
    blueprint = ExamBlueprint(occupation_code="6-18-01-01", level="3", component="theory", title="t")
    session.add(blueprint)
    session.flush()
    day = clock.now() + timedelta(days=1)
    exam_session = ExamSession(institution_id=people["B"].id, blueprint_id=blueprint.id, title="场次", exam_date=day.date(),
                               window_start=day, window_end=day + timedelta(hours=1), duration_minutes=90,
                               languages=["zh"], status="planned", created_by=people["admin_b"].id, created_at=clock.now())
    session.add(exam_session)
    session.flush()
    candidate = Candidate(session_id=exam_session.id, name="张三", id_type="resident_id", id_cipher="x", id_digest="d" * 64,
                          id_masked="1501**********0011", ticket_number="T0001", registered_at=clock.now())
    session.add(candidate)
    session.commit()
    regulator = people["regulator"]
    case = cases.open_case(session, subject_kind="candidate", subject_id=candidate.id, source="regulator",
                           facts="夹带", actor=regulator)
    cases.propose_decision(session, case, facts="夹带资料", reasons="违纪", basis=["第四十四条"],
                           sanctions=["cancel_results"], actor=regulator)
    cases.send_notice(session, case, sent_on=date(2026, 3, 2), actor=regulator)
    session.commit()
    (notice,) = only_once(received(session, "case.notice"), "admin_b")
    assert "张三" in notice.body_zh and "取消认定结果" in notice.body_zh and "2026-03-09" in notice.body_zh


# --- filing ----------------------------------------------------------------------------------

def test_change_decisions_and_a_renewal_reach_the_admins(session, people):
    regulator, a = people["regulator"], people["A"]
    change = filing.request_change(session, a, kind="basic", changes={"name": "甲职业技能评价中心"}, reason="更名",
                                   actor=people["admin_a"])
    filing.decide_change(session, change, approve=True, note="同意更名", actor=regulator)
    other = filing.request_change(session, a, kind="basic", changes={"phone": "0471-1234567"}, reason="换号",
                                  actor=people["admin_a"])
    filing.decide_change(session, other, approve=False, note="材料不全", actor=regulator)
    session.commit()
    found = received(session, "filing.change_decided")
    assert sorted(found) == ["admin_a", "admin_a2"] and all(len(v) == 2 for v in found.values())
    approved, rejected = found["admin_a"]
    assert f"变更申请 {change.id}" in approved.subject_zh and "已批准" in approved.subject_zh
    assert "同意更名" in approved.body_zh and approved.source_id == change.id
    assert "未予批准" in rejected.subject_zh and "材料不全" in rejected.body_zh and "rejected" in rejected.subject_en


def _renewal(session, people):
    digest = filing.store_attachment(session, b"%PDF-1.4\n% evidence\n", "证明.pdf", "application/pdf",
                                     people["regulator"])
    return filing.apply_for_renewal(
        session, people["A"], conditions={k: {"attachment": digest} for k in filing.CONDITIONS},
        declarations={k: filing.NOT_APPLICABLE for k in filing.PROHIBITIONS}, actor=people["regulator"],
        today=date(2028, 2, 1))  # the regulator of A's jurisdiction records it (the routes need REGULATE)


def test_a_renewal_granted_or_rejected_reaches_the_institution_and_a_new_applicant_is_skipped(session, people):
    regulator = people["regulator"]
    application = _renewal(session, people)
    filing.reject_application(session, application, reason="材料不实", actor=regulator)
    session.commit()
    (rejected,) = only_once(received(session, "filing.rejected"), "admin_a", "admin_a2")[:1]
    assert "材料不实" in rejected.body_zh and str(application.id) in rejected.subject_zh

    again = _renewal(session, people)
    filing.record_evaluation(session, again, method="report", score=90, notes="", actor=regulator)
    filing.grant_renewal(session, again, actor=regulator)
    session.commit()
    (granted,) = only_once(received(session, "filing.renewed"), "admin_a", "admin_a2")[:1]
    assert "2031-04-14" in granted.subject_zh and granted.link == f"/institutions/{people['A'].id}"

    digest = filing.store_attachment(session, b"%PDF-1.4\n% new\n", "新.pdf", "application/pdf", regulator)
    new = filing.submit_application(session, applicant_name="丙中心", kind="social_organisation", tier="region",
                                    league_city=None, scope=[["4-03-02-01", "4"]],
                                    conditions={k: {"attachment": digest} for k in filing.CONDITIONS},
                                    declarations={k: filing.NOT_APPLICABLE for k in filing.PROHIBITIONS},
                                    actor=regulator)
    before = count_rows(session, Notification)
    filing.reject_application(session, new, reason="不符合条件", actor=regulator)
    session.commit()
    assert count_rows(session, Notification) == before  # no institution, no accounts: nobody to tell


# --- inspections -----------------------------------------------------------------------------

def test_a_finding_and_the_published_plan_reach_the_drawn_institution_only(app, session, people):
    regulator = people["regulator"]
    supervisors = [make_user(session, f"sup{i}", "quality_supervisor") for i in range(3)]
    for i, user in enumerate(supervisors):
        registry.register_supervisor_card(session, holder=user, card_number=f"WD-{i:04d}", valid_from=date(2026, 1, 1),
                                          valid_until=date(2028, 12, 31), jurisdiction="包头市", training_note="合格",
                                          actor=regulator)
    with app.app_context():  # the draw may read the app's settings
        plan = inspections.create_plan(session, title="2026年日常督导", kind="routine", institution_count=1,
                                       team_size=2, jurisdiction="包头市", seed="s1", actor=regulator)
    session.commit()
    institutions, team = inspections.plan_draws(session, plan)
    assert institutions.result == [people["B"].id]
    blueprint = ExamBlueprint(occupation_code="6-18-01-01", level="3", component="theory", title="t")
    session.add(blueprint)
    session.flush()
    day = clock.now() + timedelta(days=1)
    exam_session = ExamSession(institution_id=people["B"].id, blueprint_id=blueprint.id, title="2026年第一期",
                               exam_date=day.date(), window_start=day, window_end=day + timedelta(hours=1),
                               duration_minutes=90, languages=["zh"], status="planned", created_by=people["admin_b"].id,
                               created_at=clock.now())
    session.add(exam_session)
    session.commit()
    member = next(u for u in supervisors if u.id == team.result[0])
    items = {key: {"ok": True, "note": ""} for key in inspections.CHECKLIST}
    items["identity"] = {"ok": False, "note": "未核验身份证"}
    inspections.file_finding(session, exam_session=exam_session, items=items, plan=plan, actor=member)
    session.commit()
    (finding,) = only_once(received(session, "inspection.finding"), "admin_b")
    assert "2026年第一期" in finding.subject_zh and "身份核验：未核验身份证" in finding.body_zh
    assert "Identity checks: 未核验身份证" in finding.body_en and finding.institution_id == people["B"].id

    inspections.publish_plan(session, plan, "总体良好", regulator)
    session.commit()
    (published,) = only_once(received(session, "inspection.published"), "admin_b")
    assert "2026年日常督导" in published.subject_zh and "发现问题 1 项" in published.body_zh
    assert "总体良好" in published.body_zh and published.link == "/supervision/findings"
    assert "admin_a" not in received(session)
