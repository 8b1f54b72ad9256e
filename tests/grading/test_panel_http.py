"""Panel sessions over HTTP: the plan form and the API with a skill paper, the examiner's rubric screen
with its veto items and equipment, the chief's board, vetoes over the API, and the exam room's
refusal of a panel session's candidates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from examsvc import clock
from examsvc.grading.models import ExaminerScore
from examsvc.sessions.models import ExamSession
from tests.conftest import count_rows, csrf_headers, csrf_token_from, login, make_user
from tests.delivery.conftest import resident_id, site_filed
from tests.grading.conftest import EXAM_DAY, skill_blueprint, skill_paper
from tests.grading.test_api import _token_client

EN = {"Accept-Language": "en"}


def _signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _post(client, url, data, headers=EN):
    return client.post(url, data={**data, "csrf_token": csrf_headers(client)["X-CSRFToken"]}, headers=headers)


def _skill_papers(app, session, world, n=2):
    with app.app_context():
        a = world["A"]
        admin = make_user(session, "admin_a", "institution_admin", a.id)
        version = skill_blueprint(session)
        papers = [skill_paper(session, a, admin, version, seed=seed) for seed in range(1, n + 1)]
        site = site_filed(session, a)
        session.commit()
    return version, papers, site


def test_the_plan_form_labels_venues_and_workstations_and_takes_one_skill_paper(app, session, world):
    version, papers, site = _skill_papers(app, session, world)
    client = _signed_in(app, "admin_a")
    page = client.get("/sessions/new").get_data(as_text=True)
    assert f'value="{version.blueprint.id}"' in page and 'data-panel="1"' in page
    assert '<span class="for-panel" hidden>工位数</span>' in page       # shown once a panel blueprint is chosen
    assert f'type="radio" name="paper_ids" value="{papers[0].id}"' in page  # one paper: a single choice
    form = {"institution_id": world["A"].id, "blueprint_id": version.blueprint.id, "title": "网页操作技能场次",
            "exam_date": EXAM_DAY.date().isoformat(), "window_start": "08:30", "window_end": "09:30",
            "room_name": ["实操车间"], "room_capacity": ["12"], "paper_ids": [str(p.id) for p in papers],
            "languages": ["zh"], "league_city": site}
    refused = _post(client, "/sessions/", form, headers={})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "只能选择一份" in body and 'role="alert"' in body
    # the form comes back as a panel form: the venue labels shown, the room labels hidden
    assert '<span class="for-panel">考核场地与工位</span>' in body and '<span class="for-theory" hidden>考场</span>' in body
    assert _post(client, "/sessions/", {**form, "paper_ids": [str(papers[1].id)]}).status_code == 302
    created = session.scalars(select(ExamSession).where(ExamSession.title == "网页操作技能场次")).one()
    shown = client.get(f"/sessions/{created.id}").get_data(as_text=True)
    assert "考核场地与工位" in shown and "工位数" in shown and "实操车间" in shown
    assert 'data-code="examiners"' in shown and 'data-code="invigilators"' not in shown
    english = client.get(f"/sessions/{created.id}", headers=EN).get_data(as_text=True)
    assert "Venues and workstations" in english and "needs at least" not in english


def test_the_api_plans_a_skill_session_with_one_paper_and_reports_its_examiners(app, session, world):
    version, papers, site = _skill_papers(app, session, world)
    client = _signed_in(app, "admin_a")
    headers = {"X-CSRFToken": csrf_token_from(client.get("/login").get_data(as_text=True))}
    body = {"institution_id": world["A"].id, "blueprint_id": version.blueprint.id, "title": "接口操作技能场次",
            "exam_date": EXAM_DAY.date().isoformat(), "window_start": EXAM_DAY.isoformat(),
            "window_end": (EXAM_DAY + timedelta(hours=1)).isoformat(), "rooms": [{"name": "实操车间", "capacity": 6}],
            "paper_ids": [p.id for p in papers], "league_city": site}
    refused = client.post("/api/v1/sessions", json=body, headers={**headers, **EN})
    assert refused.status_code == 422 and refused.get_json()["field"] == "paper_ids"
    assert "exactly one locked paper" in refused.get_json()["message"]
    created = client.post("/api/v1/sessions", json={**body, "paper_ids": [papers[0].id]}, headers=headers)
    assert created.status_code == 201, created.get_json()
    detail = client.get(f"/api/v1/sessions/{created.get_json()['id']}").get_json()
    codes = {p["code"]: p for p in detail["problems"]}
    assert "examiners" in codes and "3 examiners" in codes["examiners"]["message_en"]
    assert "invigilators" not in codes and detail["paper_ids"] == [papers[0].id]


def test_the_rubric_screen_offers_the_vetoes_and_lists_the_equipment(app, session, panel):
    url = f"/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][0].id}"
    e1 = _signed_in(app, "exam1")
    page = e1.get(url, headers=EN).get_data(as_text=True)
    with app.app_context():
        from examsvc.grading.panel import panel_tasks

        t01 = panel_tasks(session, panel["session"])["T01"]
    assert 'name="veto" value="1"' in page and t01.vetoes[0] in page and 'name="veto_note"' in page
    assert t01.equipment[0] in page and t01.materials[0] in page
    assert "Workstation, equipment and materials" in page
    full = {f"score-{c.code}": str(c.points) for c in t01.rubric}
    no_note = _post(e1, f"{url}/tasks/T01", {**full, "veto": "1", "confirm": "yes"})
    text = no_note.get_data(as_text=True)
    assert no_note.status_code == 422 and "needs a note" in text and 'aria-invalid="true"' in text
    assert 'value="1" style="min-width:0" checked' in text                     # the ticked veto stays ticked
    assert count_rows(session, ExaminerScore) == 0
    vetoed = _post(e1, f"{url}/tasks/T01", {"veto": "1", "veto_note": "车床运转中撞刀", "confirm": "yes"})
    assert vetoed.status_code == 302
    row = session.scalar(select(ExaminerScore))
    assert (row.total, row.vetoes, row.veto_note) == (0, [t01.vetoes[0]], "车床运转中撞刀")
    mine = e1.get(url, headers=EN).get_data(as_text=True)
    assert "Vetoed" in mine and "车床运转中撞刀" in mine
    # blind for the other examiners; the chief examiner's board shows the vetoed task at once
    assert "车床运转中撞刀" not in _signed_in(app, "exam2").get(url, headers=EN).get_data(as_text=True)
    chief = _signed_in(app, "chief")
    assert "Vetoed" in chief.get("/grading/", headers=EN).get_data(as_text=True)
    assert "车床运转中撞刀" in chief.get(url, headers=EN).get_data(as_text=True)
    admin = _signed_in(app, "admin_a")
    assert "Vetoed" in admin.get(f"/results/sessions/{panel['session'].id}", headers=EN).get_data(as_text=True)


def test_vetoes_over_the_api(app, session, panel):
    e1 = _token_client(app, session, panel["examiners"][0])
    base = f"/api/v1/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][0].id}"
    view = e1.get(base).get_json()
    t01 = next(t for t in view["tasks"] if t["task_code"] == "T01")
    assert t01["veto_items"] and t01["equipment"] and t01["materials"] and t01["vetoed"] is False
    missing = e1.post(f"{base}/tasks/T01/scores", json={"scores": {}, "vetoes": [1]}, headers=EN)
    assert missing.status_code == 422 and missing.get_json()["field"] == "veto_note"
    unknown = e1.post(f"{base}/tasks/T01/scores", json={"scores": {}, "vetoes": [99], "veto_note": "撞刀"}, headers=EN)
    assert unknown.status_code == 422 and unknown.get_json()["field"] == "vetoes"
    done = e1.post(f"{base}/tasks/T01/scores", json={"scores": {}, "vetoes": [1], "veto_note": "撞刀"})
    assert done.status_code == 201 and done.get_json()["total"] == 0
    assert done.get_json()["vetoes"] == [t01["veto_items"][0]] and done.get_json()["veto_note"] == "撞刀"


def test_the_exam_room_refuses_a_panel_sessions_candidate_with_the_reason(app, session, panel):
    client = app.test_client()
    form = {"ticket_number": panel["candidates"][0].ticket_number, "id_number": resident_id(1)}
    with clock.frozen(EXAM_DAY):
        page = client.get("/exam/sign-in")
        token = csrf_token_from(page.get_data(as_text=True))
        refused = client.post("/exam/sign-in", data={**form, "csrf_token": token}, headers=EN)
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "no exam in the browser" in text and "report to the venue" in text
    with client.session_transaction() as cookie:
        assert "exam_candidate" not in cookie


def test_the_candidates_page_and_tickets_of_a_panel_session_speak_of_venues_and_workstations(app, session, panel):
    admin = _signed_in(app, "admin_a")
    sid = panel["session"].id
    listing = admin.get(f"/sessions/{sid}/candidates").get_data(as_text=True)
    assert "<th>考核场地</th>" in listing and ">工位</th>" in listing and "<th>考场</th>" not in listing
    tickets = admin.get(f"/sessions/{sid}/tickets").get_data(as_text=True)
    assert "不进行机考" in tickets and "否决项" in tickets
    assert "/exam/sign-in" not in tickets      # no exam computer to sign in to
