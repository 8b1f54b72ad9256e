"""Institutions A and B with their admins, a regulator, and factories of confirmed passes.

The clock is frozen at 2026-12-20 10:00 Beijing time for every test here, inside A's filing
(2025-04-15 to 2028-04-14) and B's (2024-10-20 to 2027-10-19).
"""

import pytest

from examsvc import clock
from tests.certificates.builders import ISSUE_TIME, Passes
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def issue_day():
    with clock.frozen(ISSUE_TIME) as frozen:
        yield frozen


@pytest.fixture
def cert_world(app, session, world):
    admin_a = make_user(session, "admin_a", "institution_admin", world["A"].id)
    admin_b = make_user(session, "admin_b", "institution_admin", world["B"].id)
    regulator = make_user(session, "regulator", "regulator")
    with app.app_context():
        passes_a = Passes(session, world["A"], admin_a.id)
    session.commit()
    return {**world, "admin_a": admin_a, "admin_b": admin_b, "regulator": regulator, "passes_a": passes_a}


@pytest.fixture
def app_context(app):
    """Services that read the data key need the app; tests using ``client`` must not push one."""
    with app.app_context():
        yield
