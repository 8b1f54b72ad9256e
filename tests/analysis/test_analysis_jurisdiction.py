"""Issue 13: starting an analysis over a session needs INSTITUTION_MANAGE in its institution or a
regulator grant whose jurisdiction takes it (examsvc.institutions.jurisdiction); a regulator grant
of another jurisdiction, alone or beside an institution role elsewhere, does not stand in."""

import pytest

from examsvc.accounts.service import create_user
from examsvc.analysis import service
from examsvc.errors import Forbidden
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.delivery.conftest import SITE


def _regulator(session, username, jurisdiction, *also):
    user = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[*also, ("regulator", None)], jurisdiction=jurisdiction)
    session.commit()
    return user


def test_only_a_regulator_of_the_sessions_jurisdiction_starts_an_analysis(app, session, analysed):
    w = analysed
    exam = w["session"]
    outside = next(place for place in ("呼和浩特市", "包头市", "乌海市") if place != SITE)
    assert exam.league_city == SITE and w["A"].league_city is None  # region-level A, held in SITE
    with app.app_context():
        combined = _regulator(session, "admin_b_reg", outside, ("institution_admin", w["B"].id))
        assert not service.may_analyse(session, combined, exam)
        with pytest.raises(Forbidden):
            service.start_analysis(session, [exam.id], combined)
        session.rollback()
        local = _regulator(session, "reg_site", SITE)
        assert service.may_analyse(session, local, exam)
        assert service.start_analysis(session, [exam.id], local).institution_ids == [w["A"].id]
        session.rollback()
    client = app.test_client()
    assert login(client, "admin_b_reg").status_code == 302
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post(f"/analysis/sessions/{exam.id}/runs", data={"csrf_token": token}).status_code == 403
