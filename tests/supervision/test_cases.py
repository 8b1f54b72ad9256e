"""The case life cycle (seed Art. 43-49) on the service layer, with its working-day deadlines."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.errors import Conflict, Forbidden
from examsvc.institutions.service import can_certify
from examsvc.supervision import service as cases
from examsvc.supervision.models import CaseEvent
from examsvc.supervision.workdays import UnknownCalendarYear

BEIJING = timezone(timedelta(hours=8))


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=BEIJING)


def institution_case(session, people, facts="冒名顶替参评人员参加考试"):
    with clock.frozen(at(date(2025, 9, 15))):
        case = cases.open_case(session, subject_kind="institution", subject_id=people["A"].id, source="finding",
                               facts=facts, actor=people["regulator"])
        session.commit()
    return case


def test_full_life_cycle_across_national_day_and_spring_festival(session, people):
    regulator = people["regulator"]
    case = institution_case(session, people)
    assert case.status == "open" and case.reference.startswith("JG-2025-")

    with clock.frozen(at(date(2025, 9, 22))) as frozen:
        cases.propose_decision(session, case, facts="组织替考", reasons="严重违规", basis=["第四十五条"],
                               sanctions=["interview", "terminate_filing"], actor=regulator)
        with pytest.raises(Conflict):   # no decision before the notice
            cases.decide(session, case, decision="终止备案", basis=["第四十五条"], sanctions=["terminate_filing"],
                         delivery="written", delivered_on=date(2025, 9, 22), actor=regulator)
        notice = cases.send_notice(session, case, sent_on=date(2025, 9, 26), statement_days=3, actor=regulator)
        # Friday 26 September: Sunday 28 (make-up day), Monday 29, Tuesday 30 September.
        assert notice.details["statement_deadline"] == "2025-09-30" and notice.details["right_to_state_and_defend"]
        session.commit()

        frozen.advance(timedelta(days=7))   # 29 September, still within the statement period
        with pytest.raises(Conflict, match="2025-09-30"):
            cases.decide(session, case, decision="终止备案", basis=["第四十五条"], sanctions=["terminate_filing"],
                         delivery="written", delivered_on=date(2025, 9, 29), actor=regulator)
        session.rollback()
        cases.record_statement(session, case, received_on=date(2025, 9, 29), text="我方并不知情", actor=regulator)
        frozen.advance(timedelta(days=1))   # 30 September: the decision is received in writing
        decision = cases.decide(session, case, decision="终止备案", basis=["第四十五条", "第四十七条"],
                                sanctions=["interview", "terminate_filing"], delivery="written",
                                delivered_on=date(2025, 9, 30), actor=regulator)
        session.commit()
    # Five working days after 30 September, across the 1-8 October holiday and Saturday 11 October.
    assert decision.details["objection_deadline"] == "2025-10-14" and case.objection_deadline == date(2025, 10, 14)

    with clock.frozen(at(date(2025, 10, 14))):
        objection = cases.file_objection(session, case, filed_on=date(2025, 10, 14), text="事实不清", actor=regulator)
        assert objection.details["accepted"] and case.status == "objected"
        session.commit()
        with pytest.raises(Conflict):   # no sanction while the objection is pending
            cases.execute_sanction(session, case, "terminate_filing", actor=regulator)
        session.rollback()
        session.refresh(case)
        cases.review_decision(session, case, outcome="upheld", text="维持原决定", decided_on=date(2025, 10, 14),
                              actor=regulator)
        sanction = cases.execute_sanction(session, case, "terminate_filing", actor=regulator, note="按决定执行")
        cases.execute_sanction(session, case, "interview", actor=regulator, due_on=date(2025, 10, 20))
        cases.appeal(session, case, filed_on=date(2025, 10, 14), authority="人力资源和社会保障部", text="不服复核决定",
                     actor=regulator)
        session.commit()
    assert sanction.status == "executed" and sanction.targets == [people["A"].id]

    institution = people["A"]
    session.refresh(institution)
    decision_now = can_certify(institution, "4-03-02-01", "4", date(2025, 10, 15))
    assert not decision_now and decision_now.code == "terminated"
    assert case.reference in institution.status_reason

    session.refresh(case)
    kinds = [e.kind for e in case.events]
    assert kinds == ["opened", "proposed_decision", "notice_sent", "statement_received", "decision", "objection",
                     "review_decision", "sanction_executed", "sanction_executed", "appealed"]
    assert case.status == "appealed" and cases.next_actions(case) == []
    audited = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "supervision_cases")).all()
    assert audited.count("case.sanction_executed") == 2 and "case.decision" in audited

    # Nothing on the file changes or goes away.
    with pytest.raises(Conflict):
        event = session.get(CaseEvent, case.events[0].id)
        event.details = {}
        session.flush()
    session.rollback()


def test_announced_decision_gets_35_working_days_across_spring_festival(session, people):
    regulator = people["regulator"]
    case = institution_case(session, people)
    with clock.frozen(at(date(2026, 1, 20))):
        cases.propose_decision(session, case, facts="f", reasons="r", basis=["第四十五条"], sanctions=["rectification"],
                               actor=regulator)
        cases.send_notice(session, case, sent_on=date(2026, 1, 20), actor=regulator)
    with clock.frozen(at(date(2026, 2, 6))):
        event = cases.decide(session, case, decision="限期整改", basis=["第四十五条"], sanctions=["rectification"],
                             delivery="announced", delivered_on=date(2026, 2, 6), actor=regulator)
        session.commit()
    assert event.details["objection_deadline"] == "2026-04-02"

    with clock.frozen(at(date(2026, 4, 3))):   # one day late
        late = cases.file_objection(session, case, filed_on=date(2026, 4, 3), text="不服", actor=regulator)
        session.commit()
    assert not late.details["accepted"] and case.status == "decided"
    error = cases.late_objection_error(case, late)
    assert "2026-04-02" in error.message and "2026-04-02" in error.message_en
    assert [e.kind for e in case.events][-1] == "objection"   # the refusal stays on file

    with clock.frozen(at(date(2026, 4, 3))):
        with pytest.raises(Exception, match="deadline"):
            cases.execute_sanction(session, case, "rectification", actor=regulator)   # needs its deadline
        session.rollback()
        done = cases.execute_sanction(session, case, "rectification", actor=regulator, due_on=date(2026, 5, 29))
        session.commit()
    assert done.due_on == date(2026, 5, 29)


def test_unknown_year_refused_until_an_administrator_enters_it(session, people):
    regulator = people["regulator"]
    case = institution_case(session, people)
    with clock.frozen(at(date(2026, 12, 1))):
        cases.propose_decision(session, case, facts="f", reasons="r", basis=["第四十五条"], sanctions=["suspend"],
                               actor=regulator)
        cases.send_notice(session, case, sent_on=date(2026, 12, 1), actor=regulator)
        session.commit()
    with clock.frozen(at(date(2026, 12, 30))):
        with pytest.raises(UnknownCalendarYear, match="2027"):
            cases.decide(session, case, decision="责令停止认定", basis=["第四十五条"], sanctions=["suspend"],
                         delivery="written", delivered_on=date(2026, 12, 30), actor=regulator)
        session.rollback()
        session.refresh(case)
        assert case.status == "notified" and case.objection_deadline is None
        cases.add_calendar_days(session, [(date(2027, 1, 1), False)], "2027年元旦", regulator)
        event = cases.decide(session, case, decision="责令停止认定", basis=["第四十五条"], sanctions=["suspend"],
                             delivery="written", delivered_on=date(2026, 12, 30), actor=regulator)
        session.commit()
    # 31 December, (1 January off), 4, 5, 6, 7 January 2027.
    assert event.details["objection_deadline"] == "2027-01-07"
    with clock.frozen(at(date(2027, 1, 8))):
        cases.execute_sanction(session, case, "suspend", actor=regulator)
        session.commit()
    institution = people["A"]
    session.refresh(institution)
    answer = can_certify(institution, "4-03-02-01", "4", date(2027, 1, 8))
    assert not answer and case.reference in answer.reason and case.reference in answer.reason_en


def test_only_regulators_act_and_only_ordered_sanctions_run(session, people):
    with pytest.raises(Forbidden):
        cases.open_case(session, subject_kind="institution", subject_id=people["A"].id, source="finding", facts="x",
                        actor=people["admin_a"])
    case = institution_case(session, people)
    with clock.frozen(at(date(2025, 9, 16))):
        with pytest.raises(Exception, match="does not apply"):
            cases.propose_decision(session, case, facts="f", reasons="r", basis=["第四十四条"],
                                   sanctions=["cancel_results"], actor=people["regulator"])
        session.rollback()
        with pytest.raises(Conflict):
            cases.execute_sanction(session, case, "terminate_filing", actor=people["regulator"])
