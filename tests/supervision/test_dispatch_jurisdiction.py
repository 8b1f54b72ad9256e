"""Issue 13: a league/city regulator dispatched external supervisors (Art. 37) to a session held in
another league/city. Only a regulator covering the league/city where the session is held may."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from examsvc.accounts.service import create_user
from examsvc.errors import Forbidden
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.service import plan_session
from examsvc.supervision import draws, registry
from examsvc.supervision.people_models import Draw
from tests.conftest import PASSWORD, csrf_headers, login, make_user
from tests.delivery.conftest import site_filed
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)


@pytest.fixture
def baotou_session(app, session, papers_world):
    """A session of region-level institution A held in 包头市 (site filing), two valid supervisor cards,
    the region's regulator and those of 包头市 and 呼和浩特市."""
    region = make_user(session, "reg_region", "regulator")
    league = {name: create_user(session, username=name, password=PASSWORD, display_name=name,
                                roles=[("regulator", None)], jurisdiction=where)
              for name, where in (("reg_baotou", "包头市"), ("reg_hohhot", "呼和浩特市"))}
    for i in range(2):
        holder = make_user(session, f"sup{i}", "quality_supervisor")
        registry.register_supervisor_card(session, holder=holder, card_number=f"WD-{i:04d}",
                                          valid_from=date(2026, 1, 1), valid_until=date(2028, 12, 31),
                                          jurisdiction="自治区", training_note="培训合格", actor=region)
    with app.app_context():  # planning reads the app's time zone
        admin = papers_world["admin"]
        run = start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"],
                             forms=1, overrides={"seed": 7}, actor=admin)
        run_assembly(session, run)
        assert run.status == "done", run.outcome
        paper = lock_paper(session, run.papers[0], admin)
        exam_session = plan_session(
            session, institution=papers_world["A"], blueprint=papers_world["version"].blueprint, title="包头场次",
            exam_date=date(2026, 3, 20), window_start=datetime(2026, 3, 20, 0, 30, tzinfo=timezone.utc),
            window_end=datetime(2026, 3, 20, 1, 30, tzinfo=timezone.utc), rooms=[("101", 30)], paper_ids=[paper.id],
            league_city=site_filed(session, papers_world["A"], "包头市"), actor=papers_world["admin"])
    session.commit()
    return {"session": exam_session, "region": region, **league}


def test_only_a_regulator_covering_the_sessions_league_city_dispatches_supervisors(session, baotou_session):
    exam_session = baotou_session["session"]
    assert exam_session.league_city == "包头市"
    with pytest.raises(Forbidden) as refused:
        draws.dispatch_to_session(session, exam_session, 1, "d1", baotou_session["reg_hohhot"])
    assert (refused.value.field, refused.value.code) == ("jurisdiction", "outside_jurisdiction")
    session.rollback()
    assert session.scalars(select(Draw)).all() == []
    for actor in (baotou_session["reg_baotou"], baotou_session["region"]):
        row = draws.dispatch_to_session(session, exam_session, 1, None, actor)
        assert row.session_id == exam_session.id and len(row.result) == 1


def test_dispatch_over_the_api_is_refused_outside_the_jurisdiction(app, client, session, baotou_session):
    body = {"session_id": baotou_session["session"].id, "k": 1, "seed": "s"}
    login(client, "reg_hohhot")
    refused = client.post("/api/v1/people/draws/dispatch", json=body, headers=csrf_headers(client))
    assert refused.status_code == 403 and refused.get_json()["code"] == "outside_jurisdiction", refused.get_json()
    assert session.scalars(select(Draw)).all() == []
    baotou = app.test_client()
    login(baotou, "reg_baotou")
    drawn = baotou.post("/api/v1/people/draws/dispatch", json=body, headers=csrf_headers(baotou))
    assert drawn.status_code == 201 and drawn.get_json()["seed"] == "s", drawn.get_json()
