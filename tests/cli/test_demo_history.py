"""On a fresh `examsvc demo` database a new user reaches certificates on day one (issue #12, item 3).

The demo writes a past through the product: two certifications, sessions held, scored and
published weeks ago with the notice periods over, one session of each waiting for the
institution's confirmation. Here the commands its notes print are run as printed.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from examsvc import clock, create_app
from examsvc.audit.service import verify_chain
from examsvc.bank.models import ExamBlueprint
from examsvc.certificates.models import Certificate
from examsvc.grading.models import ComponentScore, ResultPublication
from examsvc.sessions.models import ExamSession
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process command fixture)


def _database(url: str):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40})
    return app, app.extensions["examsvc.sessionmaker"]


def test_the_demo_reaches_certificates_on_day_one(examsvc, empty_database_url):  # noqa: F811
    demo = examsvc("demo", "--no-serve", database_url=empty_database_url)
    assert demo.code == 0, demo.err
    commands = re.findall(r"`examsvc (results confirm --session (\d+) --user (\w+))` and "
                          r"`examsvc (certificates issue --session \2 --user \3)`", demo.out)
    assert len(commands) == 2, demo.out   # 中式烹调师四级 and 车工二级 each wait for one confirmation

    app, sessionmaker = _database(empty_database_url)
    with app.app_context(), sessionmaker() as session:
        assert verify_chain(session).ok   # the history was written in time order through the services
        waiting = [session.get(ExamSession, int(session_id)) for _, session_id, _, _ in commands]
        components = sorted(session.get(ExamBlueprint, s.blueprint_id).component for s in waiting)
        assert components == ["review", "skill"]
        scored = {s.id: session.scalar(select(func.count()).select_from(ComponentScore).where(
            ComponentScore.session_id == s.id, ComponentScore.passed)) for s in waiting}
        assert all(scored.values()), scored
        today = clock.local_time(clock.now()).date()
        for exam_session in waiting:       # held in the past, its notice period (公示) over, not yet confirmed
            publication = session.scalar(select(ResultPublication).where(
                ResultPublication.session_id == exam_session.id))
            assert exam_session.exam_date < publication.notice_until < today
            assert publication.confirmed_at is None
    app.extensions["examsvc.engine"].dispose()

    issued = 0
    for confirm, session_id, user, issue in commands:
        confirmed = examsvc(*confirm.split(), database_url=empty_database_url)
        assert confirmed.code == 0, confirmed.err
        result = examsvc(*issue.split(), database_url=empty_database_url)
        assert result.code == 0, result.err
        issued += int(re.search(r"(\d+)", result.out).group(1))

    app, sessionmaker = _database(empty_database_url)
    with sessionmaker() as session:
        certificates = list(session.scalars(select(Certificate)))
        assert len(certificates) == issued >= 4
        assert {len(c.number) for c in certificates} == {22}
        assert {c.level for c in certificates} == {"4", "2"}
    app.extensions["examsvc.engine"].dispose()

    skill = examsvc("papers", "assemble", "--blueprint", "4-03-02-01/4/skill", "--institution", "S000015000001",
                    "--user", "inst_admin", "--forms", "2", "--seed", "3", database_url=empty_database_url)
    assert skill.code == 0, skill.err
