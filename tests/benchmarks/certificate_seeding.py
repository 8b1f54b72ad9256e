"""The certificate benchmark's 10,000 confirmed passes, straight into the tables: exam sessions per
component, candidates, component scores, confirmed result publications and the pass records
built on them. Bulk inserts, so that the benchmark sets up in seconds what it then times
(issuing). ONLY for tests/benchmarks/certificates.py: tests make their passes through the
product's own path (tests/certificates/builders.py).

``protect_id`` reads the data key from the app: call inside ``app.app_context()``.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, select

from examsvc.bank.models import ExamBlueprint
from examsvc.grading.models import ComponentScore, PassRecord, ResultPublication
from examsvc.grading.results import required_components
from examsvc.protect import protect_id
from examsvc.sessions.models import Candidate, ExamSession
from itembank.identifiers import resident_id_check_character

CONFIRMED_AT = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)


def resident_id(serial: int) -> str:
    """A valid resident ID number, distinct for every serial below 3,650,000."""
    born = date(1980, 1, 1) + timedelta(days=serial // 1000)
    body = f"150102{born:%Y%m%d}{serial % 1000:03d}"
    return body + resident_id_check_character(body)


_PEOPLE = itertools.count(1)  # every person made in this process is another person


class BulkPasses:
    """Makes pass records of one institution, occupation and level, with everything behind them."""

    def __init__(self, session, institution, admin_id: int, occupation: str = "4-03-02-01", level: str = "4",
                 confirmed: bool = True):
        self.session, self.institution, self.admin_id = session, institution, admin_id
        self.occupation, self.level, self.confirmed = occupation, level, confirmed
        self.sessions: dict[str, ExamSession] = {}
        self.count = 0
        for component in sorted(required_components(level)):
            self.sessions[component] = self._exam_session(component)
        session.flush()

    def _exam_session(self, component: str) -> ExamSession:
        blueprint = self.session.scalar(select(ExamBlueprint).where(
            ExamBlueprint.occupation_code == self.occupation, ExamBlueprint.level == self.level,
            ExamBlueprint.component == component))
        if blueprint is None:
            blueprint = ExamBlueprint(occupation_code=self.occupation, level=self.level, component=component,
                                      title=f"{self.occupation} {self.level} {component}")
            self.session.add(blueprint)
            self.session.flush()
        day = CONFIRMED_AT - timedelta(days=20)
        exam_session = ExamSession(institution_id=self.institution.id, blueprint_id=blueprint.id,
                                   title=f"{self.occupation} L{self.level} {component}", exam_date=day.date(),
                                   window_start=day, window_end=day + timedelta(hours=1), duration_minutes=90,
                                   languages=["zh"], status="closed", created_by=self.admin_id, created_at=day)
        self.session.add(exam_session)
        self.session.flush()
        self.session.add(ResultPublication(session_id=exam_session.id, published_at=day, published_by=self.admin_id,
                                           notice_until=(day + timedelta(days=7)).date(),
                                           confirmed_at=CONFIRMED_AT if self.confirmed else None,
                                           confirmed_by=self.admin_id if self.confirmed else None))
        return exam_session

    def make(self, n: int, *, fail: str | None = None, work_type: str = "", start: int | None = None,
             names: list[str] | None = None) -> list[int]:
        """``n`` pass records (ids, in order); with ``fail="skill"`` that component is a fail."""
        first = self.count if start is None else start
        self.count = first + n
        people = []
        for index in range(first, first + n):
            number = resident_id(next(_PEOPLE))
            people.append((names[index - first] if names else f"考生{index:05d}", protect_id("resident_id", number)))
        score_ids: dict[str, list[int]] = {}
        scores: dict[str, list[float]] = {}
        for component, exam_session in self.sessions.items():
            candidate_ids = self.session.scalars(insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True), [
                dict(session_id=exam_session.id, name=name, id_type="resident_id", id_cipher=p.cipher,
                     id_digest=p.digest, id_masked=p.masked, employer="", phone="", exam_language="zh",
                     ticket_number=f"T{exam_session.id:04d}{i:06d}", registered_at=exam_session.created_at)
                for i, (name, p) in zip(range(first, first + n), people)]).all()
            value = 45.0 if component == fail else 60.0 + (len(component) * 7) % 30
            scores[component] = [value] * n
            score_ids[component] = self.session.scalars(
                insert(ComponentScore).returning(ComponentScore.id, sort_by_parameter_order=True), [
                    dict(session_id=exam_session.id, candidate_id=cid, component=component, score=value,
                         passed=component != fail, method="auto", details={}, scored_at=exam_session.created_at)
                    for cid in candidate_ids]).all()
        components = sorted(self.sessions)
        return self.session.scalars(insert(PassRecord).returning(PassRecord.id, sort_by_parameter_order=True), [
            dict(institution_id=self.institution.id, occupation_code=self.occupation, work_type=work_type,
                 level=self.level, name=name, id_type="resident_id", id_cipher=p.cipher, id_digest=p.digest,
                 id_masked=p.masked, photo_sha256=None,
                 scores={c: scores[c][k] for c in components}, score_ids=[score_ids[c][k] for c in components],
                 confirmed_at=CONFIRMED_AT)
            for k, (name, p) in enumerate(people)]).all()
