"""People and supervision (Art. 25-26, 35-39): the examiner registry switch, supervisor cards,
recorded random draws, "double random, one public" inspections, findings and credit grades."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.bank.models import ExamBlueprint
from examsvc.errors import Forbidden, ValidationFailed
from examsvc.grading.examiners import register_card
from examsvc.sessions.models import ExamSession
from examsvc.sessions.service import assign_staff
from examsvc.supervision import credit, draws, inspections, registry
from examsvc.supervision.people_models import Draw
from tests.conftest import csrf_headers, login, make_user

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
ALL_OK = {key: {"ok": True, "note": ""} for key in inspections.CHECKLIST}


def _exam_session(session, institution, admin_id: int) -> ExamSession:
    blueprint = ExamBlueprint(occupation_code="6-18-01-01", level="3", component="theory", title="t")
    session.add(blueprint)
    session.flush()
    day = NOW + timedelta(days=10)
    exam_session = ExamSession(institution_id=institution.id, blueprint_id=blueprint.id, title="场次",
                               exam_date=day.date(), window_start=day, window_end=day + timedelta(hours=1),
                               duration_minutes=90, languages=["zh"], status="planned", created_by=admin_id,
                               created_at=NOW)
    session.add(exam_session)
    session.flush()
    return exam_session


@pytest.fixture
def crew(session, people):
    supervisors = [make_user(session, f"sup{i}", "quality_supervisor") for i in range(5)]
    with clock.frozen(NOW):
        for i, user in enumerate(supervisors):
            registry.register_supervisor_card(session, holder=user, card_number=f"WD-{i:04d}", valid_from=date(2026, 1, 1),
                                              valid_until=date(2028, 12, 31), jurisdiction="包头市",
                                              training_note="2026年培训合格", actor=people["regulator"])
        session.commit()
    return {**people, "supervisors": supervisors}


def test_a_random_draw_reproduced_from_its_seed(session, crew):
    pool = registry.valid_supervisors(session, date(2026, 12, 1))
    assert pool == sorted(u.id for u in crew["supervisors"])
    with clock.frozen(NOW):
        row = draws.draw_supervisors(session, reversed(pool), 3, seed="公开种子-2026-12", actor=crew["regulator"])
        fresh = draws.draw_supervisors(session, pool, 3, actor=crew["regulator"])  # a seed is made and kept
        session.commit()
    row = session.get(Draw, row.id)
    assert row.candidates == pool and row.seed == "公开种子-2026-12" and len(row.result) == 3
    assert draws.rerun_draw(row) == row.result
    assert random.Random(row.seed).sample(row.candidates, row.k) == row.result  # anyone can re-run it
    assert len(fresh.seed) == 32 and draws.rerun_draw(fresh) == fresh.result
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "supervision.draw")).all()
    assert audit[0].details["seed"] == row.seed and audit[0].details["result"] == row.result
    with pytest.raises(ValidationFailed):
        draws.draw_supervisors(session, pool, 6)


def test_examiners_outside_the_registry_cannot_be_assigned_once_it_is_on(session, crew):
    regulator, b = crew["regulator"], crew["B"]
    admin_b = make_user(session, "admin_b", "institution_admin", b.id)
    carded = make_user(session, "ex_carded", "examiner", b.id)
    outside = make_user(session, "ex_outside", "examiner", b.id)
    with clock.frozen(NOW):
        exam_session = _exam_session(session, b, admin_b.id)
        register_card(session, holder=carded, card_number="KP-0001", grade="senior_examiner",
                      valid_from=date(2026, 1, 1), valid_until=date(2028, 1, 1), institution_id=b.id,
                      jurisdiction="包头市", actor=admin_b)
        assert registry.registry_allows(session, outside, b)          # off: anyone with the role
        registry.set_examiner_registry(session, "包头市", True, regulator)
        assert not registry.registry_allows(session, outside, b)
        with pytest.raises(Forbidden) as refused:
            assign_staff(session, exam_session, outside, "examiner", None, admin_b)
        assert refused.value.code == "examiner.outside_registry" and "第三十五条" in refused.value.message
        assign_staff(session, exam_session, carded, "examiner", None, admin_b)
        # another jurisdiction's switch does not touch 包头市's institutions, nor the region's
        assert registry.registry_allows(session, outside, crew["A"])
        session.commit()


def test_special_inspection_needs_three_and_findings_grade_credit(app, session, crew):
    regulator, b = crew["regulator"], crew["B"]
    with clock.frozen(NOW), app.app_context():
        with pytest.raises(ValidationFailed) as small:
            inspections.create_plan(session, title="专项", kind="special", institution_count=1, team_size=2,
                                    matters="试卷保密", actor=regulator)
        assert small.value.field == "team_size"
        plan = inspections.create_plan(session, title="2026年专项督导", kind="special", institution_count=1,
                                       team_size=3, matters="试卷保密", jurisdiction="包头市", seed="s1",
                                       actor=regulator)
        institutions, team = inspections.plan_draws(session, plan)
        assert institutions.result == [b.id] and len(team.result) == 3
        assert draws.rerun_draw(team) == team.result and team.seed == "s1:team"
        exam_session = _exam_session(session, b, regulator.id)
        member = next(u for u in crew["supervisors"] if u.id in team.result)
        outsider = next(u for u in crew["supervisors"] if u.id not in team.result)
        with pytest.raises(Forbidden):
            inspections.file_finding(session, exam_session=exam_session, items=ALL_OK, plan=plan, actor=outsider)
        with pytest.raises(ValidationFailed):  # a problem needs a note
            inspections.file_finding(session, exam_session=exam_session, plan=plan, actor=member,
                                     items={**ALL_OK, "identity": {"ok": False, "note": ""}})
        inspections.file_finding(session, exam_session=exam_session, plan=plan, actor=member,
                                 items={**ALL_OK, "identity": {"ok": False, "note": "未核验身份证"},
                                        "venue": {"ok": False, "note": "座位间距不足"}})
        # a supervisor drawn to the session (Art. 37) files too, without a plan
        dispatch = draws.dispatch_to_session(session, exam_session, 1, "d1", regulator)
        drawn = next(u for u in crew["supervisors"] if u.id == dispatch.result[0])
        if drawn.id != member.id:
            inspections.file_finding(session, exam_session=exam_session, items=ALL_OK, actor=drawn)
        session.commit()
        table = {c.institution_id: c for c in credit.credit_table(session, app.config)}
    # 100 - 15 (identity is serious) - 5 = 80: grade B, inspected twice a year
    assert table[b.id].score == 80 and table[b.id].grade == "B" and table[b.id].inspections_per_year == 2
    assert table[crew["A"].id].grade == "A" and table[crew["A"].id].findings == 0
    assert credit.grade_for(59, app.config) == "D"


def test_pages_regulator_and_public_findings(app, session, client, crew):
    regulator = crew["regulator"]
    with clock.frozen(NOW), app.app_context():
        plan = inspections.create_plan(session, title="日常督导A", kind="routine", institution_count=1, team_size=2,
                                       jurisdiction="包头市", seed="p", actor=regulator)
        session.commit()
    assert "日常督导A" not in client.get("/supervision/findings").get_data(as_text=True)
    login(client, "regulator")
    assert client.get("/supervision/people").status_code == 200
    assert client.get("/supervision/credit").status_code == 200
    page = client.get(f"/supervision/inspections/{plan.id}")
    assert page.status_code == 200 and "p:team" in page.get_data(as_text=True)
    response = client.post(f"/api/v1/people/inspections/{plan.id}/publish", json={"summary": "未发现问题"},
                           headers=csrf_headers(client))
    assert response.status_code == 200, response.get_json()
    rerun = client.get(f"/api/v1/people/draws/{plan.team_draw_id}").get_json()
    assert rerun["reproduced"] is True and rerun["seed"] == "p:team"
    client.post("/logout", headers=csrf_headers(client))
    public = client.get("/supervision/findings").get_data(as_text=True)
    assert "日常督导A" in public and "未发现问题" in public
