"""Certificate data batches: submitted by the institution, checked by its league/city regulator,
returned with the problems or forwarded to the region, accepted there (seed Art. 29, 40).

The checks are the upload export's (:mod:`examsvc.certificates.export`): ID number and its check
character, institution and occupation codes, number format and consistency, pass still confirmed,
duplicates. A batch carries every certificate of the period that no live batch carries yet, and every
revocation recorded up to the period's end that no live batch carries yet, so a certificate voided
after it was reported is revoked in a later batch.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.certificates.batch_models import CertificateBatch, CertificateBatchRecord
from examsvc.certificates.export import _NUMBER, _Checker, _by_ids
from examsvc.certificates.models import Certificate, CertificateRevocation
from examsvc.certificates.service import Problem
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.institutions.jurisdiction import REGION, require_covers, require_region
from examsvc.institutions.models import Institution
from examsvc.notifications import hooks as notifications

#: A batch in these states holds its records: they go in no other batch.
LIVE = ("submitted", "forwarded", "accepted")
STATUS_NAMES = {
    "submitted": ("已报送", "Submitted"),
    "returned": ("已退回", "Returned"),
    "forwarded": ("已上报自治区", "Forwarded to the region"),
    "accepted": ("自治区已接收", "Accepted by the region"),
}


def _carried(session: Session, column: Any) -> Any:
    return (select(column).join(CertificateBatch, CertificateBatch.id == CertificateBatchRecord.batch_id)
            .where(CertificateBatch.status.in_(LIVE), column.is_not(None)))


def submit_batch(session: Session, institution: Institution, period_from: date, period_to: date, actor: Any,
                 note: str = "") -> CertificateBatch:
    """Put the period's unreported certificates and revocations of ``institution`` in a new batch."""
    require_permission(actor, Permission.INSTITUTION_MANAGE, institution.id)
    if period_from > period_to:
        raise ValidationFailed("报送期间的开始日期晚于结束日期", "the period starts after it ends", field="period_from")
    carried_issues = _carried(session, CertificateBatchRecord.certificate_id).where(
        CertificateBatchRecord.record_type == "issue")
    certificates = list(session.scalars(select(Certificate).where(
        Certificate.institution_id == institution.id, Certificate.issued_on >= period_from,
        Certificate.issued_on <= period_to, Certificate.id.not_in(carried_issues)).order_by(Certificate.id)))
    revocations = list(session.scalars(select(CertificateRevocation).where(
        CertificateRevocation.institution_id == institution.id, CertificateRevocation.revoked_on <= period_to,
        CertificateRevocation.id.not_in(_carried(session, CertificateBatchRecord.revocation_id)))
        .order_by(CertificateRevocation.id)))
    if not certificates and not revocations:
        raise ValidationFailed("该期间没有未报送的证书数据", "no certificate data of this period is left to report",
                               field="period_from")
    now = clock.now()
    batch = CertificateBatch(institution_id=institution.id, league_city=institution.league_city,
                             period_from=period_from, period_to=period_to, status="submitted",
                             issued_count=len(certificates), revoked_count=len(revocations), problems=[],
                             note=note.strip(), submitted_by=actor.id, submitted_at=now)
    session.add(batch)
    session.flush()
    session.add_all([CertificateBatchRecord(batch_id=batch.id, record_type="issue", certificate_id=c.id,
                                            number=c.number) for c in certificates])
    session.add_all([CertificateBatchRecord(batch_id=batch.id, record_type="revoke", certificate_id=r.certificate_id,
                                            revocation_id=r.id, number=r.number) for r in revocations])
    session.flush()
    session.expire(batch, ["records"])
    record(session, actor, "certificate_batch.submit", batch,
           {"institution": institution.code, "from": period_from.isoformat(), "to": period_to.isoformat(),
            "issued": len(certificates), "revoked": len(revocations), "league_city": institution.league_city})
    return batch


