"""The grading and results API with bearer tokens, and the CLI commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.accounts.service import issue_api_token
from examsvc.grading.models import ComponentScore, ExaminerScore, PassRecord, ResultPublication
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)
from tests.conftest import count_rows, make_user
from tests.grading.conftest import EXAM_DAY

EN = {"Accept-Language": "en"}
T03 = {"T03-R01": 4, "T03-R02": 3, "T03-R03": 2}


def _token_client(app, session, user):
    token = issue_api_token(session, user, days=30)
    session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _task_url(panel, task="T03", index=0):
    return f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][index].id}/tasks/{task}"


def test_examiners_score_blind_over_the_api_and_a_fourth_is_refused(app, session, panel):
    clients = [_token_client(app, session, user) for user in panel["examiners"]]
    first = clients[0].post(f"{_task_url(panel)}/scores", json={"scores": T03}, headers=EN)
    assert first.status_code == 201 and first.get_json()["total"] == 9
    view = clients[1].get(f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][0].id}")
    t03 = next(t for t in view.get_json()["tasks"] if t["task_code"] == "T03")
    assert t03["count"] == 1 and t03["scores"] == [] and view.get_json()["eligibility"]["allowed"]
    for client in clients[1:3]:
        assert client.post(f"{_task_url(panel)}/scores", json={"scores": T03}).status_code == 201
    fourth = clients[3].post(f"{_task_url(panel)}/scores", json={"scores": T03}, headers=EN)
    assert fourth.status_code == 409 and fourth.get_json()["code"] == "examiner.panel_full"
    view = clients[1].get(f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][0].id}")
    t03 = next(t for t in view.get_json()["tasks"] if t["task_code"] == "T03")
    assert [s["total"] for s in t03["scores"]] == [9, 9, 9] and t03["value"] == 9
    assignments = clients[0].get("/api/v1/grading/assignments").get_json()
    assert assignments[0]["candidates"][0]["tasks"]["T03"] == {"count": 3, "needed": 3, "scored_by_me": True,
                                                               "needs_resolution": False}


def test_refusals_over_the_api_name_the_rule_or_the_field(app, session, panel):
    from examsvc.sessions.service import assign_staff

    with app.app_context():
        stranger = make_user(session, "nocard", "examiner", panel["A"].id)
        assign_staff(session, panel["session"], stranger, "examiner", None, panel["admin"])
        session.commit()
    refused = _token_client(app, session, stranger).post(f"{_task_url(panel)}/scores", json={"scores": T03},
                                                         headers=EN)
    assert refused.status_code == 403 and refused.get_json()["code"] == "examiner.no_card"
    e1 = _token_client(app, session, panel["examiners"][0])
    outside = e1.post(f"{_task_url(panel)}/scores", json={"scores": {**T03, "T03-R03": 3.5}}, headers=EN)
    assert outside.status_code == 422 and outside.get_json()["field"] == "scores.T03-R03"
    missing = e1.post(f"{_task_url(panel)}/scores", json={}, headers=EN)
    assert missing.status_code == 422 and missing.get_json()["field"] == "scores"
    conflict = e1.post(f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][0].id}"
                       "/conflict", json={"kind": "own_student", "note": "曾在本人班上"})
    assert conflict.status_code == 201
    recused = e1.post(f"{_task_url(panel)}/scores", json={"scores": T03}, headers=EN)
    assert recused.status_code == 403 and recused.get_json()["code"] == "examiner.conflict"
    assert count_rows(session, ExaminerScore) == 0


def test_the_institution_api_publishes_and_confirms_and_others_get_403(app, session, panel):
    admin = _token_client(app, session, panel["admin"])
    base = f"/api/v1/results/sessions/{panel['session'].id}"
    e1 = _token_client(app, session, panel["examiners"][0])
    assert e1.get(base).get_json()["code"] == "forbidden"
    with clock.frozen(EXAM_DAY) as frozen:
        for candidate in panel["candidates"]:
            assert admin.post(f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{candidate.id}/absent"
                              ).status_code == 201
        tally = admin.get(base).get_json()
        assert (tally["registered"], tally["scored"], tally["absent"], tally["passed"]) == (3, 3, 3, 0)
        assert admin.post(f"{base}/publication", json={"notice_days": 40}).status_code == 422
        published = admin.post(f"{base}/publication", json={"notice_days": 3})
        assert published.status_code == 201 and published.get_json()["notice_until"] == "2026-12-08"
        assert admin.post(f"{base}/confirmation").status_code == 409
        frozen.advance(timedelta(days=4))
        assert admin.post(f"{base}/confirmation").get_json() == []
    exported = admin.get(f"{base}/export?format=csv")
    assert exported.status_code == 200 and "考生1" in exported.get_data().decode("utf-8-sig")


def test_cards_and_chief_over_the_api(app, session, panel):
    admin = _token_client(app, session, panel["admin"])
    new = make_user(session, "exam9", "examiner", panel["A"].id)
    body = {"user_id": new.id, "institution_id": panel["A"].id, "card_number": "KP-2026-0009", "grade": "senior_examiner",
            "valid_from": "2026-01-01", "valid_until": "2028-12-31", "employer": "包头第一机械厂"}
    assert admin.post("/api/v1/grading/examiner-cards", json=body).status_code == 201
    assert admin.post("/api/v1/grading/examiner-cards", json={**body, "institution_id": panel["B"].id}).status_code == 403
    numbers = {c["card_number"] for c in admin.get("/api/v1/grading/examiner-cards").get_json()}
    assert "KP-2026-0009" in numbers and "KP-EXAM1" in numbers
    chief = admin.put(f"/api/v1/grading/sessions/{panel['session'].id}/chief", json={"user_id": new.id}, headers=EN)
    assert chief.status_code == 403 and chief.get_json()["code"] == "examiner.not_assigned"
    moved = admin.put(f"/api/v1/grading/sessions/{panel['session'].id}/chief",
                      json={"user_id": panel["examiners"][1].id})
    assert moved.status_code == 200 and moved.get_json()["user_id"] == panel["examiners"][1].id


def test_the_app_refuses_to_start_with_an_even_panel(tmp_path):
    from examsvc import create_app
    from examsvc.errors import ConfigError
    from tests.conftest import test_config

    with pytest.raises(ConfigError) as caught:
        create_app({**test_config("sqlite://", tmp_path), "EXAMINERS_PER_TASK": 4})
    assert "EXAMINERS_PER_TASK must be odd and at least 3" in str(caught.value)


def test_cli_scores_publishes_and_confirms(examsvc, database_url, app, session, panel):  # noqa: F811
    skill = examsvc("grading", "score", "--session", str(panel["session"].id), database_url=database_url)
    assert skill.code == 1 and "only theory sessions are scored automatically" in skill.one_clear_error()
    missing = examsvc("results", "publish", "--session", "999", "--user", "admin_a", database_url=database_url)
    assert missing.code != 0 and "no exam session 999" in missing.err
    unscored = examsvc("results", "publish", "--session", str(panel["session"].id), "--user", "admin_a",
                       database_url=database_url)
    assert "nothing is scored yet" in unscored.one_clear_error()
    with app.app_context():
        from examsvc.grading.panel import mark_absent

        for candidate in panel["candidates"]:
            mark_absent(session, candidate, panel["admin"])
        session.commit()
    assert "permission institution.manage required" in examsvc(
        "results", "publish", "--session", str(panel["session"].id), "--user", "exam1",
        database_url=database_url).one_clear_error()
    with clock.frozen(EXAM_DAY) as frozen:
        done = examsvc("results", "publish", "--session", str(panel["session"].id), "--user", "admin_a",
                       "--notice-days", "2", database_url=database_url)
        assert done.code == 0 and "published until 2026-12-07" in done.out
        frozen.advance(timedelta(days=3))
        confirmed = examsvc("results", "confirm", "--session", str(panel["session"].id), "--user", "admin_a",
                            database_url=database_url)
    assert confirmed.code == 0 and "0 pass record(s)" in confirmed.out
    session.expire_all()
    assert session.scalar(select(ResultPublication.confirmed_at)) is not None
    assert count_rows(session, PassRecord) == 0 and count_rows(session, ComponentScore) == 3
