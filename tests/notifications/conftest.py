"""A regulator, two admins of A, one of B, a staff member of A, and a reader of the notifications."""

from datetime import datetime, timezone

import pytest

from examsvc import clock
from tests.conftest import make_user

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)   # Monday 2 March 2026, 10:00 in Beijing


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW) as frozen:
        yield frozen


@pytest.fixture
def people(session, world):
    regulator = make_user(session, "regulator", "regulator")
    admin_a = make_user(session, "admin_a", "institution_admin", world["A"].id)
    admin_a2 = make_user(session, "admin_a2", "institution_admin", world["A"].id)
    admin_b = make_user(session, "admin_b", "institution_admin", world["B"].id)
    examiner_a = make_user(session, "examiner_a", "examiner", world["A"].id)
    return {**world, "regulator": regulator, "admin_a": admin_a, "admin_a2": admin_a2, "admin_b": admin_b,
            "examiner_a": examiner_a}
