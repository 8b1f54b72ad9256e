"""Review materials at the service layer: limits, types by their bytes, who may do what, audit, readiness."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from examsvc.audit.models import AuditEvent
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.sessions import materials
from examsvc.sessions.materials import (
    DOCX, FILENAME_MAX, ReviewMaterial, delete_material, fetch_material, list_materials, materials_by_candidate,
    missing_materials, own_registration, own_reviews, sanitise_filename, sniff_type, upload_material,
)
from examsvc.sessions.service import notices, readiness
from tests.delivery.conftest import exam  # noqa: F401  (fixture: an open theory session)
from tests.materials.conftest import docx_bytes, jpeg_bytes, pdf_bytes, plain_zip_bytes, png_bytes
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("app_context")


def upload(session, review, actor, candidate=None, *, kind="summary", filename="技术总结.pdf", data=None):
    candidate = candidate or review.candidates[0]
    material = upload_material(session, review.exam_session, candidate, kind, filename,
                               pdf_bytes() if data is None else data, actor)
    session.commit()
    return material


def events(session, action):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# --- upload ---------------------------------------------------------------------------------------

def test_the_candidate_uploads_their_own_file_and_it_is_audited(session, review):
    me = review.candidates[0]
    material = upload(session, review, me, data=pdf_bytes(1000))
    assert (material.kind, material.filename, material.content_type, material.size) == \
        ("summary", "技术总结.pdf", "application/pdf", 1000)
    assert material.by_candidate and material.uploaded_by is None
    assert len(material.sha256) == 64
    [event] = events(session, "materials.upload")
    assert event.actor == f"candidate:{me.ticket_number}"
    assert (event.subject_type, event.subject_id) == ("candidates", str(me.id))
    assert event.details["sha256"] == material.sha256 and event.details["filename"] == "技术总结.pdf"


def test_the_institution_uploads_for_a_candidate(session, review):
    material = upload(session, review, review["admin"], kind="performance", filename="业绩.docx", data=docx_bytes())
    assert material.uploaded_by == review["admin"].id and not material.by_candidate
    assert material.content_type == DOCX
    assert events(session, "materials.upload")[0].actor_id == review["admin"].id


@pytest.mark.parametrize("data, content_type, name", [
    (pdf_bytes(), "application/pdf", "a.pdf"), (docx_bytes(), DOCX, "a.docx"),
    (jpeg_bytes(), "image/jpeg", "a.jpg"), (png_bytes(), "image/png", "a.png"),
])
def test_the_type_comes_from_the_bytes_and_the_name_follows_it(session, review, data, content_type, name):
    material = upload(session, review, review["admin"], filename="a.txt", data=data)
    assert material.content_type == content_type
    assert material.filename == name.replace("a.", "a.txt.")


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00" + b"\x00" * 200,          # a Windows program named .pdf
    b"<html><script>alert(1)</script>",     # a web page
    plain_zip_bytes(),                      # a ZIP that is no Word document
    b"PK\x03\x04 broken zip",
    b"%PD",                                 # too short to be a PDF
])
def test_a_file_of_another_type_is_refused_whatever_its_name(session, review, data):
    with pytest.raises(ValidationFailed) as refused:
        upload(session, review, review["admin"], filename="论文.pdf", data=data)
    assert (refused.value.field, refused.value.code) == ("file", "materials.type")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReviewMaterial)) == 0


def test_size_limit_from_the_configuration(app, session, review):
    app.config["REVIEW_MATERIAL_MAX_BYTES"] = 1000
    upload(session, review, review["admin"], data=pdf_bytes(1000))
    with pytest.raises(ValidationFailed) as refused:
        upload(session, review, review["admin"], data=pdf_bytes(1001))
    assert (refused.value.field, refused.value.code) == ("file", "materials.too_large")
    with pytest.raises(ValidationFailed) as empty:
        upload(session, review, review["admin"], data=b"")
    assert empty.value.code == "materials.empty"


def test_the_size_is_checked_before_the_bytes_are_read(app, session, review, monkeypatch):
    app.config["REVIEW_MATERIAL_MAX_BYTES"] = 10
    monkeypatch.setattr(materials, "sniff_type", lambda data: pytest.fail("the type was read for a too large file"))
    with pytest.raises(ValidationFailed):
        upload(session, review, review["admin"], data=b"x" * 11)


def test_at_most_the_configured_number_of_files_per_candidate(app, session, review):
    app.config["REVIEW_MATERIAL_MAX_FILES"] = 2
    first = upload(session, review, review["admin"])
    upload(session, review, review.candidates[0], kind="thesis")
    with pytest.raises(ValidationFailed) as refused:
        upload(session, review, review["admin"])
    assert refused.value.code == "materials.too_many"
    session.rollback()
    upload(session, review, review["admin"], candidate=review.candidates[1])  # the limit is per candidate
    delete_material(session, review.exam_session, first.id, review["admin"])
    session.commit()
    upload(session, review, review["admin"])


@pytest.mark.parametrize("kind", ["", "photo", "SUMMARY", None])
def test_an_unknown_kind_is_refused_naming_the_field(session, review, kind):
    with pytest.raises(ValidationFailed) as refused:
        upload(session, review, review["admin"], kind=kind)
    assert refused.value.field == "kind"


@pytest.mark.parametrize("filename", ["a\x00.pdf", "\x00", "总结.pdf\x00.exe"])
def test_a_nul_byte_in_the_name_is_refused(session, review, filename):
    with pytest.raises(ValidationFailed) as refused:
        upload(session, review, review["admin"], filename=filename)
    assert (refused.value.field, refused.value.code) == ("file", "materials.filename")


def test_a_path_in_the_name_is_dropped(session, review):
    material = upload(session, review, review["admin"], filename="../../etc/passwd")
    assert material.filename == "passwd.pdf"
    material = upload(session, review, review["admin"], filename="C:\\Users\\张三\\.技术总结.PDF")
    assert material.filename == "技术总结.pdf"


def test_only_review_sessions_take_materials(session, exam):
    """A theory session planned, staffed and opened through the product takes none."""
    candidate = exam["candidates"][0]
    for actor in (exam["admin"], candidate):
        with pytest.raises(ValidationFailed) as refused:
            upload_material(session, exam["session"], candidate, "summary", "a.pdf", pdf_bytes(), actor)
        assert refused.value.code == "materials.not_review"
    assert missing_materials(session, exam["session"]) == []
    assert own_reviews(session, candidate) == []


def test_materials_are_final_once_the_session_is_closed(session, exam):
    """The deadline's rule seen on a session closed through the product (a theory one: the rule does not
    depend on the component)."""
    from examsvc.sessions.console import close_session

    candidate = exam["candidates"][0]
    assert materials.closed_reason(session, exam["session"], candidate) is None
    close_session(session, exam["session"], exam["invigilators"][0])
    session.commit()
    closed = materials.closed_reason(session, exam["session"], candidate)
    assert isinstance(closed, Conflict) and closed.code == "materials.closed" and closed.field == "session"


def _open(session, review):
    """Every candidate handed in a file; the institution opens the session (开考)."""
    from datetime import timedelta

    from examsvc import clock
    from examsvc.sessions.service import open_session
    from tests.materials.conftest import EXAM_DAY

    for candidate in review.candidates:
        upload(session, review, candidate, candidate=candidate)
    with clock.frozen(EXAM_DAY - timedelta(days=1)):
        open_session(session, review.exam_session, review["admin"])
    session.commit()


def test_materials_may_change_while_the_review_session_is_open_until_the_panel_scores(session, review):
    from examsvc.grading import panel

    _open(session, review)
    first, second = review.candidates
    extra = upload(session, review, first, kind="performance")  # open, nobody has scored yet: still allowed
    delete_material(session, review.exam_session, extra.id, first)
    task = next(iter(panel.panel_tasks(session, review.exam_session).values()))
    panel.submit_scores(session, first, task.code, review["examiner"], {c.code: c.points for c in task.rubric})
    session.commit()
    [kept] = list_materials(session, review.exam_session, first, first)
    for attempt in (lambda: upload(session, review, first), lambda: upload(session, review, review["admin"]),
                    lambda: delete_material(session, review.exam_session, kept.id, first)):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert (refused.value.code, refused.value.field) == ("materials.closed", "candidate_id")
        session.rollback()
    assert own_reviews(session, first)[0].closed is not None
    upload(session, review, second, candidate=second, kind="thesis")  # the other candidate's review has not begun
    assert own_reviews(session, second)[0].closed is None


def test_materials_are_final_once_the_candidate_has_a_score(session, review):
    from examsvc.grading import panel

    _open(session, review)
    absent = review.candidates[1]
    panel.mark_absent(session, absent, review["admin"])
    session.commit()
    with pytest.raises(Conflict) as refused:
        upload(session, review, review["admin"], candidate=absent)
    assert refused.value.code == "materials.closed" and "score" in refused.value.message_en


# --- who may change ---------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["other_candidate", "other_admin", "examiner", "region", "baotou", "invigilator",
                                 "sysadmin", "anonymous"])
def test_nobody_else_uploads(session, review, who):
    actor = {"other_candidate": review.candidates[1], "anonymous": None}.get(who) or review.people.get(who)
    with pytest.raises(Forbidden):
        upload(session, review, actor)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReviewMaterial)) == 0


def test_a_candidate_of_another_session_is_not_found_here(session, review):
    from examsvc.bank.models import ExamBlueprint
    from tests.materials.conftest import plan_review_session

    version = session.get(ExamBlueprint, review.exam_session.blueprint_id).latest
    other = plan_review_session(session, review.c, review["admin"], version, title="另一场")
    with pytest.raises(NotFound):
        upload_material(session, other, review.candidates[0], "summary", "a.pdf", pdf_bytes(), review["admin"])
    with pytest.raises(NotFound):
        list_materials(session, other, review.candidates[0], review["admin"])


@pytest.mark.parametrize("who", ["self", "admin"])
def test_the_candidate_and_the_admin_delete_and_it_is_audited(session, review, who):
    material = upload(session, review, review["admin"])
    actor = review.candidates[0] if who == "self" else review["admin"]
    delete_material(session, review.exam_session, material.id, actor)
    session.commit()
    assert session.get(ReviewMaterial, material.id) is None
    [event] = events(session, "materials.delete")
    assert event.details["material"] == material.id and event.details["sha256"] == material.sha256


@pytest.mark.parametrize("who", ["other_candidate", "other_admin", "examiner", "region"])
def test_nobody_else_deletes(session, review, who):
    material = upload(session, review, review["admin"])
    actor = review.candidates[1] if who == "other_candidate" else review.people[who]
    with pytest.raises(Forbidden):
        delete_material(session, review.exam_session, material.id, actor)
    session.rollback()
    assert session.get(ReviewMaterial, material.id) is not None
    assert events(session, "materials.delete") == []


def test_deleting_a_file_of_another_session_is_not_found(session, review):
    with pytest.raises(NotFound):
        delete_material(session, review.exam_session, 999, review["admin"])


# --- who may see ------------------------------------------------------------------------------

SEES = {"self": True, "admin": True, "examiner": True, "region": True, "baotou": True,
        "other_candidate": False, "other_admin": False, "recused": False, "unassigned": False, "invigilator": False,
        "chifeng": False, "sysadmin": False, "anonymous": False}


@pytest.mark.parametrize("who, sees", sorted(SEES.items()))
def test_who_sees_a_candidates_files(session, review, who, sees):
    material = upload(session, review, review.candidates[0], data=png_bytes(), filename="证书.png")
    viewer = {"self": review.candidates[0], "other_candidate": review.candidates[1],
              "anonymous": None}.get(who) or review.people.get(who)
    if sees:
        assert [m.id for m in list_materials(session, review.exam_session, review.candidates[0], viewer)] == [material.id]
        assert fetch_material(session, review.exam_session, material.id, viewer).data == png_bytes()
    else:
        with pytest.raises(Forbidden):
            list_materials(session, review.exam_session, review.candidates[0], viewer)
        with pytest.raises(Forbidden):
            fetch_material(session, review.exam_session, material.id, viewer)


def test_a_recused_examiner_still_sees_the_other_candidates(session, review):
    upload(session, review, review["admin"])
    second = upload(session, review, review["admin"], candidate=review.candidates[1])
    assert [m.id for m in list_materials(session, review.exam_session, review.candidates[1], review["recused"])] == \
        [second.id]
    assert set(materials_by_candidate(session, review.exam_session, review["recused"])) == {review.candidates[1].id}
    assert set(materials_by_candidate(session, review.exam_session, review["examiner"])) == \
        {c.id for c in review.candidates}
    assert materials_by_candidate(session, review.exam_session, review["unassigned"]) == {}
    assert materials_by_candidate(session, review.exam_session, review["other_admin"]) == {}
    assert materials_by_candidate(session, review.exam_session, review.candidates[0]) == {}


def test_lists_do_not_load_the_bytes(session, review):
    upload(session, review, review["admin"])
    session.expunge_all()
    [material] = list_materials(session, review.exam_session, review.candidates[0], review["admin"])
    assert "data" not in material.__dict__


# --- the candidate's own page -----------------------------------------------------------------

def test_the_person_sees_their_review_registrations_and_nobody_elses(session, review):
    me, other = review.candidates
    upload(session, review, me)
    [mine] = own_reviews(session, me)
    assert mine.candidate.id == me.id and len(mine.materials) == 1 and mine.closed is None
    assert own_reviews(session, other)[0].materials == []
    assert own_registration(session, me, me.id)[1].id == me.id
    with pytest.raises(Forbidden):
        own_registration(session, me, other.id)
    with pytest.raises(NotFound):
        own_registration(session, me, 999)


# --- readiness ---------------------------------------------------------------------------------

def test_a_review_session_notes_each_candidate_who_has_handed_in_nothing_without_blocking(session, review):
    [problem] = missing_materials(session, review.exam_session)
    assert problem.code == "materials" and problem.message == "2名考生尚未提交评审材料"
    assert [p.code for p in notices(session, review.exam_session)] == ["materials"]
    assert "materials" not in {p.code for p in readiness(session, review.exam_session)}  # one dropout must not
    # stop everyone's review: the panel records a candidate without materials absent
    upload(session, review, review.candidates[0])
    assert missing_materials(session, review.exam_session)[0].message == "1名考生尚未提交评审材料"
    upload(session, review, review["admin"], candidate=review.candidates[1])
    assert missing_materials(session, review.exam_session) == []
    assert notices(session, review.exam_session) == []


# --- the file name sanitiser ----------------------------------------------------------------------

names = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, file_type=st.sampled_from(sorted(materials.FILE_TYPES)))
def test_a_sanitised_name_is_safe_whatever_was_sent(name, file_type):
    import unicodedata

    clean = sanitise_filename(name, file_type)
    extension = materials.FILE_TYPES[file_type][1]
    assert clean.endswith(extension) and len(clean) > len(extension)
    assert len(clean) <= FILENAME_MAX
    assert not set(clean) & set('/\\:*?"<>|')
    assert not any(unicodedata.category(ch)[0] == "C" for ch in clean)
    assert not clean.startswith(".") and not clean.startswith(" ")
    assert clean == clean.strip() and "  " not in clean
    assert sanitise_filename(clean, file_type) == clean  # idempotent


@given(prefix=names, suffix=names)
def test_a_nul_anywhere_in_the_name_is_refused(prefix, suffix):
    with pytest.raises(ValidationFailed):
        sanitise_filename(prefix + "\x00" + suffix, "pdf")


@given(data=st.binary(max_size=64))
def test_sniffing_arbitrary_bytes_never_fails(data):
    found = sniff_type(data)
    assert found in (None, *materials.FILE_TYPES)
    if found == "pdf":
        assert data.startswith(b"%PDF-")
