"""Issue 13: the working-day calendar is one for the whole region. Only the region's regulator
changes it (a league/city is refused with the rule named), and the region can take an entered day
off again (service, page, API), audited; deadlines recorded before keep their value."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.accounts.service import create_user
from examsvc.audit.models import AuditEvent
from examsvc.errors import Forbidden, NotFound
from examsvc.supervision import service as cases
from examsvc.supervision.models import CalendarOverride
from examsvc.supervision.workdays import UnknownCalendarYear
from tests.conftest import PASSWORD, count_rows, csrf_headers, csrf_token_from, login

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def baotou(session, people):
    user = create_user(session, username="reg_baotou", password=PASSWORD, display_name="reg_baotou",
                       roles=[("regulator", None)], jurisdiction="包头市")
    session.commit()
    return user


def test_a_league_city_cannot_change_the_calendar_and_the_region_removes_a_day(session, people, baotou):
    with pytest.raises(Forbidden) as refused:
        cases.add_calendar_days(session, [(date(2027, 1, 1), False)], "2027", baotou)
    assert refused.value.code == "region_only" and "全区统一" in refused.value.message
    assert "whole region" in refused.value.message_en
    session.rollback()
    assert count_rows(session, CalendarOverride) == 0
    regulator = people["regulator"]
    cases.add_calendar_days(session, [(date(2027, 1, 1), False), (date(2027, 1, 4), False)], "2027", regulator)
    session.commit()
    assert cases.add_working_days(session, date(2026, 12, 30), 3) == date(2027, 1, 6)
    with pytest.raises(Forbidden):
        cases.remove_calendar_day(session, date(2027, 1, 4), baotou)
    removed = cases.remove_calendar_day(session, date(2027, 1, 4), regulator)
    session.commit()
    assert removed.day == date(2027, 1, 4)
    assert cases.add_working_days(session, date(2026, 12, 30), 3) == date(2027, 1, 5)
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "calendar.remove" and event.details == {"day": "2027-01-04", "is_workday": False,
                                                                   "note": "2027"}
    with pytest.raises(NotFound) as missing:
        cases.remove_calendar_day(session, date(2027, 1, 4), regulator)
    assert missing.value.field == "day"
    cases.remove_calendar_day(session, date(2027, 1, 1), regulator)
    session.commit()
    with pytest.raises(UnknownCalendarYear):  # the year is unknown again: no guessing
        cases.add_working_days(session, date(2026, 12, 30), 3)


def test_a_recorded_deadline_keeps_its_value_when_a_day_is_removed(session, people):
    regulator = people["regulator"]
    cases.add_calendar_days(session, [(date(2027, 1, 1), False), (date(2027, 1, 4), False)], "2027", regulator)
    with clock.frozen(datetime(2026, 12, 1, 10, tzinfo=BEIJING)):
        case = cases.open_case(session, subject_kind="institution", subject_id=people["A"].id, source="regulator",
                               facts="超范围认定", actor=regulator)
        cases.propose_decision(session, case, facts="f", reasons="r", basis=["第四十五条"], sanctions=["suspend"],
                               actor=regulator)
        cases.send_notice(session, case, sent_on=date(2026, 12, 1), actor=regulator)
    with clock.frozen(datetime(2026, 12, 30, 10, tzinfo=BEIJING)):
        cases.decide(session, case, decision="d", basis=["第四十五条"], sanctions=["suspend"], delivery="written",
                     delivered_on=date(2026, 12, 30), actor=regulator)
        session.commit()
    assert case.objection_deadline == date(2027, 1, 8)   # 31 Dec, (1 and 4 Jan off), 5, 6, 7, 8 Jan
    cases.remove_calendar_day(session, date(2027, 1, 4), regulator)
    session.commit()
    session.refresh(case)
    assert case.objection_deadline == date(2027, 1, 8)   # recorded at the decision: not recomputed
    assert cases.add_working_days(session, date(2026, 12, 30), 5) == date(2027, 1, 7)   # new look-ups: the calendar now


def test_calendar_changes_over_http(app, client, session, people, baotou):
    login(client, "reg_baotou")
    headers = csrf_headers(client)
    body = {"days": [{"day": "2027-01-01", "is_workday": False}], "note": "2027"}
    refused = client.post("/api/v1/calendar/days", json=body, headers=headers)
    assert refused.status_code == 403 and "全区统一" in refused.get_json()["message"]
    page = client.get("/supervision/calendar").get_data(as_text=True)
    assert "仅由自治区评价监管部门调整" in page and "name=\"days\"" not in page
    client.post("/logout", headers=headers)
    login(client, "regulator")
    headers = csrf_headers(client)
    assert client.post("/api/v1/calendar/days", json=body, headers=headers).status_code == 201
    client.post("/logout", headers=headers)
    login(client, "reg_baotou")
    headers = csrf_headers(client)
    assert client.delete("/api/v1/calendar/days/2027-01-01", headers=headers).status_code == 403
    client.post("/logout", headers=headers)
    login(client, "regulator")
    headers = csrf_headers(client)
    assert client.delete("/api/v1/calendar/days/2027-13-01", headers=headers).status_code == 422
    assert client.delete("/api/v1/calendar/days/2027-01-01", headers=headers).status_code == 204
    assert client.delete("/api/v1/calendar/days/2027-01-01", headers=headers).status_code == 404
    assert count_rows(session, CalendarOverride) == 0
    assert client.post("/api/v1/calendar/days", json=body, headers=headers).status_code == 201
    page = client.get("/supervision/calendar").get_data(as_text=True)
    assert "/supervision/calendar/2027-01-01/remove" in page
    token = csrf_token_from(page)
    removed = client.post("/supervision/calendar/2027-01-01/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    session.expire_all()
    assert count_rows(session, CalendarOverride) == 0
