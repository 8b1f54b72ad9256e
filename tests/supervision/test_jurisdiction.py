"""Who regulates whom (seed Art. 7-8, 12, 40, 43, 48): the region and the leagues/cities each act on
their own institutions; the region, the level above, covers all and alone publishes filings and
accepts forwarded certificate data; an appeal goes one level up."""

from datetime import date, datetime, timedelta, timezone

import pytest

from examsvc import clock
from examsvc.accounts.service import create_user
from examsvc.certificates.batch_models import CertificateBatch
from examsvc.certificates.batches import accept_batch, list_batches, review_batch
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from examsvc.institutions import filing, orders
from examsvc.institutions.jurisdiction import NATIONAL, REGION, covers, next_level, visible_jurisdictions
from examsvc.supervision import service as cases
from tests.conftest import PASSWORD, csrf_headers, login, make_user

BEIJING = timezone(timedelta(hours=8))


def regulator(session, username: str, jurisdiction: str | None):
    user = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[("regulator", None)], jurisdiction=jurisdiction)
    session.commit()
    return user


@pytest.fixture
def regulators(session, world):
    return {"region": regulator(session, "reg_region", None), "baotou": regulator(session, "reg_baotou", "包头市"),
            "chifeng": regulator(session, "reg_chifeng", "赤峰市"), **world}


def test_a_regulator_grant_carries_its_jurisdiction_and_only_a_regulator_has_one(session, world):
    assert regulator(session, "reg1", None).grants[0].jurisdiction == REGION
    assert regulator(session, "reg2", "呼和浩特市").grants[0].jurisdiction == "呼和浩特市"
    with pytest.raises(ValidationFailed) as caught:
        regulator(session, "reg3", "火星市")
    assert caught.value.field == "jurisdiction"
    with pytest.raises(ValidationFailed) as caught:
        create_user(session, username="admin1", password=PASSWORD, display_name="admin1",
                    roles=[("institution_admin", world["A"].id)], jurisdiction="包头市")
    assert caught.value.field == "jurisdiction"


def test_the_region_covers_every_jurisdiction_and_a_league_city_its_own(session, regulators):
    r = regulators
    assert covers(r["region"], "包头市") and covers(r["region"], REGION)
    assert covers(r["baotou"], "包头市") and not covers(r["baotou"], "赤峰市") and not covers(r["baotou"], REGION)
    assert visible_jurisdictions(r["region"]) is None and visible_jurisdictions(r["baotou"]) == {"包头市"}
    assert (next_level("包头市"), next_level(REGION)) == (REGION, NATIONAL)


def _batch(session, institution) -> CertificateBatch:
    admin = make_user(session, f"admin{institution.id}", "institution_admin", institution.id)
    batch = CertificateBatch(institution_id=institution.id, league_city=institution.league_city,
                             period_from=date(2026, 1, 1), period_to=date(2026, 6, 30), status="submitted",
                             issued_count=0, revoked_count=0, problems=[], note="", submitted_by=admin.id,
                             submitted_at=clock.now())
    session.add(batch)
    session.commit()
    return batch


def test_a_league_city_checks_its_own_institutions_data_and_only_the_region_accepts_it(session, regulators):
    r = regulators
    baotou_batch, region_batch = _batch(session, r["B"]), _batch(session, r["A"])
    with pytest.raises(Forbidden) as caught:
        review_batch(session, baotou_batch, r["chifeng"])
    assert caught.value.code == "outside_jurisdiction" and "包头市" in caught.value.message
    with pytest.raises(Forbidden):
        review_batch(session, region_batch, r["baotou"])  # a region-level institution reports to the region
    assert review_batch(session, baotou_batch, r["baotou"]).status == "forwarded"
    with pytest.raises(Forbidden) as caught:
        accept_batch(session, baotou_batch, r["baotou"])
    assert caught.value.code == "region_only"
    assert accept_batch(session, baotou_batch, r["region"]).status == "accepted"
    session.commit()
    assert [b.id for b in list_batches(session, None, jurisdictions={"包头市"})] == [baotou_batch.id]
    assert list_batches(session, None, jurisdictions={"赤峰市"}) == []
    assert {b.id for b in list_batches(session, None)} == {baotou_batch.id, region_batch.id}


