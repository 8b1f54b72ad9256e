"""A scored exam session (from the delivery fixtures) for the archive tests."""

import pytest

from examsvc import clock
from examsvc.delivery.service import submit
from examsvc.grading.service import score_session
from tests.delivery.conftest import EXAM_DAY, app_context, exam  # noqa: F401  (fixtures)
from tests.delivery.test_grading import _close, _sit
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)


@pytest.fixture
def scored(session, exam, app_context):  # noqa: F811
    return score(session, exam)


@pytest.fixture
def scored_no_context(app, session, exam):  # noqa: F811
    """The same, with no app context left pushed (for tests that send requests)."""
    with app.app_context():
        return score(session, exam)


def score(session, exam):  # noqa: F811
    with clock.frozen(EXAM_DAY):
        submit(session, _sit(session, exam, 0, correct_share=1.0))
        submit(session, _sit(session, exam, 1, correct_share=0.5))
        _close(session, exam["session"])
        score_session(session, exam["session"], exam["admin"])
    session.commit()
    return exam
