"""Stop orders (责令停止认定, seed Art. 34): while one is active, :func:`can_certify` says no and
names the order's reference, so sessions, papers and certificates are all blocked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.institutions.filing_models import StopOrder
from examsvc.institutions.jurisdiction import jurisdiction_of, require_covers
from examsvc.institutions.models import Institution, InstitutionStatus
from examsvc.institutions.service import set_status
from examsvc.notifications import hooks as notifications


def active_orders(session: Session, institution_id: int) -> list[StopOrder]:
    return list(session.scalars(select(StopOrder).where(StopOrder.institution_id == institution_id,
                                                        StopOrder.lifted_at.is_(None)).order_by(StopOrder.id)))


def active_order_of(institution: Institution) -> StopOrder | None:
    """The first active order of ``institution`` (None for an institution outside any session)."""
    session = object_session(institution)
    if session is None or institution.id is None:
        return None
    orders = active_orders(session, institution.id)
    return orders[0] if orders else None


def _reason(orders: list[StopOrder]) -> str:
    return "；".join(f"{o.reference}（{o.reason}）" for o in orders)


def issue_stop_order(session: Session, institution: Institution, *, reference: str, reason: str, actor: object,
                     blueprint_id: int | None = None) -> StopOrder:
    """Order ``institution`` to stop certifying until the order is lifted; suspends it."""
    require_covers(actor, jurisdiction_of(institution), "对该机构责令停止认定", "ordering this institution to stop")
    reference, reason = reference.strip(), reason.strip()
    if not reference or len(reference) > 100:
        raise ValidationFailed("须填写文号（不超过100字）", "the order's reference is required (≤ 100 characters)",
                               field="reference")
    if not reason or len(reason) > 500:
        raise ValidationFailed("须说明理由（不超过500字）", "a reason is required (≤ 500 characters)", field="reason")
    if institution.status == InstitutionStatus.TERMINATED.value:
        raise Conflict("机构备案已终止", "the institution's filing is terminated", field="institution")
    if any(o.reference == reference for o in active_orders(session, institution.id)):
        raise Conflict(f"文号 {reference} 的责令已生效", f"order {reference} is already active", field="reference")
    order = StopOrder(institution_id=institution.id, reference=reference, reason=reason, blueprint_id=blueprint_id,
                      issued_by=getattr(actor, "id", None), issued_at=clock.now())
    session.add(order)
    session.flush()
    set_status(session, institution, InstitutionStatus.SUSPENDED, _reason(active_orders(session, institution.id)), actor)
    record(session, actor, "institution.stop_order", institution, {"order": order.id, "reference": reference,
                                                                  "reason": reason, "blueprint_id": blueprint_id})
    notifications.stop_order_issued(session, institution, order, actor)
    return order


def lift_stop_order(session: Session, order: StopOrder, *, note: str, actor: object) -> StopOrder:
    """Lift an order; the institution is active again once no other order remains."""
    institution = session.get(Institution, order.institution_id)
    assert institution is not None
    require_covers(actor, jurisdiction_of(institution), "解除该机构的责令", "lifting this institution's order")
    if order.lifted_at is not None:
        raise Conflict("该责令已解除", "the order is already lifted", field="order")
    order.lifted_at, order.lifted_by, order.lift_note = clock.now(), getattr(actor, "id", None), note.strip()[:500] or None
    session.flush()
    if institution.status != InstitutionStatus.TERMINATED.value:
        remaining = active_orders(session, institution.id)
        if remaining:
            set_status(session, institution, InstitutionStatus.SUSPENDED, _reason(remaining), actor)
        else:
            set_status(session, institution, InstitutionStatus.ACTIVE, "", actor)
    record(session, actor, "institution.stop_order_lifted", institution, {"order": order.id,
                                                                         "reference": order.reference})
    notifications.stop_order_lifted(session, institution, order, actor)
    return order


def get_order(session: Session, order_id: int) -> StopOrder:
    order = session.get(StopOrder, order_id)
    if order is None:
        raise NotFound(f"责令 {order_id} 不存在", f"stop order {order_id} not found")
    return order


def list_orders(session: Session, institution_id: int | None = None) -> list[StopOrder]:
    query = select(StopOrder).order_by(StopOrder.issued_at.desc(), StopOrder.id.desc())
    if institution_id is not None:
        query = query.where(StopOrder.institution_id == institution_id)
    return list(session.scalars(query))