def check_batch(session: Session, batch: CertificateBatch) -> list[Problem]:
    """Run the export checks on every record of ``batch``. Reveals ID numbers: needs an app context."""
    issues = [r for r in batch.records if r.record_type == "issue"]
    certificates = {c.id: c for c in _by_ids(session, Certificate, {r.certificate_id for r in batch.records})}
    checker = _Checker(session, [certificates[r.certificate_id] for r in issues])
    problems: list[Problem] = []
    for r in issues:
        problems += checker.check(certificates[r.certificate_id])
    revocations = {v.id: v for v in _by_ids(session, CertificateRevocation,
                                            {r.revocation_id for r in batch.records if r.revocation_id})}
    for r in batch.records:
        if r.record_type != "revoke":
            continue
        revocation, certificate = revocations[r.revocation_id], certificates[r.certificate_id]
        if not _NUMBER.fullmatch(revocation.number) or revocation.number != certificate.number:
            problems.append(Problem(revocation.number, "number", "撤销记录的证书编号格式不正确或与证书不符",
                                    "the revocation's certificate number is malformed or not the certificate's"))
    return problems


def review_batch(session: Session, batch: CertificateBatch, actor: Any) -> CertificateBatch:
    """The league/city regulator's check: a batch with problems goes back to the institution with the
    list (returned); a clean one goes on to the region (forwarded)."""
    require_permission(actor, Permission.REGULATE)
    require_covers(actor, receiver(batch), "该批次证书数据的审核", "checking this batch")
    if batch.status != "submitted":
        raise Conflict(f"批次 {batch.id} 状态为{STATUS_NAMES[batch.status][0]}，不能审核",
                       f"batch {batch.id} is {batch.status}, not submitted", field="status")
    problems = check_batch(session, batch)
    batch.problems = [asdict(p) for p in problems]
    batch.status = "returned" if problems else "forwarded"
    batch.checked_by, batch.checked_at = actor.id, clock.now()
    session.flush()
    record(session, actor, f"certificate_batch.{'return' if problems else 'forward'}", batch,
           {"problems": len(problems), "numbers": sorted({p.subject for p in problems})[:200]})
    notifications.batch_reviewed(session, batch, actor)
    return batch


def accept_batch(session: Session, batch: CertificateBatch, actor: Any) -> CertificateBatch:
    """The region takes a forwarded batch in."""
    require_permission(actor, Permission.REGULATE)
    require_region(actor, "接收上报的证书数据", "accepting forwarded certificate data")
    if batch.status != "forwarded":
        raise Conflict(f"批次 {batch.id} 未上报自治区，不能接收", f"batch {batch.id} is {batch.status}, not forwarded",
                       field="status")
    batch.status, batch.accepted_by, batch.accepted_at = "accepted", actor.id, clock.now()
    session.flush()
    record(session, actor, "certificate_batch.accept", batch, {})
    notifications.batch_accepted(session, batch, actor)
    return batch


def get_batch(session: Session, batch_id: int) -> CertificateBatch:
    batch = session.get(CertificateBatch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在", f"no batch {batch_id}")
    return batch


def receiver(batch: CertificateBatch) -> str:
    """The jurisdiction that checks the batch: the institution's league/city, or the region itself."""
    return batch.league_city or REGION


def list_batches(session: Session, institution_ids: set[int] | None, status: str | None = None,
                 jurisdictions: set[str] | None = None) -> list[CertificateBatch]:
    """Batches of ``institution_ids`` (``None``: all) received in ``jurisdictions`` (``None``: all)."""
    query = select(CertificateBatch).order_by(CertificateBatch.id.desc()).limit(500)
    if jurisdictions is not None:
        query = query.where(func.coalesce(CertificateBatch.league_city, REGION).in_(jurisdictions or {""}))
    if institution_ids is not None:
        query = query.where(CertificateBatch.institution_id.in_(institution_ids or {-1}))
    if status:
        query = query.where(CertificateBatch.status == status)
    return list(session.scalars(query))


def batch_dict(batch: CertificateBatch) -> dict[str, Any]:
    return {"id": batch.id, "institution_id": batch.institution_id, "league_city": batch.league_city,
            "period_from": batch.period_from.isoformat(), "period_to": batch.period_to.isoformat(),
            "status": batch.status, "issued": batch.issued_count, "revoked": batch.revoked_count,
            "problems": batch.problems, "note": batch.note,
            "submitted_at": batch.submitted_at.isoformat(),
            "checked_at": batch.checked_at.isoformat() if batch.checked_at else None,
            "accepted_at": batch.accepted_at.isoformat() if batch.accepted_at else None,
            "records": [{"type": r.record_type, "number": r.number} for r in batch.records]}
