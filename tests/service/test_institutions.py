"""Institutions: registration rules and can_certify, the gate later areas ask before they act."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.errors import Conflict, ServiceError, ValidationFailed
from examsvc.institutions.models import Institution, InstitutionStatus, ScopeEntry
from examsvc.institutions.service import can_certify, filing_valid_until, register_institution, set_status
from tests.conftest import count_rows

IN_FORCE = date(2026, 6, 1)


# --- can_certify -----------------------------------------------------------------------------------

def test_in_scope_is_allowed(world):
    a, b = world["A"], world["B"]
    assert can_certify(a, "4-03-02-01", "4", IN_FORCE).allowed
    assert can_certify(a, "4-03-02-01", "5", IN_FORCE)
    assert can_certify(b, "6-18-01-01", "special", IN_FORCE)   # employers may use the new eight levels
    assert can_certify(b, "6-18-01-01", "三级", IN_FORCE)       # a level written as Chinese is the same level


@pytest.mark.parametrize(("institution", "occupation", "level"), [
    ("A", "4-03-02-01", "3"),        # the occupation, another level
    ("A", "6-18-01-01", "4"),        # another institution's occupation
    ("B", "6-18-01-01", "2"),
])
def test_out_of_scope_is_refused_with_the_reason(world, institution, occupation, level):
    decision = can_certify(world[institution], occupation, level, IN_FORCE)
    assert not decision and decision.code == "out_of_scope"
    assert occupation in decision.reason_en and world[institution].name in decision.reason


def test_a_level_outside_the_kind_is_refused(world):
    decision = can_certify(world["A"], "4-03-02-01", "special", IN_FORCE)
    assert not decision and decision.code == "level_not_allowed"


def test_a_filing_is_valid_three_years_from_publication(world):
    a = world["A"]                                   # published 2025-04-15
    assert a.valid_until == date(2028, 4, 14)
    assert can_certify(a, "4-03-02-01", "4", date(2025, 4, 15))
    assert can_certify(a, "4-03-02-01", "4", date(2028, 4, 14))
    expired = can_certify(a, "4-03-02-01", "4", date(2028, 4, 15))
    assert not expired and expired.code == "expired" and "2028-04-14" in expired.reason
    early = can_certify(a, "4-03-02-01", "4", date(2025, 4, 14))
    assert not early and early.code == "not_yet_valid"


def test_filing_validity_of_a_leap_day_publication():
    assert filing_valid_until(date(2024, 2, 29)) == date(2027, 2, 27)
    assert filing_valid_until(date(2024, 10, 20)) == date(2027, 10, 19)


def test_a_suspended_institution_is_refused_naming_the_order(session, world):
    a = world["A"]
    set_status(session, a, InstitutionStatus.SUSPENDED, "内人社监〔2026〕7号", actor="regulator")
    session.commit()
    decision = can_certify(a, "4-03-02-01", "4", IN_FORCE)
    assert not decision and decision.code == "suspended" and "内人社监〔2026〕7号" in decision.reason
    with pytest.raises(ServiceError) as caught:
        decision.raise_if_denied()
    assert caught.value.code == "can_certify.suspended" and caught.value.field == "institution"
    set_status(session, a, InstitutionStatus.ACTIVE, "", actor="regulator")
    assert can_certify(a, "4-03-02-01", "4", IN_FORCE)


def test_a_terminated_institution_is_refused_and_stays_terminated(session, world):
    b = world["B"]
    set_status(session, b, InstitutionStatus.TERMINATED, "备案注销", actor="regulator")
    assert can_certify(b, "6-18-01-01", "3", IN_FORCE).code == "terminated"
    with pytest.raises(Conflict):
        set_status(session, b, InstitutionStatus.ACTIVE, "", actor="regulator")


def test_status_changes_need_a_reason_and_are_audited(session, world):
    with pytest.raises(ValidationFailed) as caught:
        set_status(session, world["A"], InstitutionStatus.SUSPENDED, "  ", actor="regulator")
    assert caught.value.field == "reason"
    set_status(session, world["A"], InstitutionStatus.SUSPENDED, "责令停止认定", actor="regulator")
    session.commit()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "institution.status")).one()
    assert event.details == {"from": "active", "to": "suspended", "reason": "责令停止认定"}
    assert event.actor == "regulator" and event.subject_id == str(world["A"].id)


@pytest.mark.parametrize(("occupation", "level", "code"), [
    ("4-3-2-1", "4", "occupation_code.format"),
    ("1-01-00-01", "4", "occupation_code.major_category"),
    ("4-03-02-01", "七级", "level.unknown"),
])
def test_invalid_occupation_or_level_is_refused_not_raised(world, occupation, level, code):
    decision = can_certify(world["A"], occupation, level, IN_FORCE)
    assert not decision and decision.code == code and decision.reason


# --- registering institutions: bad input names the field and writes nothing ------------------------

def _register(session, **overrides):
    arguments = {"code": "S000015000077", "name": "丙评价机构", "kind": "social_organisation", "tier": "region",
                 "league_city": None, "published_on": date(2025, 10, 1), "scope": [("4-03-02-01", "4")]}
    arguments.update(overrides)
    return register_institution(session, **arguments)


def test_registration_records_scope_validity_and_an_audit_event(session, world):
    institution = _register(session)
    session.commit()
    assert institution.valid_until == date(2028, 9, 30) and institution.status == "active"
    assert [(e.occupation_code, e.level) for e in institution.scope] == [("4-03-02-01", "4")]
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(institution.id))).one()
    assert event.action == "institution.register" and event.details["scope"] == ["4-03-02-01/4"]


@pytest.mark.parametrize(("overrides", "error", "field"), [
    ({"code": "S00001500007"}, ValidationFailed, "institution_code"),          # 12 characters
    ({"code": "Y000015000077"}, ValidationFailed, "institution_code"),         # Y is an employer's code
    ({"code": "X000015000077"}, ValidationFailed, "institution_code"),
    ({"code": "S000015000001"}, Conflict, "code"),                              # institution A's code
    ({"kind": "school"}, ValidationFailed, "institution_kind"),
    ({"name": "  "}, ValidationFailed, "name"),
    ({"name": "机" * 201}, ValidationFailed, "name"),                              # the column holds 200
    ({"tier": "county"}, ValidationFailed, "tier"),
    ({"tier": "league_city", "league_city": None}, ValidationFailed, "league_city"),
    ({"tier": "league_city", "league_city": "北京市"}, ValidationFailed, "league_city"),
    ({"scope": [("4-03-02-01", "4"), ("9-99-99-99", "4")]}, ValidationFailed, "occupation_code"),
    ({"scope": [("4-03-02-01", "4"), ("3-99-99-99", "4")]}, ValidationFailed, "scope"),   # not catalogued
    ({"scope": [("4-03-02-01", "special")]}, ValidationFailed, "level"),
])
def test_bad_registration_names_the_problem_and_writes_nothing(session, world, overrides, error, field):
    before = (count_rows(session, Institution), count_rows(session, ScopeEntry), count_rows(session, AuditEvent))
    with pytest.raises(error) as caught:
        _register(session, **overrides)
    session.rollback()
    assert caught.value.field == field, caught.value.message_en
    assert caught.value.message and caught.value.message_en
    assert (count_rows(session, Institution), count_rows(session, ScopeEntry),
            count_rows(session, AuditEvent)) == before