def test_stop_orders_only_from_the_institutions_regulator_or_the_region(session, regulators):
    r = regulators
    with pytest.raises(Forbidden):
        orders.issue_stop_order(session, r["B"], reference="赤人社〔2026〕1号", reason="题库不足", actor=r["chifeng"])
    with pytest.raises(Forbidden):
        orders.issue_stop_order(session, r["A"], reference="包人社〔2026〕1号", reason="题库不足", actor=r["baotou"])
    order = orders.issue_stop_order(session, r["B"], reference="包人社〔2026〕2号", reason="题库不足", actor=r["baotou"])
    session.commit()
    with pytest.raises(Forbidden):
        orders.lift_stop_order(session, order, note="已整改", actor=r["chifeng"])
    assert orders.lift_stop_order(session, order, note="已整改", actor=r["region"]).lifted_at is not None


def test_a_case_belongs_to_the_subjects_jurisdiction_and_its_appeal_goes_one_level_up(session, regulators):
    r = regulators
    with pytest.raises(Forbidden):
        cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                        facts="违规收费", actor=r["chifeng"])
    case = cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                           facts="违规收费", actor=r["baotou"])
    session.commit()
    assert case.jurisdiction == "包头市"
    with pytest.raises(Forbidden):  # another league/city neither acts on it nor sees it
        cases.propose_decision(session, case, facts="违规收费", reasons="查实", basis=["第四十五条"],
                               sanctions=["interview"], actor=r["chifeng"])
    with pytest.raises(Forbidden):
        cases.visible_case(session, case.id, r["chifeng"])
    assert cases.list_cases(session, jurisdictions={"赤峰市"}) == []
    assert [c.id for c in cases.list_cases(session, jurisdictions={"包头市"})] == [case.id]
    assert cases.visible_case(session, case.id, r["region"]).id == case.id

    with clock.frozen(datetime(2025, 9, 26, 10, tzinfo=BEIJING)) as frozen:
        cases.propose_decision(session, case, facts="违规收费", reasons="查实", basis=["第四十五条"],
                               sanctions=["interview"], actor=r["baotou"])
        cases.send_notice(session, case, sent_on=date(2025, 9, 26), statement_days=3, actor=r["baotou"])
        cases.record_statement(session, case, received_on=date(2025, 9, 29), text="无异议", actor=r["baotou"])
        frozen.advance(timedelta(days=4))
        cases.decide(session, case, decision="约谈", basis=["第四十五条"], sanctions=["interview"], delivery="written",
                     delivered_on=date(2025, 9, 30), actor=r["baotou"])
        frozen.advance(timedelta(days=13))  # 13 October
        cases.file_objection(session, case, filed_on=date(2025, 10, 9), text="不服", actor=r["baotou"])
        with pytest.raises(Forbidden):
            cases.review_decision(session, case, outcome="upheld", text="维持", decided_on=date(2025, 10, 10),
                                  actor=r["chifeng"])
        cases.review_decision(session, case, outcome="upheld", text="维持", decided_on=date(2025, 10, 10),
                              actor=r["baotou"])
        event = cases.appeal(session, case, filed_on=date(2025, 10, 13), text="不服复核决定", actor=r["baotou"])
    assert event.details["authority"] == REGION
    assert [a.name for a in cases.next_actions(case)][:1] == ["appeal_decision"]
    with pytest.raises(Forbidden) as caught:  # the next level decides, not the league/city itself
        cases.decide_appeal(session, case, outcome="withdrawn", text="撤销", decided_on=date(2025, 10, 20),
                            actor=r["baotou"])
    assert caught.value.code == "region_only"
    cases.decide_appeal(session, case, outcome="withdrawn", text="原处理决定依据不足，予以撤销",
                        decided_on=date(2025, 10, 20), actor=r["region"])
    assert case.status == "appeal_decided" and cases.effective_sanctions(case) == []
    assert cases.pending_sanctions(case) == []
    region_case = cases.open_case(session, subject_kind="institution", subject_id=r["A"].id, source="regulator",
                                  facts="违规收费", actor=r["region"])
    assert region_case.jurisdiction == REGION and next_level(region_case.jurisdiction) == NATIONAL


