"""A stop order (seed Art. 34) blocks session planning, paper assembly and certificate issuing,
naming its reference, until it is lifted."""

from datetime import date, datetime, timezone

import pytest

from examsvc import clock
from examsvc.errors import Conflict, ServiceError, ValidationFailed
from examsvc.institutions.models import InstitutionStatus
from examsvc.institutions.orders import issue_stop_order, lift_stop_order
from examsvc.institutions.service import can_certify, set_status
from examsvc.papers.service import start_assembly
from examsvc.sessions.service import plan_session
from tests.delivery.conftest import site_filed
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

REF = "内人社监〔2026〕3号"


def _plan(session, papers_world):
    with papers_world["app"].app_context():  # planning reads the app's time zone
        return _plan_now(session, papers_world)


def _plan_now(session, papers_world):
    return plan_session(session, institution=papers_world["A"], blueprint=papers_world["version"].blueprint,
                        title="2026年第二期", exam_date=date(2026, 3, 20),
                        window_start=datetime(2026, 3, 20, 0, 30, tzinfo=timezone.utc),
                        window_end=datetime(2026, 3, 20, 1, 30, tzinfo=timezone.utc), rooms=[("101", 30)],
                        paper_ids=[], league_city=site_filed(session, papers_world["A"]), actor=papers_world["admin"])


def _assemble(session, papers_world):
    return start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"], forms=1,
                          overrides=None, actor=papers_world["admin"])


def test_a_stop_order_blocks_planning_and_assembly_naming_its_reference_until_lifted(app, session, papers_world,
                                                                                    regulator):
    papers_world = {**papers_world, "app": app}
    a = papers_world["A"]
    order = issue_stop_order(session, a, reference=REF, reason="题库不符合要求", actor=regulator)
    session.commit()
    assert a.status == InstitutionStatus.SUSPENDED.value and REF in a.status_reason
    decision = can_certify(a, "4-03-02-01", "4", date(2026, 3, 20))
    assert not decision and decision.code == "stop_order" and REF in decision.reason and REF in decision.reason_en
    for attempt in (_plan, _assemble):
        with pytest.raises(ServiceError) as exc:
            attempt(session, papers_world)
        assert exc.value.code == "can_certify.stop_order" and REF in exc.value.message
    session.rollback()

    # the order, not the status, decides: putting the status back by hand does not lift it
    set_status(session, a, InstitutionStatus.ACTIVE, "", regulator)
    assert not can_certify(a, "4-03-02-01", "4", date(2026, 3, 20))
    set_status(session, a, InstitutionStatus.SUSPENDED, REF, regulator)

    second = issue_stop_order(session, a, reference="内人社监〔2026〕4号", reason="另案", actor=regulator)
    with pytest.raises(Conflict):
        issue_stop_order(session, a, reference=REF, reason="重复", actor=regulator)
    lift_stop_order(session, order, note="已整改", actor=regulator)
    assert a.status == InstitutionStatus.SUSPENDED.value and "4号" in a.status_reason
    assert "4号" in can_certify(a, "4-03-02-01", "4", date(2026, 3, 20)).reason
    lift_stop_order(session, second, note="已整改", actor=regulator)
    with pytest.raises(Conflict):
        lift_stop_order(session, second, note="", actor=regulator)
    session.commit()
    assert a.status == InstitutionStatus.ACTIVE.value and a.status_reason is None
    assert can_certify(a, "4-03-02-01", "4", date(2026, 3, 20))
    assert _assemble(session, papers_world).id
    with pytest.raises(ValidationFailed) as exc:  # past the gate: now it wants a locked paper
        _plan(session, papers_world)
    assert exc.value.field == "paper_ids"


def test_an_order_needs_a_reference_and_a_reason(session, world, regulator):
    with pytest.raises(ValidationFailed):
        issue_stop_order(session, world["A"], reference=" ", reason="x", actor=regulator)
    with pytest.raises(ValidationFailed):
        issue_stop_order(session, world["A"], reference=REF, reason="", actor=regulator)


def test_a_stop_order_blocks_certificate_issuing(app, session, world, regulator):
    from examsvc.certificates.service import CannotIssue, issue_certificate
    from tests.certificates.builders import ISSUE_TIME, Passes, pass_records

    with clock.frozen(ISSUE_TIME), app.app_context():
        passes = Passes(session, world["A"], regulator.id)
        records = pass_records(session, passes.make(2))
        order = issue_stop_order(session, world["A"], reference=REF, reason="题库不符合要求", actor=regulator)
        session.commit()
        with pytest.raises(CannotIssue) as exc:
            issue_certificate(session, records[0], "cli")
        assert REF in str(exc.value.message) or any(REF in p.message for p in exc.value.problems)
        session.rollback()
        lift_stop_order(session, order, note="已整改", actor=regulator)
        assert issue_certificate(session, records[0], "cli").number.startswith("S000015000001")
