"""A regulator, attached evidence and a complete application's conditions and declarations."""

from datetime import datetime, timezone

import pytest

from examsvc import clock
from examsvc.institutions.filing import CONDITIONS, NOT_APPLICABLE, PROHIBITIONS, store_attachment
from tests.conftest import make_user

TODAY = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n% test evidence\n"


@pytest.fixture(autouse=True)
def frozen_day():
    with clock.frozen(TODAY) as frozen:
        yield frozen


@pytest.fixture
def regulator(session, world):
    return make_user(session, "regulator1", "regulator")


@pytest.fixture
def evidence(session, regulator):
    digest = store_attachment(session, PDF, "营业执照.pdf", "application/pdf", regulator)
    session.commit()
    return {"conditions": {key: {"attachment": digest, "note": "见附件"} for key in CONDITIONS},
            "declarations": {key: NOT_APPLICABLE for key in PROHIBITIONS}, "sha256": digest}
