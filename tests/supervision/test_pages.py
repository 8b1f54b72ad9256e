"""The public report form (Art. 42), the regulator's pages and the JSON API over HTTP."""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from examsvc import clock
from examsvc.supervision.models import Case, ReportCounter
from tests.conftest import count_rows, csrf_headers, csrf_token_from, login

BEIJING = timezone(timedelta(hours=8))


def report(client, **fields):
    token = csrf_token_from(client.get("/report").get_data(as_text=True))
    data = {"subject_kind": "institution", "subject_label": "甲评价机构", "facts": "考场内有人代考", "csrf_token": token}
    data.update(fields)
    return client.post("/report", data=data)


def test_public_report_is_anonymous_csrf_checked_and_rate_limited(app, client, session, people):
    page = client.get("/report")
    assert page.status_code == 200 and "csrf_token" in page.get_data(as_text=True)
    assert client.post("/report", data={"subject_kind": "institution", "subject_label": "x", "facts": "y"}).status_code == 400
    with clock.frozen(datetime(2025, 10, 9, 10, tzinfo=BEIJING)):
        first = report(client)
        assert first.status_code == 200 and "JG-2025-000001" in first.get_data(as_text=True)
        for _ in range(4):
            assert report(client).status_code == 200
        refused = report(client, facts="第六次")
        assert refused.status_code == 429
    cases = session.scalars(select(Case).order_by(Case.id)).all()
    assert len(cases) == 5 and all(c.status == "reported" and c.reporter_name == "" for c in cases)
    assert cases[0].events[0].kind == "reported" and cases[0].events[0].recorded_by is None
    assert count_rows(session, ReportCounter) == 1   # counted in the database, not in the process


def test_regulator_triages_a_report_and_walks_the_case_through_the_pages(app, client, session, people):
    with clock.frozen(datetime(2025, 9, 22, 10, tzinfo=BEIJING)) as frozen:
        report(client, reporter_name="张三", reporter_contact="13800000000")
        login(client, "regulator")
        case_id = session.scalar(select(Case.id))
        assert "JG-2025-000001" in client.get("/supervision/cases").get_data(as_text=True)
        token = csrf_token_from(client.get(f"/supervision/cases/{case_id}").get_data(as_text=True))

        def step(action, **data):
            return client.post(f"/supervision/cases/{case_id}/steps/{action}", data={"csrf_token": token, **data})

        assert step("accept", subject_kind="institution", subject_id=str(people["A"].id)).status_code == 302
        assert step("propose", facts="代考", reasons="违规", basis="第四十五条",
                    sanctions=["terminate_filing"]).status_code == 302
        assert step("notice", sent_on="2025-09-26", statement_days="1").status_code == 302
        frozen.advance(timedelta(days=8))   # 30 September, after the one-day statement period (28 September)
        assert step("decide", decision="终止备案", basis="第四十五条", sanctions=["terminate_filing"], delivery="written",
                    delivered_on="2025-09-30").status_code == 302
        page = client.get(f"/supervision/cases/{case_id}").get_data(as_text=True)
        assert "2025-10-14" in page
        frozen.advance(timedelta(days=16))   # 16 October: too late
        late = step("objection", filed_on="2025-10-16", text="不服")
        assert late.status_code == 409 and "2025-10-14" in late.get_data(as_text=True)
        assert step("sanction", kind="terminate_filing").status_code == 302
    session.expire_all()
    case = session.get(Case, case_id)
    assert [e.kind for e in case.events][-2:] == ["objection", "sanction_executed"]
    assert case.events[-2].details["accepted"] is False


def test_api_life_cycle_and_unknown_year(app, client, session, people):
    login(client, "regulator")
    headers = csrf_headers(client)
    with clock.frozen(datetime(2026, 12, 1, 10, tzinfo=BEIJING)) as frozen:
        opened = client.post("/api/v1/cases", json={"subject_kind": "institution", "subject_id": people["A"].id,
                                                     "source": "regulator", "facts": "超范围认定"}, headers=headers)
        assert opened.status_code == 201, opened.get_json()
        case_id = opened.get_json()["id"]
        assert opened.get_json()["next_actions"] == ["propose", "dismiss"]

        def step(action, **body):
            return client.post(f"/api/v1/cases/{case_id}/steps/{action}", json=body, headers=headers)

        assert step("propose", facts="f", reasons="r", basis=["第四十五条"], sanctions=["suspend"]).status_code == 200
        assert step("notice", sent_on="2026-12-01", statement_days=5).status_code == 200
        frozen.advance(timedelta(days=29))   # 30 December 2026
        refused = step("decide", decision="d", basis=["第四十五条"], sanctions=["suspend"], delivery="written",
                       delivered_on="2026-12-30")
        assert refused.status_code == 422 and "2027" in refused.get_json()["message"]
        assert client.get("/api/v1/calendar/deadline?start=2026-12-30&days=5").status_code == 422
        added = client.post("/api/v1/calendar/days", json={"days": [{"day": "2027-01-01", "is_workday": False}],
                                                           "note": "国办发明电〔2026〕"}, headers=headers)
        assert added.status_code == 201
        decided = step("decide", decision="d", basis=["第四十五条"], sanctions=["suspend"], delivery="written",
                       delivered_on="2026-12-30")
        assert decided.status_code == 200 and decided.get_json()["objection_deadline"] == "2027-01-07"
        assert client.get("/api/v1/calendar/deadline?start=2026-12-30&days=5").get_json()["deadline"] == "2027-01-07"


def test_non_regulators_are_refused(app, client, session, people):
    login(client, "admin_a")
    assert client.get("/supervision/cases").status_code == 403
    assert client.get("/api/v1/cases").status_code == 403
    assert client.post("/api/v1/cases", json={}, headers=csrf_headers(client)).status_code == 403
    assert client.get("/supervision/calendar").status_code == 403


def test_regulator_home_links_to_cases(app, client, session, people):
    login(client, "regulator")
    assert "/supervision/cases" in client.get("/").get_data(as_text=True)
    assert client.get("/supervision/calendar").status_code == 200
    assert client.get("/supervision/cases/new").status_code == 200