def test_an_appeal_to_the_ministry_is_recorded_but_not_decided_here(session, regulators):
    from tests.supervision.test_cases import institution_case

    case = institution_case(session, {**regulators, "regulator": regulators["region"]})
    case.status = "appealed"
    session.add(case)
    cases._append(session, case, "appealed", {"authority": NATIONAL, "text": "不服"}, regulators["region"],
                  date(2025, 10, 13))
    session.commit()
    assert "appeal_decision" not in [a.name for a in cases.next_actions(case)]
    with pytest.raises(Conflict):
        cases.decide_appeal(session, case, outcome="upheld", text="维持", decided_on=date(2025, 10, 20),
                            actor=regulators["region"])


def test_filing_applications_go_to_the_receiving_regulator_and_only_the_region_publishes(session, regulators):
    r = regulators
    application = filing.submit_application(**_application_args(session, "包头市"))
    session.commit()
    with pytest.raises(Forbidden):
        filing.record_evaluation(session, application, method="report", score=90, notes="", actor=r["chifeng"])
    filing.record_evaluation(session, application, method="report", score=90, notes="", actor=r["baotou"])
    with pytest.raises(Forbidden) as caught:
        filing.create_batch(session, title="2026年第二批", publication_date=date(2026, 10, 15), actor=r["baotou"])
    assert caught.value.code == "region_only"
    assert filing.create_batch(session, title="2026年第二批", publication_date=date(2026, 10, 15),
                               actor=r["region"]).id
    with pytest.raises(Forbidden):  # a site in 赤峰市 is 赤峰市's to file
        filing.file_site(session, r["A"], "赤峰市", r["baotou"])
    assert filing.file_site(session, r["A"], "赤峰市", r["chifeng"]).league_city == "赤峰市"


def _application_args(session, league_city: str) -> dict:
    digest = filing.store_attachment(session, b"%PDF-1.4\n% evidence\n", "营业执照.pdf", "application/pdf", "system")
    return {"session": session, "applicant_name": "丙评价机构", "kind": "employer", "tier": "league_city",
            "league_city": league_city, "scope": [("6-18-01-01", "3")],
            "conditions": {key: {"attachment": digest, "note": "见附件"} for key in filing.CONDITIONS},
            "declarations": {key: filing.NOT_APPLICABLE for key in filing.PROHIBITIONS}, "actor": "system"}


def test_over_http_a_league_city_regulator_sees_only_its_cases(app, client, session, regulators):
    r = regulators
    case = cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                           facts="违规收费", actor=r["baotou"])
    session.commit()
    login(client, "reg_chifeng")
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 403
    assert client.get("/api/v1/cases").get_json() == []
    client.post("/logout", headers=csrf_headers(client))
    login(client, "reg_baotou")
    assert client.get(f"/api/v1/cases/{case.id}").get_json()["jurisdiction"] == "包头市"
    assert [c["id"] for c in client.get("/api/v1/cases").get_json()] == [case.id]


def test_over_http_only_the_region_decides_an_appeal_against_a_league_citys_review(app, client, session, regulators):
    r = regulators
    case = cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                           facts="违规收费", actor=r["baotou"])
    case.status = "appealed"
    cases._append(session, case, "appealed", {"authority": REGION, "text": "不服"}, r["baotou"], date(2025, 10, 13))
    session.commit()
    admin_b = make_user(session, "admin_b", "institution_admin", r["B"].id)
    body = {"outcome": "upheld", "text": "维持复核决定", "decided_on": "2025-10-20"}
    login(client, "reg_baotou")
    refused = client.post(f"/api/v1/cases/{case.id}/steps/appeal_decision", json=body, headers=csrf_headers(client))
    assert refused.status_code == 403 and refused.get_json()["code"] == "region_only"
    client.post("/logout", headers=csrf_headers(client))
    login(client, "reg_region")
    done = client.post(f"/api/v1/cases/{case.id}/steps/appeal_decision", json=body, headers=csrf_headers(client))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "appeal_decided"
    page = client.get(f"/supervision/cases/{case.id}").get_data(as_text=True)
    assert "申诉处理决定" in page and "维持复核决定" in page
    from examsvc.notifications.models import Notification

    session.expire_all()
    sent = session.query(Notification).filter_by(kind="case.appeal_decision").all()
    assert [n.recipient_id for n in sent] == [admin_b.id] and "维持复核决定" in sent[0].body_zh


