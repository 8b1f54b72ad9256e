"""Carrying out the sanctions of seed Art. 44 and 45 on the platform's own records.

Each function takes the case, a reason naming it and the acting regulator, changes what the
sanction changes through the owning area's own service (grading's recorded score changes,
certificates' :func:`void_certificate`, institutions' :func:`set_status`), and says what it
touched. The case service records the :class:`~examsvc.supervision.models.Sanction` and the
timeline event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.supervision.models import Case


@dataclass
class Outcome:
    """What carrying out a sanction touched, whether it is done, and the score changes to link to it."""

    targets: list[Any]
    status: str = "executed"
    note: str = ""
    links: list[Any] | None = None

    def __post_init__(self) -> None:
        self.links = self.links or []


def _certification_scores(session: Session, candidate_id: int | None) -> list[Any]:
    """The scores of the candidate's certification: every component of the same occupation and level
    the same person (by ID digest) took at the same institution, since a result is cancelled whole."""
    from examsvc.bank.models import ExamBlueprint
    from examsvc.grading.models import ComponentScore
    from examsvc.sessions.models import Candidate, ExamSession

    row = session.execute(select(Candidate, ExamSession, ExamBlueprint)
                          .join(ExamSession, ExamSession.id == Candidate.session_id)
                          .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
                          .where(Candidate.id == candidate_id)).first()
    if row is None:
        return []
    candidate, exam_session, blueprint = row
    return list(session.scalars(
        select(ComponentScore).join(Candidate, Candidate.id == ComponentScore.candidate_id)
        .join(ExamSession, ExamSession.id == Candidate.session_id)
        .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
        .where(Candidate.id_digest == candidate.id_digest, ExamSession.institution_id == exam_session.institution_id,
               ExamBlueprint.occupation_code == blueprint.occupation_code, ExamBlueprint.level == blueprint.level)
        .order_by(ComponentScore.id)))


def _cancel_results(session: Session, case: Case, reason: str, actor: Any) -> Outcome:
    """Cancel the results (取消认定结果): each score becomes 0 and failed, by a recorded change."""
    from examsvc.grading.models import ComponentScore, ScoreChange

    scores = _certification_scores(session, case.subject_id)
    now = clock.now()
    changes = []
    for score in scores:
        change = ScoreChange(score_id=score.id, old_score=score.score, new_score=0.0, old_passed=score.passed,
                             new_passed=False, reason=reason[:500], source="sanction", source_id=None,
                             changed_by=actor.id, changed_at=now)
        session.add(change)
        changes.append(change)
        score.score, score.passed = 0.0, False
    return Outcome([s.id for s in scores], note="" if scores else "当事人尚无成绩记录 / no results on record",
                    links=changes)


def _void_certificates(session: Session, case: Case, reason: str, actor: Any) -> Outcome:
    """Void the certificates issued on the candidate's results, with the case reference."""
    try:
        from examsvc.certificates.models import Certificate
        from examsvc.certificates.service import void_certificate
    except ImportError:  # the certificates area is not installed
        return Outcome([], "pending", "证书模块不可用，须另行作废 / the certificates module is not available: void them by hand")
    from examsvc.grading.models import PassRecord
    from examsvc.sessions.models import Candidate

    candidate = session.get(Candidate, case.subject_id)
    score_ids = {s.id for s in _certification_scores(session, case.subject_id)}
    records = [r.id for r in session.scalars(select(PassRecord).where(PassRecord.id_digest == candidate.id_digest))
               if score_ids & set(r.score_ids or [])] if candidate else []
    voided = []
    for certificate in session.scalars(select(Certificate).where(Certificate.pass_record_id.in_(records))):
        if certificate.void is None:
            void_certificate(session, certificate, reason_category="candidate_misconduct", reason=reason,
                             case_reference=case.reference, actor=actor)
            voided.append(certificate.id)
    return Outcome(voided, note="" if voided else "尚无可作废的证书 / no certificate to void")


def _record_only(session: Session, case: Case, reason: str, actor: Any) -> Outcome:
    """Sanctions carried out outside the platform (interview, rectification, subsidy recovery): the record."""
    return Outcome([case.subject_id])


def _institution_status(status_name: str):
    def carry_out(session: Session, case: Case, reason: str, actor: Any) -> Outcome:
        from examsvc.institutions.models import Institution, InstitutionStatus
        from examsvc.institutions.service import set_status

        institution = session.get(Institution, case.subject_id)
        set_status(session, institution, InstitutionStatus(status_name), reason, actor)
        return Outcome([institution.id])
    return carry_out


_CARRY_OUT = {
    "cancel_results": _cancel_results,
    "void_certificates": _void_certificates,
    "recover_subsidy": _record_only,
    "interview": _record_only,
    "rectification": _record_only,
    "suspend": _institution_status("suspended"),
    "terminate_filing": _institution_status("terminated"),
}


def carry_out(kind: str, session: Session, case: Case, reason: str, actor: Any) -> Outcome:
    return _CARRY_OUT[kind](session, case, reason, actor)
