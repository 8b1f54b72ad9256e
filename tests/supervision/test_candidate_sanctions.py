"""Art. 44 on a candidate: results cancelled by recorded score changes, certificates voided with the case reference."""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from examsvc import clock
from examsvc.certificates.models import CertificateRevocation, CertificateVoid
from examsvc.certificates.service import issue_certificate
from examsvc.grading.models import ComponentScore, PassRecord, ScoreChange
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.supervision import service as cases
from examsvc.supervision.models import Sanction
from tests.certificates.builders import Passes

BEIJING = timezone(timedelta(hours=8))


def test_cancel_results_and_void_certificates(app, session, people):
    regulator = people["regulator"]
    with app.app_context():
        passes = Passes(session, people["A"], people["admin_a"].id)
        record_id, other_id = passes.make(2)
    session.commit()
    record, other = session.get(PassRecord, record_id), session.get(PassRecord, other_id)
    with clock.frozen(datetime(2026, 12, 20, 10, tzinfo=BEIJING)):
        with app.app_context():
            certificate = issue_certificate(session, record, people["admin_a"])
            issue_certificate(session, other, people["admin_a"])
        session.commit()
    first_score = session.get(ComponentScore, record.score_ids[0])
    with clock.frozen(datetime(2027, 1, 4, 10, tzinfo=BEIJING)):
        cases.add_calendar_days(session, [(date(2027, 1, 1), False)], "2027", regulator)
        held = session.get(ExamSession, session.get(Candidate, first_score.candidate_id).session_id)
        held.league_city = "呼和浩特市"  # where the region-level institution held the session
        case = cases.open_case(session, subject_kind="candidate", subject_id=first_score.candidate_id, source="finding",
                               facts="替考", actor=regulator)
        assert case.jurisdiction == "呼和浩特市"  # handled where the session was held (Art. 43)
        cases.propose_decision(session, case, facts="替考", reasons="严重违纪", basis=["第四十四条"],
                               sanctions=["cancel_results", "void_certificates", "recover_subsidy"], actor=regulator)
        cases.send_notice(session, case, sent_on=date(2027, 1, 4), actor=regulator)
        cases.record_statement(session, case, received_on=date(2027, 1, 4), text="无异议", actor=regulator)
        cases.decide(session, case, decision="取消认定结果，证书作废", basis=["第四十四条"],
                     sanctions=["cancel_results", "void_certificates", "recover_subsidy"], delivery="written",
                     delivered_on=date(2027, 1, 4), actor=regulator)
        cancelled = cases.execute_sanction(session, case, "cancel_results", actor=regulator)
        voided = cases.execute_sanction(session, case, "void_certificates", actor=regulator)
        subsidy = cases.execute_sanction(session, case, "recover_subsidy", actor=regulator, amount="1200.00")
        session.commit()

    # every component of the certification is cancelled, each by a recorded change pointing at the sanction
    assert sorted(cancelled.targets) == sorted(record.score_ids)
    for score_id in record.score_ids:
        score = session.get(ComponentScore, score_id)
        assert score.score == 0 and score.passed is False
    changes = session.scalars(select(ScoreChange).where(ScoreChange.source == "sanction")).all()
    assert len(changes) == len(record.score_ids) and {c.source_id for c in changes} == {cancelled.id}
    assert all(case.reference in c.reason for c in changes)
    # the other candidate keeps their results and certificate
    assert all(session.get(ComponentScore, s).passed for s in other.score_ids)

    assert voided.targets == [certificate.id] and voided.status == "executed"
    void = session.scalar(select(CertificateVoid).where(CertificateVoid.certificate_id == certificate.id))
    assert void.case_reference == case.reference
    assert session.scalar(select(CertificateRevocation).where(CertificateRevocation.certificate_id == certificate.id))
    assert subsidy.amount == "1200.00" and session.scalars(select(Sanction)).all().__len__() == 3
    assert cases.pending_sanctions(case) == [] and cases.next_actions(case)[0].name == "objection"
