"""Confirmed passes made the way the product makes them, for the certificate tests.

Every pass record comes out of :func:`examsvc.grading.results.confirm_results`: small blueprints
(tests/certificates/data/*.toml, moved to the occupation and level asked for) stored through the
bank, items written, submitted and approved, a theory paper and a skill (and, for levels 2, 1 and
above, a 综合评审) paper assembled and locked, sessions planned, staffed, registered and opened,
the theory exam sat (sign in, answers saved, handed in), the session closed and scored, the skill
and review tasks scored by three examiners holding cards, the results published and, with the clock
moved past the notice period (公示), confirmed. Only the clock is injected.

What one :class:`Passes` shares: its blueprints, bank and people (admin, writer, reviewer,
invigilators, examiners). Each :meth:`Passes.make` runs a certification round of its own (new
sessions), since candidates cannot join a confirmed session; ``.sessions`` are the latest round's.

Two states no user can reach are made on purpose, after the product made the pass, and say so:
``fail="skill"`` (a pass record whose skill score is now a fail: nothing in the product lowers a
confirmed skill score alone) and ``confirmed=False`` (a pass record on results that are not
confirmed). They exist to prove that issuing refuses such records. ``fail="theory"`` needs no such
thing: a key correction after confirmation (a product path) turns the theory pass into a fail.

The benchmark's 10,000 passes are bulk inserts in tests/benchmarks/certificate_seeding.py.
``protect_id`` and the services read the app: call inside ``app.app_context()``.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from examsvc import clock
from examsvc.accounts.service import create_user
from examsvc.bank.models import BlueprintVersion
from examsvc.bank.service import (
    blueprint_of, create_item, findings_for, review_version, store_blueprint, submit_version, usable_versions,
)
from examsvc.delivery.service import save_answer, sign_in, start_or_resume, submit
from examsvc.grading.examiners import register_card
from examsvc.grading.models import ComponentScore, PassRecord, ResultPublication
from examsvc.grading.panel import panel_tasks, submit_scores
from examsvc.grading.results import confirm_results, publish_results, required_components
from examsvc.grading.service import apply_key_correction, score_session
from examsvc.institutions.filing import file_site, may_work_in
from examsvc.papers.models import Paper
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.protect import id_digest
from examsvc.reference.models import Occupation
from examsvc.sessions.console import close_session
from examsvc.sessions.materials import upload_material
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
from itembank.blueprint import load_blueprint, parse_blueprint
from itembank.identifiers import resident_id_check_character
from itembank.items import content_from_dict

UTC = timezone.utc
DATA = Path(__file__).resolve().parent / "data"
SETUP_AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)        # blueprints, bank, people
EXAM_AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)        # 09:00 in Beijing: every round's exam day
PUBLISHED_AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)   # results published for NOTICE_DAYS
NOTICE_DAYS = 5
CONFIRMED_AT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)   # the notice period is over
ISSUE_TIME = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)     # 10:00 in Beijing, 2026-12-20
SITE = "呼和浩特市"  # where a region-level institution holds these sessions (after its site filing)
PASSWORD = "passes-pw-1"
SKILL_SCORES = {"T01-R01": 50, "T01-R02": 30}            # 80 of 100 from each examiner
REVIEW_SCORES = {"R1-01": 30, "R1-02": 45}               # 75 of 100
ROUNDS_PER_PANEL = 4  # examiners score at most EXAMINER_ROTATION_MAX_SESSIONS sessions a year (轮换)


def resident_id(serial: int) -> str:
    """A valid resident ID number, distinct for every serial below 3,650,000."""
    born = date(1980, 1, 1) + timedelta(days=serial // 1000)
    body = f"150102{born:%Y%m%d}{serial % 1000:03d}"
    return body + resident_id_check_character(body)


_PEOPLE = itertools.count(1)    # every person made in this process is another person
_FACTORIES = itertools.count(1)  # every Passes has staff of its own (user names are unique)


class Passes:
    """Makes pass records of one institution, occupation and level through the product's own path."""

    def __init__(self, session, institution, admin_id: int, occupation: str = "4-03-02-01", level: str = "4",
                 confirmed: bool = True):
        self.session, self.institution, self.admin_id = session, institution, admin_id
        self.occupation, self.level, self.confirmed = occupation, level, confirmed
        self.components = sorted(required_components(level))
        self.sessions: dict[str, ExamSession] = {}
        self.count = 0
        self._tag = f"p{next(_FACTORIES)}"
        self._rounds = 0
        self._invigilators: list = []
        self._examiners: list = []
        with clock.frozen(SETUP_AT):
            self.admin = self._user("admin", "institution_admin", institution.id)
            self.versions = {component: self._blueprint(component) for component in self.components}
            self._bank(self.versions["theory"])
            if institution.tier == "region" and not may_work_in(session, institution, SITE):
                file_site(session, institution, SITE, "system")
        session.flush()

    # --- what one Passes shares -------------------------------------------------------------

    def _user(self, name: str, role: str, institution_id: int | None):
        return create_user(self.session, username=f"{self._tag}_{name}", password=PASSWORD,
                           display_name=f"{self._tag}_{name}", roles=[(role, institution_id)])

    def _blueprint(self, component: str) -> BlueprintVersion:
        """The test blueprint of ``component`` moved to this occupation and level, stored by the bank."""
        data = load_blueprint(DATA / f"{component}.toml").to_dict()
        name = self.session.get(Occupation, self.occupation).name
        data.update(occupation_code=self.occupation, occupation_name=name, level=self.level)
        version, _new = store_blueprint(self.session, parse_blueprint(data, f"{component}.toml"),
                                        f"{component}.toml", self.admin)
        return version

    def _bank(self, version: BlueprintVersion) -> None:
        """One approved single-choice item per element (keys A, B, C, D in turn), written and reviewed."""
        if _approved(self.session, version):
            return  # another Passes of this occupation and level wrote the bank already
        writer = self._user("writer", "item_writer", None)
        reviewer = self._user("reviewer", "item_reviewer", None)
        blueprint = version.blueprint
        for n, code in enumerate(_element_codes(version)):
            content = {"type": "single_choice", "element_code": code, "key": "ABCD"[n % 4],
                       "zh": {"stem": f"关于鉴定点{code}的要求，下列说法正确的是（　）。",
                              "options": [("A", f"{code}做法甲"), ("B", f"{code}做法乙"), ("C", f"{code}做法丙"),
                                          ("D", f"{code}做法丁")],
                              "explanation": f"依据鉴定点{code}的要求。"},
                       "difficulty_estimate": 0.65, "source": "自编"}
            item = create_item(self.session, blueprint_id=blueprint.id, content=content, author=writer)
            draft = item.latest
            warnings = [f.rule for f in findings_for(content_from_dict(draft.content), blueprint)
                        if f.severity == "warning"]
            submit_version(self.session, draft, writer, acknowledged=warnings)
            review_version(self.session, draft, reviewer, "approve", "符合要求",
                           approvals_needed=current_app.config["BANK_APPROVALS_NEEDED"])

    def _panel(self) -> None:
        """Three examiners with cards (senior examiners: levels 2 and above need them), fresh every few
        rounds so that none exceeds the rotation limit (轮换)."""
        if self._rounds % ROUNDS_PER_PANEL or len(self.components) < 2:
            return
        self._examiners = []
        for k in range(current_app.config["EXAMINERS_PER_TASK"]):
            user = self._user(f"examiner{self._rounds}_{k}", "examiner", self.institution.id)
            register_card(self.session, holder=user, card_number=f"KP-{self._tag}-{self._rounds}-{k}".upper(),
                          grade="senior_examiner", valid_from=date(2024, 1, 1), valid_until=date(2029, 12, 31),
                          institution_id=self.institution.id, actor=self.admin)
            self._examiners.append(user)

    def _invigilator_pool(self, needed: int) -> list:
        while len(self._invigilators) < needed:
            self._invigilators.append(self._user(f"invigilator{len(self._invigilators)}", "invigilator",
                                                 self.institution.id))
        return self._invigilators[:needed]

    # --- one certification round ------------------------------------------------------------

    def _paper(self, component: str):
        run = start_assembly(self.session, institution=self.institution, blueprint_version=self.versions[component],
                             forms=1, overrides={"seed": self._rounds + 1, **({"time_limit": 10} if component == "theory"
                                                                              else {})}, actor=self.admin)
        run_assembly(self.session, run)
        assert run.status == "done" and run.papers, f"{component} paper not assembled: {run.outcome}"
        return lock_paper(self.session, run.papers[0], self.admin)

    def _plan(self, component: str, people: list[tuple[str, str]]) -> ExamSession:
        config = current_app.config
        version = self.versions[component]
        window = (EXAM_AT - timedelta(minutes=30), EXAM_AT + timedelta(minutes=30))
        league_city = SITE if self.institution.tier == "region" else None
        exam_session = plan_session(
            self.session, institution=self.institution, blueprint=version.blueprint,
            title=f"{self.occupation} L{self.level} {component} #{self._rounds}", exam_date=date(2026, 11, 20),
            window_start=window[0], window_end=window[1], rooms=[("第一考场", len(people))],
            paper_ids=[self._paper(component).id], auto_check_in=True, league_city=league_city, actor=self.admin)
        needed = max(config["INVIGILATORS_PER_ROOM_MIN"], -(-len(people) // config["CANDIDATES_PER_INVIGILATOR_MAX"]))
        for user in self._invigilator_pool(needed):
            assign_staff(self.session, exam_session, user, "invigilator", exam_session.rooms[0].id, self.admin)
        if component != "theory":
            for user in self._examiners:
                assign_staff(self.session, exam_session, user, "examiner", None, self.admin)
        for name, number in people:
            candidate = register_candidate(self.session, exam_session, name=name, id_type="resident_id",
                                           id_number=number, actor=self.admin)
            if component == "review":
                upload_material(self.session, exam_session, candidate, "summary", "技术总结.pdf",
                                b"%PDF-1.4\n% technical summary\n%%EOF\n", self.admin)
        return exam_session

    def _sit_theory(self, exam_session: ExamSession, numbers: list[str], wrong: int) -> None:
        """Every candidate signs in, answers (``wrong`` items wrongly, the first ones) and hands in."""
        tickets = dict(self.session.execute(select(Candidate.id_digest, Candidate.ticket_number).where(
            Candidate.session_id == exam_session.id)).all())
        for number in numbers:
            candidate = sign_in(self.session, ticket_number=tickets[id_digest(number)], id_number=number)
            attempt = start_or_resume(self.session, candidate)
            paper = self.session.get(Paper, attempt.paper_id)
            for seq, item in enumerate(sorted(paper.items, key=lambda i: i.position), start=1):
                answer = item.key if seq > wrong else [_other(item.key)]
                save_answer(self.session, candidate.id, position=item.position, response=list(answer), flagged=False,
                            seq=seq)
            submit(self.session, attempt)

    def _score_panel(self, exam_session: ExamSession, scores: dict[str, float]) -> None:
        tasks = panel_tasks(self.session, exam_session)
        for candidate in self.session.scalars(select(Candidate).where(Candidate.session_id == exam_session.id)
                                              .order_by(Candidate.id)):
            for code, task in tasks.items():
                rubric = {c.code: scores[c.code] for c in task.rubric}
                for examiner in self._examiners:
                    submit_scores(self.session, candidate, code, examiner, rubric)

    def make(self, n: int, *, fail: str | None = None, work_type: str = "", start: int | None = None,
             names: list[str] | None = None) -> list[int]:
        """``n`` pass records (ids, in order), each from a round of its own sessions.

        ``fail="theory"``: a key correction after confirmation makes every theory score of the round
        a fail; ``fail="skill"``: the round's skill scores are lowered to a fail by hand (no product
        path does that) - both leave pass records that issuing must refuse.
        """
        if work_type:
            raise ValueError("no user path carries a work type (工种) into a pass record: confirm_results "
                             "leaves work_type empty and neither blueprints nor sessions have one")
        if fail not in (None, "theory", "skill"):
            raise ValueError(f"fail is None, 'theory' or 'skill', not {fail!r}")
        first = self.count if start is None else start
        self.count = first + n
        people = [(names[k] if names else f"考生{first + k:05d}", resident_id(next(_PEOPLE))) for k in range(n)]
        session = self.session
        with clock.frozen(EXAM_AT - timedelta(days=10)) as moving:
            self._panel()
            self.sessions = {c: self._plan(c, people) for c in self.components}
            self._rounds += 1
            moving.advance(timedelta(days=9))
            for exam_session in self.sessions.values():
                open_session(session, exam_session, self.admin)
            moving.advance(timedelta(days=1))                                   # exam day, 09:00
            theory = self.sessions["theory"]
            self._sit_theory(theory, [number for _name, number in people], wrong=1 if fail == "theory" else 0)
            moving.advance(timedelta(hours=2))
            close_session(session, theory, self.admin)
            score_session(session, theory, self.admin)
            for component, scores in (("skill", SKILL_SCORES), ("review", REVIEW_SCORES)):
                if component in self.sessions:
                    self._score_panel(self.sessions[component], scores)
                    close_session(session, self.sessions[component], self.admin)
        with clock.frozen(PUBLISHED_AT):
            for exam_session in self.sessions.values():
                publish_results(session, exam_session, self.admin, notice_days=NOTICE_DAYS)
        records: list[PassRecord] = []
        with clock.frozen(CONFIRMED_AT) as moving:
            for component in self.components:
                records += confirm_results(session, self.sessions[component], self.admin)
            if fail == "theory":
                moving.advance(timedelta(hours=1))
                self._correct_a_key(theory)
        by_person = {r.id_digest: r.id for r in records}
        ids = [by_person[id_digest(number)] for _name, number in people]
        if fail == "skill":  # by hand: no product path lowers a confirmed skill score alone
            session.execute(update(ComponentScore).where(ComponentScore.session_id == self.sessions["skill"].id)
                            .values(score=45.0, passed=False))
        if not self.confirmed:  # by hand: no product path makes a pass record on unconfirmed results
            session.execute(update(ResultPublication).where(ResultPublication.session_id.in_(
                [s.id for s in self.sessions.values()])).values(confirmed_at=None, confirmed_by=None))
        session.flush()
        session.expire_all()
        return ids

    def _correct_a_key(self, theory: ExamSession) -> None:
        """The institution corrects the key of the last item after confirmation: every candidate of the
        round answered it by the old key, so each loses 25 of the 75 points they had and fails."""
        paper = self.session.get(Paper, theory.papers[0].paper_id)
        item = max(paper.items, key=lambda i: i.position)
        apply_key_correction(self.session, theory, paper.id, item.position, [_other(item.key)],
                             "标准答案有误，更正", self.admin)


def _other(key) -> str:
    """A single-choice letter that is not the key."""
    return "B" if list(key) == ["A"] else "A"


def _element_codes(version: BlueprintVersion) -> list[str]:
    return list(blueprint_of(version).element_codes)


def _approved(session, version: BlueprintVersion) -> bool:
    return len(usable_versions(session, version.blueprint_id)) >= len(_element_codes(version))


def pass_records(session, ids: list[int]) -> list[PassRecord]:
    found = {r.id: r for r in session.scalars(select(PassRecord).where(PassRecord.id.in_(ids)))}
    return [found[i] for i in ids]


def void_case(session, certificate, regulator, facts: str = "证书核查发现问题") -> str:
    """The reference of a case the regulator opens, through the supervision service, against the
    certificate's institution: a voiding rests on a case (seed Art. 43-44)."""
    from examsvc.supervision.service import open_case

    case = open_case(session, subject_kind="institution", subject_id=certificate.institution_id, source="regulator",
                     facts=facts, actor=regulator)
    session.commit()
    return case.reference
