"""Review materials over HTTP: the institution's pages, the candidate's own page and JSON, the JSON API."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from examsvc.accounts.models import User
from examsvc.accounts.service import issue_api_token
from examsvc.sessions.materials import ReviewMaterial
from tests.conftest import csrf_headers, login
from tests.delivery.conftest import resident_id
from tests.materials.conftest import docx_bytes, pdf_bytes, png_bytes

EN = {"Accept-Language": "en"}


def staff(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def candidate_client(app, review, index=0):
    client = app.test_client()
    response = client.post("/results/sign-in", data={
        "ticket_number": review.candidates[index].ticket_number, "id_number": resident_id(index + 1),
        "csrf_token": csrf_headers(client)["X-CSRFToken"]})
    assert response.status_code == 302
    return client


def post_file(client, url, data=None, filename="技术总结.pdf", kind="summary", headers=None):
    token = csrf_headers(client)["X-CSRFToken"]
    return client.post(url, data={"kind": kind, "csrf_token": token,
                                  "file": (io.BytesIO(pdf_bytes() if data is None else data), filename)},
                       content_type="multipart/form-data", headers={**EN, **(headers or {})})


def count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ReviewMaterial))


def urls(review, index=0):
    sid, cid = review.exam_session.id, review.candidates[index].id
    return {"page": f"/sessions/{sid}/candidates/{cid}/materials", "candidates": f"/sessions/{sid}/candidates",
            "file": lambda mid: f"/sessions/{sid}/materials/{mid}",
            "delete": lambda mid: f"/sessions/{sid}/materials/{mid}/delete"}


# --- the institution's pages ----------------------------------------------------------------------

def test_the_admin_uploads_downloads_and_deletes_on_the_candidates_materials_page(app, session, review):
    admin, u = staff(app, "admin_c"), urls(review)
    listing = admin.get(u["candidates"], headers=EN).get_data(as_text=True)
    assert "Review materials" in listing and u["page"] in listing and "none yet: upload" in listing
    page = admin.get(u["page"], headers=EN)
    assert page.status_code == 200 and "No review materials handed in." in page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page.get_data(as_text=True)

    response = post_file(admin, u["page"], docx_bytes(), "个人业绩.DOCX", "performance")
    assert response.status_code == 302
    [material] = session.scalars(select(ReviewMaterial)).all()
    assert (material.filename, material.kind, material.uploaded_by) == ("个人业绩.docx", "performance",
                                                                         review["admin"].id)
    page = admin.get(u["page"], headers=EN).get_data(as_text=True)
    assert "个人业绩.docx" in page and "Performance record" in page and "by the institution" in page
    assert "1 files" in admin.get(u["candidates"], headers=EN).get_data(as_text=True)

    download = admin.get(u["file"](material.id))
    assert download.status_code == 200 and download.data == docx_bytes()
    assert download.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]

    response = admin.post(u["delete"](material.id), data={"csrf_token": csrf_headers(admin)["X-CSRFToken"]})
    assert response.status_code == 302 and count(session) == 0


def test_a_refused_upload_shows_the_page_again_naming_the_field(app, session, review):
    admin, u = staff(app, "admin_c"), urls(review)
    response = post_file(admin, u["page"], b"MZ\x90\x00 a program", "论文.pdf")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "a file must be a PDF, Word (DOCX), JPEG or PNG" in html and 'aria-invalid="true"' in html
    assert count(session) == 0


def test_an_upload_without_the_csrf_token_is_refused(app, session, review):
    admin, u = staff(app, "admin_c"), urls(review)
    response = admin.post(u["page"], data={"kind": "summary", "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 400 and count(session) == 0


def test_a_request_larger_than_the_limit_is_refused_before_it_is_read(app, session, review):
    app.config["MAX_CONTENT_LENGTH"] = 5000
    admin, u = staff(app, "admin_c"), urls(review)
    assert post_file(admin, u["page"], pdf_bytes(6000)).status_code == 413
    assert count(session) == 0


@pytest.mark.parametrize("username", ["admin_d", "invigilator_c", "idle_examiner_c", "regulator_chifeng"])
def test_others_get_403_on_the_page_and_the_file(app, session, review, username):
    with app.app_context():
        from examsvc.sessions.materials import upload_material

        material = upload_material(session, review.exam_session, review.candidates[0], "summary", "a.pdf", pdf_bytes(),
                                   review["admin"])
        session.commit()
    client, u = staff(app, username), urls(review)
    assert client.get(u["page"]).status_code == 403
    assert client.get(u["file"](material.id)).status_code == 403
    assert post_file(client, u["page"]).status_code == 403
    assert client.post(u["delete"](material.id),
                       data={"csrf_token": csrf_headers(client)["X-CSRFToken"]}).status_code == 403
    assert count(session) == 1


@pytest.mark.parametrize("username", ["examiner_c", "regulator_region", "regulator_baotou"])
def test_the_panel_and_the_regulators_read_but_do_not_change(app, session, review, username):
    admin, u = staff(app, "admin_c"), urls(review)
    post_file(admin, u["page"], png_bytes(), "获奖证书.png", "performance")
    material = session.scalars(select(ReviewMaterial)).one()
    client = staff(app, username)
    page = client.get(u["page"], headers=EN).get_data(as_text=True)
    assert "获奖证书.png" in page and "Upload for the candidate" not in page and "Delete" not in page
    assert client.get(u["file"](material.id)).data == png_bytes()
    assert post_file(client, u["page"]).status_code == 403
    assert count(session) == 1


def test_a_recused_examiner_gets_403_for_that_candidate_only(app, session, review):
    admin = staff(app, "admin_c")
    post_file(admin, urls(review, 0)["page"])
    post_file(admin, urls(review, 1)["page"])
    first, second = session.scalars(select(ReviewMaterial).order_by(ReviewMaterial.id)).all()
    recused = staff(app, "recused_c")
    assert recused.get(urls(review, 0)["page"]).status_code == 403
    assert recused.get(urls(review, 0)["file"](first.id)).status_code == 403
    assert recused.get(urls(review, 1)["page"]).status_code == 200
    assert recused.get(urls(review, 1)["file"](second.id)).status_code == 200


def test_the_materials_partial_shows_nothing_outside_review_sessions(app, review):
    from flask import render_template_string

    with app.test_request_context():
        from examsvc.db import get_session
        from examsvc.sessions.models import Candidate, ExamSession

        db = get_session()
        exam_session, candidate = db.get(ExamSession, review.exam_session.id), db.get(Candidate, review.candidates[0].id)
        html = render_template_string('{% include "sessions/_materials.html" %}', exam_session=exam_session,
                                      candidate=candidate)
        assert html.strip() == ""  # nobody signed in: nothing to show


# --- the candidate's own page ---------------------------------------------------------------------

def test_the_candidate_hands_in_their_files_from_their_results_page(app, session, review):
    client = candidate_client(app, review)
    assert "/results/mine/materials" in client.get("/results/mine", headers=EN).get_data(as_text=True)
    page = client.get("/results/mine/materials", headers=EN).get_data(as_text=True)
    assert review.exam_session.title in page and "No review materials handed in." in page
    me = review.candidates[0].id
    response = post_file(client, f"/results/mine/materials/{me}", pdf_bytes(), "我的技术总结.pdf")
    assert response.status_code == 302
    material = session.scalars(select(ReviewMaterial)).one()
    assert material.by_candidate and material.candidate_id == me
    page = client.get("/results/mine/materials", headers=EN).get_data(as_text=True)
    assert "我的技术总结.pdf" in page and "by the candidate" in page
    download = client.get(f"/results/mine/materials/{me}/{material.id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    bad = post_file(client, f"/results/mine/materials/{me}", b"GIF89a", "a.gif")
    assert bad.status_code == 422 and "a file must be a PDF" in bad.get_data(as_text=True)
    response = client.post(f"/results/mine/materials/{me}/{material.id}/delete",
                           data={"csrf_token": csrf_headers(client)["X-CSRFToken"]})
    assert response.status_code == 302 and count(session) == 0


def test_a_candidate_cannot_touch_another_candidates_files(app, session, review):
    admin = staff(app, "admin_c")
    post_file(admin, urls(review, 0)["page"])
    material = session.scalars(select(ReviewMaterial)).one()
    other = candidate_client(app, review, 1)
    first, mine = review.candidates[0].id, review.candidates[1].id
    assert review.candidates[0].ticket_number not in other.get("/results/mine/materials").get_data(as_text=True)
    assert post_file(other, f"/results/mine/materials/{first}").status_code == 403
    assert other.get(f"/results/mine/materials/{first}/{material.id}").status_code == 403
    assert other.get(f"/results/mine/materials/{mine}/{material.id}").status_code == 404
    token = csrf_headers(other)["X-CSRFToken"]
    assert other.post(f"/results/mine/materials/{first}/{material.id}/delete",
                      data={"csrf_token": token}).status_code == 403
    assert other.post(f"/results/mine/materials/{mine}/{material.id}/delete",
                      data={"csrf_token": token}).status_code == 404
    assert other.delete(f"/exam/api/materials/{first}/{material.id}", headers={"X-CSRFToken": token}).status_code == 403
    assert other.get(urls(review, 0)["file"](material.id)).status_code == 302  # staff pages: sign in as staff
    assert count(session) == 1


def test_the_candidate_json_api(app, session, review):
    client = candidate_client(app, review)
    me = review.candidates[0].id
    token = csrf_headers(client)["X-CSRFToken"]
    created = client.post(f"/exam/api/materials/{me}", data={"kind": "thesis", "file": (io.BytesIO(pdf_bytes()), "论文.pdf")},
                          content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert created.status_code == 201 and created.get_json()["filename"] == "论文.pdf"
    listing = client.get("/exam/api/materials").get_json()["reviews"]
    assert [(r["candidate_id"], r["open"], [m["kind"] for m in r["materials"]]) for r in listing] == \
        [(me, True, ["thesis"])]
    refused = client.post(f"/exam/api/materials/{me}", data={"kind": "other", "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                          content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and refused.get_json()["field"] == "kind"
    assert client.delete(f"/exam/api/materials/{me}/{created.get_json()['id']}",
                         headers={"X-CSRFToken": token}).status_code == 204
    assert count(session) == 0
    assert app.test_client().get("/exam/api/materials").status_code == 401


# --- the JSON API -------------------------------------------------------------------------------

def bearer(session, username):
    user = session.scalar(select(User).where(User.username == username))
    token = issue_api_token(session, user, days=1)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_api_lists_uploads_downloads_and_deletes(app, session, review):
    client, auth = app.test_client(), bearer(session, "admin_c")
    sid, cid = review.exam_session.id, review.candidates[0].id
    created = client.post(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth,
                          data={"kind": "summary", "file": (io.BytesIO(pdf_bytes()), "../总结.pdf")},
                          content_type="multipart/form-data")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["filename"], body["content_type"], body["by_candidate"]) == ("总结.pdf", "application/pdf", False)
    assert [m["id"] for m in client.get(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth).get_json()] \
        == [body["id"]]
    assert [m["id"] for m in client.get(f"/api/v1/sessions/{sid}/materials", headers=auth).get_json()] == [body["id"]]
    download = client.get(f"/api/v1/sessions/{sid}/materials/{body['id']}", headers=auth)
    assert download.status_code == 200 and download.data == pdf_bytes() and download.mimetype == "application/pdf"
    wrong_type = client.post(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth,
                             data={"kind": "summary", "file": (io.BytesIO(b"\x7fELF"), "a.pdf")},
                             content_type="multipart/form-data")
    assert wrong_type.status_code == 422 and wrong_type.get_json()["field"] == "file"
    no_kind = client.post(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth,
                          data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")}, content_type="multipart/form-data")
    assert no_kind.status_code == 422 and no_kind.get_json()["field"] == "kind"
    assert client.delete(f"/api/v1/sessions/{sid}/materials/{body['id']}", headers=auth).status_code == 204
    assert count(session) == 0


@pytest.mark.parametrize("username, reads", [("admin_d", False), ("regulator_chifeng", False),
                                             ("idle_examiner_c", False), ("examiner_c", True),
                                             ("regulator_region", True)])
def test_the_api_applies_the_same_rules(app, session, review, username, reads):
    with app.app_context():
        from examsvc.sessions.materials import upload_material

        material = upload_material(session, review.exam_session, review.candidates[0], "summary", "a.pdf", pdf_bytes(),
                                   review["admin"])
        session.commit()
    client, auth = app.test_client(), bearer(session, username)
    sid, cid = review.exam_session.id, review.candidates[0].id
    listing = client.get(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth)
    download = client.get(f"/api/v1/sessions/{sid}/materials/{material.id}", headers=auth)
    assert (listing.status_code, download.status_code) == ((200, 200) if reads else (403, 403))
    assert len(client.get(f"/api/v1/sessions/{sid}/materials", headers=auth).get_json()) == (1 if reads else 0)
    upload = client.post(f"/api/v1/sessions/{sid}/candidates/{cid}/materials", headers=auth,
                         data={"kind": "summary", "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                         content_type="multipart/form-data")
    assert upload.status_code == 403 and upload.get_json()["code"] == "forbidden"
    assert client.delete(f"/api/v1/sessions/{sid}/materials/{material.id}", headers=auth).status_code == 403
    assert count(session) == 1


def test_the_examiners_scoring_screen_links_the_candidates_files(app, session, review):
    admin = staff(app, "admin_c")
    post_file(admin, urls(review, 0)["page"], filename="技术总结-张三.pdf")
    material = session.scalars(select(ReviewMaterial)).one()
    sid, cid = review.exam_session.id, review.candidates[0].id
    screen = staff(app, "examiner_c").get(f"/grading/sessions/{sid}/candidates/{cid}", headers=EN)
    assert screen.status_code == 200
    html = screen.get_data(as_text=True)
    assert "Review materials" in html and "技术总结-张三.pdf" in html and urls(review)["file"](material.id) in html
    assert "Delete" not in html.split("Review materials", 1)[1].split("</section>", 1)[0]
    recused = staff(app, "recused_c").get(f"/grading/sessions/{sid}/candidates/{cid}", headers=EN)
    assert "技术总结-张三.pdf" not in recused.get_data(as_text=True)


def test_the_session_page_and_api_note_candidates_without_materials_without_blocking(app, session, review):
    admin, sid = staff(app, "admin_c"), review.exam_session.id
    page = admin.get(f"/sessions/{sid}").get_data(as_text=True)
    assert 'id="notices"' in page and "2名考生尚未提交评审材料" in page
    detail = admin.get(f"/api/v1/sessions/{sid}").get_json()
    assert [n["code"] for n in detail["notices"]] == ["materials"]
    assert "materials" not in {p["code"] for p in detail["problems"]}
    for index in (0, 1):
        assert post_file(admin, urls(review, index)["page"]).status_code in (200, 302)
    assert 'id="notices"' not in admin.get(f"/sessions/{sid}").get_data(as_text=True)
    assert admin.get(f"/api/v1/sessions/{sid}").get_json()["notices"] == []
