"""A 综合评审 (review) session of institution C (包头市, 车工 level 2) with two candidates, its
staff, and the people who must be refused: another institution's admin, an unassigned examiner,
a recused examiner, an invigilator, and a regulator of another league/city."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from examsvc.accounts.service import create_user
from examsvc.bank.service import load_blueprint_file
from examsvc.grading.examiners import declare_conflict, register_card
from examsvc.institutions.service import register_institution
from examsvc.reference.service import load_occupations
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.service import assign_staff, plan_session, register_candidate
from tests.conftest import PASSWORD
from tests.delivery.conftest import resident_id

REVIEW = Path(__file__).resolve().parents[2] / "blueprints" / "6-18-01-01_L2_review.toml"
EXAM_DAY = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing time
OCCUPATION = "6-18-01-01"


# --- files as the outside world makes them ---------------------------------------------------

def pdf_bytes(size: int = 400) -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    return body + b"%" + b"x" * max(0, size - len(body) - 8) + b"\n%%EOF\n"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document>技术总结</w:document>")
    return buffer.getvalue()


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a Word document")
    return buffer.getvalue()


# --- the review session --------------------------------------------------------------------

def review_blueprint(session):
    """The shipped 车工 二级/技师 综合评审 blueprint, loaded as an operator loads it."""
    version, _ = load_blueprint_file(session, REVIEW, "test")
    return version


def plan_review_session(session, institution, admin, version, *, title: str = "综合评审") -> ExamSession:
    """A planned review session of ``institution``: a review paper drawn and locked, then planned with
    a 答辩室 for the candidates, as the institution does it in the product."""
    run = start_assembly(session, institution=institution, blueprint_version=version, forms=1,
                         overrides={"seed": 7}, actor=admin)
    run_assembly(session, run)
    assert run.status == "done", run.outcome
    paper = lock_paper(session, run.papers[0], admin)
    return plan_session(session, institution=institution, blueprint=version.blueprint, title=title,
                        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
                        window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("答辩室", 10)], paper_ids=[paper.id],
                        actor=admin)


def user(session, username: str, role: str, institution_id: int | None = None, jurisdiction: str | None = None):
    made = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[(role, institution_id)], jurisdiction=jurisdiction)
    session.flush()
    return made


@dataclass
class ReviewWorld:
    c: Any
    d: Any
    exam_session: ExamSession
    candidates: list[Candidate]
    people: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.people[name]


def build_review_world(session) -> ReviewWorld:
    load_occupations(session)
    c = register_institution(session, code="Y000015000003", name="丙评价机构", kind="employer", tier="league_city",
                             league_city="包头市", published_on=date(2025, 4, 15),
                             scope=[(OCCUPATION, "2"), (OCCUPATION, "3")])
    d = register_institution(session, code="Y000015000004", name="丁评价机构", kind="employer", tier="league_city",
                             league_city="赤峰市", published_on=date(2025, 4, 15), scope=[(OCCUPATION, "2")])
    people = {
        "admin": user(session, "admin_c", "institution_admin", c.id),
        "other_admin": user(session, "admin_d", "institution_admin", d.id),
        "examiner": user(session, "examiner_c", "examiner", c.id),
        "examiner2": user(session, "examiner2_c", "examiner", c.id),
        "examiner3": user(session, "examiner3_c", "examiner", c.id),
        "recused": user(session, "recused_c", "examiner", c.id),
        "unassigned": user(session, "idle_examiner_c", "examiner", c.id),
        "invigilator": user(session, "invigilator_c", "invigilator", c.id),
        "invigilator2": user(session, "invigilator2_c", "invigilator", c.id),
        "region": user(session, "regulator_region", "regulator", jurisdiction="自治区"),
        "baotou": user(session, "regulator_baotou", "regulator", jurisdiction="包头市"),
        "chifeng": user(session, "regulator_chifeng", "regulator", jurisdiction="赤峰市"),
        "sysadmin": user(session, "sysadmin_x", "sysadmin"),
    }
    admin = people["admin"]
    version = review_blueprint(session)
    exam_session = plan_review_session(session, c, admin, version)
    for name in ("examiner", "examiner2", "examiner3", "recused", "unassigned"):
        register_card(session, holder=people[name], card_number=f"KP-{name.upper()}", grade="senior_examiner",
                      valid_from=date(2024, 1, 1), valid_until=date(2028, 12, 31), institution_id=c.id, actor=admin)
    for name in ("examiner", "examiner2", "examiner3", "recused"):  # a panel of 3 for every candidate
        assign_staff(session, exam_session, people[name], "examiner", None, admin)
    for name in ("invigilator", "invigilator2"):
        assign_staff(session, exam_session, people[name], "invigilator", exam_session.rooms[0].id, admin)
    candidates = [register_candidate(session, exam_session, name=f"评审考生{i}", id_type="resident_id",
                                     id_number=resident_id(i), employer=f"第{i}机械厂", actor=admin) for i in (1, 2)]
    declare_conflict(session, examiner=people["recused"], candidate=candidates[0], kind="relative", note="",
                     actor=admin)
    session.commit()
    return ReviewWorld(c, d, exam_session, candidates, people)


@pytest.fixture
def review(app, session) -> ReviewWorld:
    with app.app_context():
        return build_review_world(session)


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield
