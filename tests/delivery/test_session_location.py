"""Where a session is held (seed Art. 12): a league/city institution in its own league/city, a
region-level institution only where it has an approved site filing — on planning, and again on
opening; through the service, the plan form, the session page and the API."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.errors import Forbidden, ValidationFailed
from examsvc.institutions.filing import file_site, revoke_site
from examsvc.institutions.filing_models import SiteFiling
from examsvc.institutions.service import register_institution
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.models import ExamSession
from examsvc.sessions.service import assign_staff, open_session, plan_session, readiness, register_candidate, set_location
from tests.conftest import csrf_token_from, login, make_user
from tests.delivery.conftest import EXAM_DAY, resident_id

SITE, ELSEWHERE = "赤峰市", "包头市"


@pytest.fixture
def located(app, session, papers_world):
    """A locked paper of region-level institution A, a site filing of A in 赤峰市 only, and a
    league/city institution C of 通辽市 filed for the same occupation and level."""
    w = papers_world
    with app.app_context():
        run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=1,
                             overrides={"seed": 3, "time_limit": 30}, actor=w["admin"])
        run_assembly(session, run)
        paper = lock_paper(session, run.papers[0], w["admin"])
        site = file_site(session, w["A"], SITE, "system")
        c = register_institution(session, code="S000015000003", name="丙评价机构", kind="social_organisation",
                                 tier="league_city", league_city="通辽市", published_on=w["A"].published_on,
                                 scope=[("4-03-02-01", "4")])
        session.commit()
    return {**w, "paper": paper, "site": site, "C": c}


def _plan(session, w, **changes):
    args = dict(institution=w["A"], blueprint=w["version"].blueprint, title="场次", exam_date=EXAM_DAY.date(),
                window_start=EXAM_DAY, window_end=EXAM_DAY + timedelta(hours=1), rooms=[("一号", 20)],
                paper_ids=[w["paper"].id], actor=w["admin"])
    args.update(changes)
    return plan_session(session, **args)


def test_a_region_level_institution_plans_only_where_it_has_a_site_filing(app, session, located):
    with app.app_context():
        with pytest.raises(ValidationFailed) as missing:
            _plan(session, located)                       # no place given
        assert missing.value.field == "league_city" and "第十二条" in missing.value.message
        with pytest.raises(Forbidden) as unfiled:
            _plan(session, located, league_city=ELSEWHERE)
        assert unfiled.value.field == "league_city" and unfiled.value.code == "location.no_site_filing"
        assert ELSEWHERE in unfiled.value.message and "站点备案" in unfiled.value.message
        with pytest.raises(ValidationFailed) as unknown:
            _plan(session, located, league_city="北京市")
        assert unknown.value.field == "league_city"
        planned = _plan(session, located, league_city=SITE)
        assert planned.league_city == SITE


def test_a_league_city_institution_works_only_in_its_own_league_city(app, session, located):
    c = located["C"]
    admin_c = make_user(session, "admin_c", "institution_admin", c.id)
    with app.app_context():
        run = start_assembly(session, institution=c, blueprint_version=located["version"], forms=1,
                             overrides={"seed": 4, "time_limit": 30}, actor=admin_c)
        run_assembly(session, run)
        paper = lock_paper(session, run.papers[0], admin_c)
        args = dict(institution=c, paper_ids=[paper.id], actor=admin_c)
        with pytest.raises(Forbidden) as outside:
            _plan(session, located, league_city=SITE, **args)   # A's site filing is no help to C
        assert outside.value.field == "league_city" and outside.value.code == "location.outside_league_city"
        assert _plan(session, located, **args).league_city == "通辽市"   # its own by default
        assert _plan(session, located, league_city="通辽市", title="二场", **args).league_city == "通辽市"


def test_a_site_filing_revoked_after_planning_blocks_opening_with_the_reason(app, session, located):
    with app.app_context():
        exam_session = _plan(session, located, league_city=SITE)
        for i in (1, 2):
            assign_staff(session, exam_session, make_user(session, f"inv{i}", "invigilator", located["A"].id),
                         "invigilator", exam_session.rooms[0].id, located["admin"])
        register_candidate(session, exam_session, name="考生", id_type="resident_id", id_number=resident_id(1),
                           actor=located["admin"])
        assert readiness(session, exam_session) == []
        revoke_site(session, located["A"], SITE, reason="考场条件不符合要求", actor="system")  # the league/city withdrew it
        problems = readiness(session, exam_session)
        assert [p.code for p in problems] == ["location"] and SITE in problems[0].message
        with pytest.raises(ValidationFailed) as refused:
            open_session(session, exam_session, located["admin"])
        assert refused.value.code == "session.not_ready.location" and "站点备案" in refused.value.message
        assert exam_session.status == "planned"
        with pytest.raises(Forbidden) as moved:
            set_location(session, exam_session, ELSEWHERE, located["admin"])
        assert moved.value.field == "league_city"
        file_site(session, located["A"], ELSEWHERE, "system")
        set_location(session, exam_session, ELSEWHERE, located["admin"])
        with clock.frozen(EXAM_DAY - timedelta(days=1)):
            open_session(session, exam_session, located["admin"])
        assert exam_session.status == "open" and exam_session.league_city == ELSEWHERE
        session.commit()


def _signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _token(client):
    return csrf_token_from(client.get("/login").get_data(as_text=True))


def test_the_plan_form_offers_the_places_and_refuses_an_unfiled_one(app, session, located):
    client = _signed_in(app, "admin_a")
    page = client.get("/sessions/new").get_data(as_text=True)
    assert 'name="league_city"' in page and f'<option value="{SITE}"' in page
    assert f'<option value="{ELSEWHERE}"' not in page and "举办" in page        # only its filed sites
    form = {"csrf_token": _token(client), "institution_id": located["A"].id,
            "blueprint_id": located["version"].blueprint.id, "title": "网页场次", "exam_date": "2026-12-06",
            "window_start": "08:30", "window_end": "09:00", "room_name": ["一号"], "room_capacity": ["20"],
            "paper_ids": [str(located["paper"].id)], "languages": ["zh"], "league_city": ELSEWHERE}
    refused = client.post("/sessions/", data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "站点备案" in body and 'role="alert"' in body and "盟市" in body
    english = client.post("/sessions/", data=form, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "no approved site filing" in english
    assert client.post("/sessions/", data={**form, "league_city": SITE}).status_code == 302
    created = session.scalars(select(ExamSession).where(ExamSession.title == "网页场次")).one()
    assert created.league_city == SITE
    shown = client.get(f"/sessions/{created.id}").get_data(as_text=True)
    assert SITE in shown and "举办地" in shown
    moved = client.post(f"/sessions/{created.id}/location", data={"csrf_token": _token(client),
                                                                  "league_city": ELSEWHERE})
    assert moved.status_code == 403 and "站点备案" in moved.get_data(as_text=True)


def test_the_api_plans_with_a_place_and_names_the_field_when_refused(app, session, located):
    client = _signed_in(app, "admin_a")
    headers = {"X-CSRFToken": _token(client)}
    body = {"institution_id": located["A"].id, "blueprint_id": located["version"].blueprint.id, "title": "接口场次",
            "exam_date": EXAM_DAY.date().isoformat(), "window_start": EXAM_DAY.isoformat(),
            "window_end": (EXAM_DAY + timedelta(hours=1)).isoformat(), "rooms": [{"name": "一号", "capacity": 20}],
            "paper_ids": [located["paper"].id]}
    missing = client.post("/api/v1/sessions", json=body, headers=headers)
    assert missing.status_code == 422 and missing.get_json()["field"] == "league_city"
    unfiled = client.post("/api/v1/sessions", json={**body, "league_city": ELSEWHERE}, headers=headers)
    assert unfiled.status_code == 403 and unfiled.get_json()["field"] == "league_city"
    created = client.post("/api/v1/sessions", json={**body, "league_city": SITE}, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["league_city"] == SITE
    sid = created.get_json()["id"]
    refused = client.post(f"/api/v1/sessions/{sid}/location", json={"league_city": ELSEWHERE}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["field"] == "league_city"
    assert session.scalar(select(SiteFiling.league_city).where(SiteFiling.institution_id == located["A"].id)) == SITE
