"""Issue 13: candidate photos are personal data. The shared image store holds them next to the
bank's item images, but ``/bank/assets/<sha256>`` serves only the bank's images; a photo is served
by ``sessions.candidate_photo`` alone, to the candidate's institution admins."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from examsvc.bank.service import get_asset, get_item_asset, is_candidate_photo, store_asset
from examsvc.errors import NotFound
from examsvc.sessions.models import Candidate
from examsvc.sessions.service import register_candidate
from tests.conftest import make_user
from tests.delivery.conftest import resident_id
from tests.papers.conftest import papers_world  # noqa: F401  (a fixture)
from tests.web.test_sessions_pages import post, signed_in, site  # noqa: F401  (site is a fixture)

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(64)) + b"candidate"
ITEM_IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(64)) + b"item"


def test_the_bank_serves_its_images_but_never_a_candidates_photo(app, session, site):
    with app.app_context():
        image = store_asset(session, ITEM_IMAGE, site["writer"]).removeprefix("asset:")
        photo = store_asset(session, PHOTO, site["admin"]).removeprefix("asset:")
        register_candidate(session, site["session"], name="有照片", id_type="resident_id",
                           id_number=resident_id(8), photo_sha256=photo, actor=site["admin"])
        session.commit()
        assert get_item_asset(session, image).data == ITEM_IMAGE and not is_candidate_photo(session, image)
        assert is_candidate_photo(session, photo)
        with pytest.raises(NotFound) as caught:
            get_item_asset(session, photo)
        assert caught.value.field == "sha256"
        assert get_asset(session, photo).data == PHOTO  # still there, for the checked route


def test_over_http_a_photo_is_only_behind_the_candidates_route(app, session, site):
    make_user(session, "writer_x", "item_writer")
    admin = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}/candidates"
    added = post(admin, url, {"name": "新考生", "id_type": "resident_id", "id_number": resident_id(9),
                              "gender": "F", "phone": "13800000009", "exam_language": "zh",
                              "photo": (io.BytesIO(PHOTO), "me.png")}, content_type="multipart/form-data")
    assert added.status_code == 302
    candidate = session.scalars(select(Candidate).where(Candidate.name == "新考生")).one()
    digest = candidate.photo_sha256
    writer = signed_in(app, "writer_x")
    uploaded = post(writer, "/bank/assets", {"image": (io.BytesIO(ITEM_IMAGE), "fig.png")},
                    content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert uploaded.status_code == 201
    image_url = uploaded.get_json()["url"]
    # every bank reader (writer, admins of A and B, a regulator) sees the item image, none the photo
    for username in ("writer_x", "admin_a", "admin_b", "regulator"):
        client = writer if username == "writer_x" else admin if username == "admin_a" else signed_in(app, username)
        assert client.get(image_url).data == ITEM_IMAGE, username
        refused = client.get(f"/bank/assets/{digest}")
        assert refused.status_code == 404 and PHOTO not in refused.data, username
    # the checked route: the session's institution admin, not B's
    assert admin.get(f"{url}/{candidate.id}/photo").data == PHOTO
    assert signed_in(app, "admin_b").get(f"{url}/{candidate.id}/photo").status_code in (403, 404)