def test_a_league_city_keeps_its_own_registries(session, regulators):
    from examsvc.supervision import registry

    r = regulators
    with pytest.raises(Forbidden):
        registry.set_examiner_registry(session, "赤峰市", True, r["baotou"])
    assert registry.set_examiner_registry(session, "包头市", True, r["baotou"]).examiner_registry_on
    holder = make_user(session, "supervisor9", "quality_supervisor", r["B"].id)
    with pytest.raises(Forbidden):
        registry.register_supervisor_card(session, holder=holder, card_number="DD-2026-0009",
                                          valid_from=date(2026, 1, 1), valid_until=date(2028, 12, 31),
                                          jurisdiction="赤峰市", actor=r["baotou"])
    card = registry.register_supervisor_card(session, holder=holder, card_number="DD-2026-0009",
                                             valid_from=date(2026, 1, 1), valid_until=date(2028, 12, 31),
                                             jurisdiction="包头市", actor=r["baotou"])
    assert card.jurisdiction == "包头市"


def test_the_league_city_revokes_a_site_filing_and_the_institution_is_told(app, client, session, regulators):
    from examsvc.notifications.models import Notification

    r = regulators
    admin_a = make_user(session, "admin_a", "institution_admin", r["A"].id)
    filing.file_site(session, r["A"], "包头市", r["baotou"])
    session.commit()
    with pytest.raises(Forbidden):
        filing.revoke_site(session, r["A"], "包头市", reason="考场不达标", actor=r["chifeng"])
    with pytest.raises(ValidationFailed) as caught:
        filing.revoke_site(session, r["A"], "包头市", reason=" ", actor=r["baotou"])
    assert caught.value.field == "reason"
    session.rollback()
    login(client, "reg_chifeng")
    url = f"/api/v1/filing/institutions/{r['A'].id}/sites"
    refused = client.post(url + "/revoke", json={"league_city": "包头市", "reason": "考场不达标"},
                          headers=csrf_headers(client))
    assert refused.status_code == 403
    client.post("/logout", headers=csrf_headers(client))
    login(client, "reg_baotou")
    done = client.post(url + "/revoke", json={"league_city": "包头市", "reason": "考场不达标"},
                       headers=csrf_headers(client))
    assert done.status_code == 200 and done.get_json()["revoked_at"]
    assert [s["league_city"] for s in client.get(url).get_json() if not s["revoked_at"]] == []
    again = client.post(url + "/revoke", json={"league_city": "包头市", "reason": "考场不达标"},
                        headers=csrf_headers(client))
    assert again.status_code == 404 and again.get_json()["field"] == "league_city"
    session.expire_all()
    assert not filing.may_work_in(session, r["A"], "包头市")
    told = session.query(Notification).filter_by(kind="site_filing.revoked").all()
    assert [n.recipient_id for n in told] == [admin_a.id] and "考场不达标" in told[0].body_zh


def test_a_case_may_be_handled_where_the_subject_works_under_a_site_filing_and_nowhere_else(session, regulators):
    r = regulators
    with pytest.raises(ValidationFailed) as caught:  # 包头市 cannot claim a case against a 自治区 institution
        cases.open_case(session, subject_kind="institution", subject_id=r["A"].id, source="regulator",
                        facts="站点违规", jurisdiction="包头市", actor=r["baotou"])
    assert caught.value.field == "jurisdiction"
    with pytest.raises(ValidationFailed):
        cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                        facts="违规", jurisdiction="赤峰市", actor=r["chifeng"])
    filing.file_site(session, r["A"], "包头市", r["baotou"])
    case = cases.open_case(session, subject_kind="institution", subject_id=r["A"].id, source="regulator",
                           facts="站点违规", jurisdiction="包头市", actor=r["baotou"])
    assert case.jurisdiction == "包头市"
    region = cases.open_case(session, subject_kind="institution", subject_id=r["B"].id, source="regulator",
                             facts="违规", jurisdiction=REGION, actor=r["region"])
    assert region.jurisdiction == REGION
