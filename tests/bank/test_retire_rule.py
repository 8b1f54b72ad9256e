"""Who retires an item (issue 13): the item's authors, never another writer; the rule holds in the
service, the JSON API and the item page (which offers the retire form only to an author)."""

import pytest

from examsvc.bank.models import Item
from examsvc.bank.service import (
    create_item, item_authors, may_retire, retire_item, review_version, save_item, submit_version,
)
from examsvc.errors import Forbidden
from tests.bank.conftest import single_choice
from tests.conftest import PASSWORD, csrf_token_from, login


def _approved_item(session, bank):
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=bank["writer"])
    submit_version(session, item.latest, bank["writer"])
    review_version(session, item.latest, bank["reviewer"], "approve", "")
    session.commit()
    return item


def test_another_writer_cannot_retire_an_approved_item_its_author_can(session, bank):
    item = _approved_item(session, bank)
    # A draft of a new version by another writer does not make them an author of the item.
    save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。"), bank["writer2"])
    assert item_authors(item) == {bank["writer"].id}
    assert not may_retire(bank["writer2"], item) and may_retire(bank["writer"], item)
    with pytest.raises(Forbidden) as refused:
        retire_item(session, item, bank["writer2"], "我觉得不好")
    assert refused.value.code == "retire.not_author" and refused.value.field == "item"
    assert "author" in refused.value.message_en and "作者" in refused.value.message
    assert item.retired_at is None
    retire_item(session, item, bank["writer"], "教材更新")
    assert item.retired_at is not None and not may_retire(bank["writer"], item)


def test_an_approved_revision_makes_its_writer_an_author(session, bank):
    item = _approved_item(session, bank)
    version = save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。"),
                        bank["writer2"])
    submit_version(session, version, bank["writer2"])
    review_version(session, version, bank["reviewer"], "approve", "")
    assert item_authors(item) == {bank["writer"].id, bank["writer2"].id}
    retire_item(session, item, bank["writer2"], "教材更新")
    assert item.retired_at is not None


def _token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}", "Accept-Language": "en"}


def test_the_api_and_the_page_refuse_another_writer_with_403(app, client, session, bank):
    item_id = _approved_item(session, bank).id
    refused = client.post(f"/api/v1/bank/items/{item_id}/retire", json={"reason": "我觉得不好"},
                          headers=_token(client, "writer2"))
    assert refused.status_code == 403
    assert refused.get_json()["field"] == "item" and "author" in refused.get_json()["message"]

    other = app.test_client()
    assert login(other, "writer2").status_code == 302
    page = other.get(f"/bank/items/{item_id}").get_data(as_text=True)
    action = f"/bank/items/{item_id}/retire"
    assert page and action not in page  # no retire form for another writer
    token = csrf_token_from(page)
    posted = other.post(action, data={"csrf_token": token, "reason": "我觉得不好"}, headers={"Accept-Language": "en"})
    assert posted.status_code == 403 and "author" in posted.get_data(as_text=True)
    session.expire_all()
    assert session.get(Item, item_id).retired_at is None

    author = app.test_client()
    assert login(author, "writer1").status_code == 302
    assert action in author.get(f"/bank/items/{item_id}").get_data(as_text=True)
    retired = client.post(f"/api/v1/bank/items/{item_id}/retire", json={"reason": "教材更新"},
                          headers=_token(client, "writer1"))
    assert retired.status_code == 200 and retired.get_json()["retired_at"]
