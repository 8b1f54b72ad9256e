"""The filing life cycle (seed Art. 9-18): application to publication, renewal, changes, termination."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.errors import Conflict, ValidationFailed
from examsvc.institutions import filing
from examsvc.institutions.filing_models import ApplicationStatus
from examsvc.institutions.models import Institution, InstitutionStatus
from examsvc.institutions.service import can_certify


def _apply(session, regulator, evidence, name="丙职业技能评价中心", kind="social_organisation",
           scope=(("4-03-02-01", "3"), ("4-03-02-01", "4"))):
    return filing.submit_application(session, applicant_name=name, kind=kind, tier="league_city", league_city="赤峰市",
                                     scope=scope, conditions=evidence["conditions"],
                                     declarations=evidence["declarations"], actor=regulator)


def _evaluate(session, application, regulator, methods=filing.REQUIRED_METHODS):
    for method in methods:
        filing.record_evaluation(session, application, method=method, score=85, notes=f"{method} ok", actor=regulator)


def _to_notice(session, application, regulator):
    _evaluate(session, application, regulator)
    filing.start_notice(session, application, start=date(2026, 3, 10), end=date(2026, 3, 16), actor=regulator)


def test_an_application_goes_through_evaluation_and_notice_to_publication_with_a_code_and_scope(
        session, regulator, evidence):
    first = _apply(session, regulator, evidence)
    second = _apply(session, regulator, evidence, name="丁企业评价中心", kind="employer",
                    scope=(("6-18-01-01", "3"),))
    assert first.status == ApplicationStatus.SUBMITTED.value
    _evaluate(session, first, regulator, methods=("report", "document_review"))
    with pytest.raises(ValidationFailed, match="site_visit"):  # every Art. 11 method before notice
        filing.start_notice(session, first, start=date(2026, 3, 10), end=date(2026, 3, 16), actor=regulator)
    _evaluate(session, first, regulator, methods=("site_visit", "qa"))
    filing.start_notice(session, first, start=date(2026, 3, 10), end=date(2026, 3, 16), actor=regulator)
    _to_notice(session, second, regulator)
    batch = filing.create_batch(session, title="2026年第一批", publication_date=date(2026, 4, 20), actor=regulator)
    assert not batch.off_cycle
    published = filing.publish_batch(session, batch, [first.id, second.id], regulator)
    session.commit()

    # the world holds serials 1 and 2: the next two follow, S or Y by kind, in the order given
    assert [i.code for i in published] == ["S000015000003", "Y000015000004"]
    institution = published[0]
    assert institution.name == "丙职业技能评价中心" and institution.league_city == "赤峰市"
    assert institution.published_on == date(2026, 4, 20) and institution.valid_until == date(2029, 4, 19)
    assert [(e.occupation_code, e.level) for e in institution.scope] == [("4-03-02-01", "3"), ("4-03-02-01", "4")]
    assert first.status == ApplicationStatus.PUBLISHED.value and first.institution_id == institution.id
    assert can_certify(institution, "4-03-02-01", "3", date(2026, 5, 1))
    assert not can_certify(institution, "4-03-02-01", "3", date(2026, 4, 19))
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"filing.submit", "filing.evaluate", "filing.notice", "filing.publish", "institution.register"} <= actions
    with pytest.raises(Conflict):
        filing.publish_batch(session, batch, [first.id], regulator)


def test_an_application_needs_every_condition_documented_and_every_prohibition_declared(session, regulator, evidence):
    missing = dict(evidence["conditions"])
    del missing["quality_control"]
    with pytest.raises(ValidationFailed) as exc:
        filing.submit_application(session, applicant_name="甲", kind="employer", tier="region", league_city=None,
                                  scope=[("6-18-01-01", "3")], conditions=missing,
                                  declarations=evidence["declarations"], actor=regulator)
    assert exc.value.field == "conditions.quality_control"
    declared = {**evidence["declarations"], "bad_record": "applicable"}
    with pytest.raises(ValidationFailed) as exc:
        filing.submit_application(session, applicant_name="甲", kind="employer", tier="region", league_city=None,
                                  scope=[("6-18-01-01", "3")], conditions=evidence["conditions"],
                                  declarations=declared, actor=regulator)
    assert exc.value.field == "declarations.bad_record"
    for scope in ([("2-01-01-01", "3")], [("4-03-02-01", "special")], []):  # category 2; special is for employers
        with pytest.raises(ValidationFailed):
            filing.submit_application(session, applicant_name="甲", kind="social_organisation", tier="region",
                                      league_city=None, scope=scope, conditions=evidence["conditions"],
                                      declarations=evidence["declarations"], actor=regulator)
    with pytest.raises(ValidationFailed):
        filing.store_attachment(session, b"not a pdf", "x.pdf", "application/pdf", regulator)
    assert filing.store_attachment(session, b"%PDF-1.4\n% test evidence\n", "again.pdf", "application/pdf",
                                   regulator) == evidence["sha256"]  # stored once by content


def test_objections_during_notice_must_be_resolved_and_an_upheld_one_blocks_publication(session, regulator, evidence):
    application = _apply(session, regulator, evidence)
    _to_notice(session, application, regulator)
    with pytest.raises(ValidationFailed):  # outside the notice period
        filing.record_objection(session, application, raised_by="张三", text="场地不足", received_on=date(2026, 3, 20),
                                actor=regulator)
    objection = filing.record_objection(session, application, raised_by="张三", text="场地不足",
                                        received_on=date(2026, 3, 12), actor=regulator)
    batch = filing.create_batch(session, title="十月批", publication_date=date(2026, 10, 15), actor=regulator)
    with pytest.raises(ValidationFailed, match="not resolved"):
        filing.publish_batch(session, batch, [application.id], regulator)
    filing.resolve_objection(session, objection, resolution="核实属实", upheld=True, actor=regulator)
    with pytest.raises(ValidationFailed, match="upheld"):
        filing.publish_batch(session, batch, [application.id], regulator)
    filing.reject_application(session, application, reason="公示异议成立", actor=regulator)
    assert application.status == "rejected"

    other = _apply(session, regulator, evidence, name="戊评价中心")
    _to_notice(session, other, regulator)
    objection = filing.record_objection(session, other, raised_by="李四", text="疑问", received_on=date(2026, 3, 11),
                                        actor=regulator)
    filing.resolve_objection(session, objection, resolution="经核查不属实", upheld=False, actor=regulator)
    early = filing.create_batch(session, title="公示未满", publication_date=date(2026, 3, 16), actor=regulator)
    assert early.off_cycle
    with pytest.raises(ValidationFailed, match="notice"):
        filing.publish_batch(session, early, [other.id], regulator)
    [institution] = filing.publish_batch(session, batch, [other.id], regulator)
    assert institution.code.startswith("S000015")


def test_a_renewal_is_applied_for_in_the_last_three_months_and_may_drop_occupations_never_certified(
        app, session, world, regulator, evidence):
    from tests.certificates.builders import Passes

    a = world["A"]  # valid until 2028-04-14, scope 4-03-02-01 L4 and L5
    extra = filing.request_change(session, a, kind="scope", changes={"add": [["6-18-01-01", "3"]]},
                                  reason="新增职业", actor=regulator)
    filing.decide_change(session, extra, approve=True, note="", actor=regulator)
    assert filing.renewal_window(a) == (date(2028, 1, 14), date(2028, 4, 14))
    with pytest.raises(ValidationFailed, match="2028-01-14"):
        filing.apply_for_renewal(session, a, conditions=evidence["conditions"], declarations=evidence["declarations"],
                                 actor=regulator, today=date(2028, 1, 13))
    admin = regulator
    with clock.frozen(datetime(2026, 12, 20, 2, tzinfo=timezone.utc)), app.app_context():
        Passes(session, a, admin.id).make(1)  # sessions held and a candidate passed in 4-03-02-01
    assert filing.never_certified(session, a) == ["6-18-01-01"]
    renewal = filing.apply_for_renewal(session, a, conditions=evidence["conditions"],
                                       declarations=evidence["declarations"], actor=regulator, today=date(2028, 2, 1))
    with pytest.raises(Conflict):  # one pending renewal at a time
        filing.apply_for_renewal(session, a, conditions=evidence["conditions"], declarations=evidence["declarations"],
                                 actor=regulator, today=date(2028, 2, 2))
    filing.record_evaluation(session, renewal, method="document_review", score=80, notes="续期评估合格",
                             actor=regulator)
    with pytest.raises(ValidationFailed, match="4-03-02-01"):
        filing.grant_renewal(session, renewal, drop_occupations=["4-03-02-01"], actor=regulator)
    filing.grant_renewal(session, renewal, drop_occupations=["6-18-01-01"], actor=regulator)
    session.commit()
    assert a.valid_until == date(2031, 4, 14)
    assert {e.occupation_code for e in a.scope} == {"4-03-02-01"}
    assert renewal.dropped_occupations == ["6-18-01-01"] and renewal.status == "published"


def test_changes_of_basic_information_and_scope_apply_only_when_approved(session, world, regulator):
    b = world["B"]
    change = filing.request_change(session, b, kind="basic", changes={"name": "乙评价中心（更名）", "phone": "0472-1234567"},
                                   reason="单位更名", actor=regulator)
    assert b.name == "乙评价机构"
    filing.decide_change(session, change, approve=True, note="同意", actor=regulator)
    assert b.name == "乙评价中心（更名）"
    with pytest.raises(Conflict):
        filing.decide_change(session, change, approve=False, note="", actor=regulator)

    refused = filing.request_change(session, b, kind="scope", reason="调整", changes={"remove": [["6-18-01-01", "3"]]},
                                    actor=regulator)
    filing.decide_change(session, refused, approve=False, note="不同意", actor=regulator)
    scope = filing.request_change(session, b, kind="scope", reason="调整", actor=regulator,
                                  changes={"add": [["6-18-01-01", "4"]], "remove": [["6-18-01-01", "special"]]})
    filing.decide_change(session, scope, approve=True, note="评估通过", actor=regulator)
    session.commit()
    assert sorted((e.occupation_code, e.level) for e in b.scope) == [("6-18-01-01", "3"), ("6-18-01-01", "4")]
    assert can_certify(b, "6-18-01-01", "4", date(2026, 5, 1))
    assert not can_certify(b, "6-18-01-01", "special", date(2026, 5, 1))
    with pytest.raises(ValidationFailed):  # not in the scope
        filing.request_change(session, b, kind="scope", changes={"remove": [["4-03-02-01", "4"]]}, reason="x",
                              actor=regulator)
    with pytest.raises(ValidationFailed):  # the scope cannot become empty
        filing.request_change(session, b, kind="scope", reason="x", actor=regulator,
                              changes={"remove": [["6-18-01-01", "3"], ["6-18-01-01", "4"]]})


def test_voluntary_termination_ends_the_filing_and_lists_the_archive_duties(session, world, regulator):
    a = world["A"]
    change = filing.request_change(session, a, kind="termination", changes={}, reason="业务调整，自愿终止",
                                   actor=regulator)
    assert a.status == InstitutionStatus.ACTIVE.value
    filing.decide_change(session, change, approve=True, note="同意终止", actor=regulator)
    session.commit()
    assert a.status == InstitutionStatus.TERMINATED.value
    decision = can_certify(a, "4-03-02-01", "4", date(2026, 5, 1))
    assert not decision and decision.code == "terminated"
    assert [d["key"] for d in change.changes["archive_duties"]] == [k for k, _, _ in filing.ARCHIVE_DUTIES]
    filing.mark_archive_duty(session, change, "archive_records", regulator)
    session.commit()
    session.expire_all()
    assert [d["done"] for d in change.changes["archive_duties"]] == [True, False, False, False]
    with pytest.raises(Conflict):
        filing.request_change(session, a, kind="basic", changes={"name": "x"}, reason="x", actor=regulator)


def test_site_filings_are_for_region_level_institutions(session, world, regulator):
    a, b = world["A"], world["B"]
    assert not filing.may_work_in(session, a, "赤峰市")
    filing.file_site(session, a, "赤峰市", regulator)
    assert filing.may_work_in(session, a, "赤峰市") and not filing.may_work_in(session, a, "包头市")
    with pytest.raises(Conflict):
        filing.file_site(session, a, "赤峰市", regulator)
    with pytest.raises(ValidationFailed):
        filing.file_site(session, b, "赤峰市", regulator)
    assert filing.may_work_in(session, b, "包头市")
    entries = {e.institution.code: e for e in filing.directory(session)}
    assert entries["S000015000001"].sites == ["赤峰市"]
    assert ("4-03-02-01", "中式烹调师", "4") in entries["S000015000001"].scope


def test_codes_continue_after_the_highest_registered_serial(session, world, regulator):
    assert filing.allocate_serials(session, 2) == 3
    assert filing.allocate_serials(session, 1) == 5
    assert filing.institution_code("employer", 5) == "Y000015000005"
    assert session.scalar(select(Institution.id).where(Institution.code == "Y000015000005")) is None


def test_a_renewal_is_recorded_only_by_the_regulator_of_the_institutions_jurisdiction(session, world, evidence):
    """Issue 13: apply_for_renewal checked no jurisdiction (Art. 7-8)."""
    from examsvc.accounts.service import create_user
    from examsvc.errors import Forbidden
    from examsvc.institutions.filing_models import FilingApplication
    from tests.conftest import PASSWORD

    hohhot, baotou = (create_user(session, username=name, password=PASSWORD, display_name=name,
                                  roles=[("regulator", None)], jurisdiction=where)
                      for name, where in (("reg_hohhot", "呼和浩特市"), ("reg_baotou", "包头市")))
    session.commit()
    b, a = world["B"], world["A"]  # B: 包头市, valid until 2027-10-19; A: region-level
    for actor, institution in ((hohhot, b), (baotou, a)):
        with pytest.raises(Forbidden) as refused:
            filing.apply_for_renewal(session, institution, conditions=evidence["conditions"],
                                     declarations=evidence["declarations"], actor=actor, today=date(2027, 8, 1))
        assert (refused.value.field, refused.value.code) == ("jurisdiction", "outside_jurisdiction")
    session.rollback()
    assert session.scalars(select(FilingApplication).where(FilingApplication.purpose == "renewal")).all() == []
    renewal = filing.apply_for_renewal(session, b, conditions=evidence["conditions"],
                                       declarations=evidence["declarations"], actor=baotou, today=date(2027, 8, 1))
    assert (renewal.purpose, renewal.institution_id, renewal.league_city) == ("renewal", b.id, "包头市")
