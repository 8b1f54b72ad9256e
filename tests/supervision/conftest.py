"""A regulator, an institution admin and the two institutions of ``world``; the clock is moved per test."""

import pytest

from tests.conftest import make_user


@pytest.fixture
def people(session, world):
    regulator = make_user(session, "regulator", "regulator")
    admin_a = make_user(session, "admin_a", "institution_admin", world["A"].id)
    return {**world, "regulator": regulator, "admin_a": admin_a}
