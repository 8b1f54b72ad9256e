"""The demo's past: two certifications carried through the product up to the last confirmation.

A new user should reach a certificate on day one, but confirmation waits for the notice period
(公示). So the demo records the weeks before today as they would have happened: every step goes
through the same service functions the pages call (papers drawn and locked, sessions planned and
staffed, candidates signing in and answering, examiners scoring on their rubric, results
published), each performed at its moment of the past, oldest first, so that the audit trail reads
in order. The clock is only positioned while the history is written; the served app runs on the
real clock. Nothing is inserted as rows.

Two tracks, each left one step before certificates:

* 中式烹调师 四级 (institution A, 呼和浩特市): theory confirmed; the skill session's notice period
  is over and it waits for the institution to confirm it and issue the certificates.
* 车工 二级/技师 (institution B, 包头市): theory and skill confirmed; the 综合评审 session (file review
  of the uploaded 技术总结 and the defence) waits for its confirmation the same way.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from examsvc import clock

#: How far back the demo's history starts, and the days of its steps counted back from today.
HISTORY_DAYS = 30
PLANNED, MATERIALS, THEORY_DAY, SKILL_DAY, REVIEW_DAY, PUBLISHED, CONFIRMED = 21, 18, 16, 15, 14, 12, 5


@dataclass
class Track:
    """One occupation and level carried from papers to the last confirmation."""

    key: str
    occupation: str
    occupation_name: str
    level: str
    institution: str                      # demo institution key, "A" or "B"
    league_city: str
    employer: str
    candidates: list[tuple[str, str, float]]  # name, first 17 ID digits, ability (share of points)
    sessions: dict[str, Any] = field(default_factory=dict)
    candidates_by_component: dict[str, list[Any]] = field(default_factory=dict)


TRACKS = (
    Track("cook", "4-03-02-01", "中式烹调师", "4", "A", "呼和浩特市", "示例饭店",
          [("乌云", "15010219950412011", 0.86), ("陈晓东", "15010419930718023", 0.78),
           ("高娜仁", "15012119970102034", 0.72), ("刘建华", "15010319900925045", 0.81),
           ("苏日娜", "15022219960311056", 0.55)]),
    Track("lathe", "6-18-01-01", "车工", "2", "B", "包头市", "示例机械厂",
          [("王铁柱", "15020319830615017", 0.84), ("那顺", "15020419850208029", 0.77),
           ("赵永强", "15020719800817038", 0.69)]),
)


@contextmanager
def at(day: date, hour: int, minute: int = 0) -> Iterator[Any]:
    """Position the clock at ``hour:minute`` local time on ``day`` for the block (history only)."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    zone = ZoneInfo(current_app.config["TIMEZONE"])
    with clock.frozen(datetime.combine(day, time(hour, minute), zone)) as frozen:
        yield frozen


def history_start(today: date) -> date:
    return today - timedelta(days=HISTORY_DAYS)


def load_history(session, institutions: dict[str, Any], users: dict[str, Any], today: date) -> list[str]:
    """Write both tracks' past (see the module docstring); returns the lines the demo prints."""
    for track in TRACKS:
        with at(today - timedelta(days=PLANNED), 10):
            _plan(session, track, institutions[track.institution], users, today)
    lathe = TRACKS[1]
    with at(today - timedelta(days=MATERIALS), 15):
        _upload_materials(session, lathe, users)
    for track in TRACKS:
        with at(today - timedelta(days=THEORY_DAY), 8, 40) as moment:
            _sit_theory(session, track, users, moment)
        with at(today - timedelta(days=SKILL_DAY), 8, 40) as moment:
            _score_panel(session, track, "skill", users, moment)
    with at(today - timedelta(days=REVIEW_DAY), 8, 40) as moment:
        _score_panel(session, lathe, "review", users, moment)
    for track in TRACKS:
        with at(today - timedelta(days=PUBLISHED), 9) as moment:
            for component, exam_session in track.sessions.items():
                from examsvc.grading.results import publish_results

                publish_results(session, exam_session, users[_admin(track)], notice_days=5)
                moment.advance(timedelta(minutes=5))
    last = {"cook": "skill", "lathe": "review"}
    with at(today - timedelta(days=CONFIRMED), 9):
        from examsvc.grading.results import confirm_results

        for track in TRACKS:
            for component, exam_session in track.sessions.items():
                if component != last[track.key]:
                    confirm_results(session, exam_session, users[_admin(track)])
    return _notes(track_lines=[(t, last[t.key]) for t in TRACKS])


def _admin(track: Track) -> str:
    return "inst_admin" if track.institution == "A" else "inst_admin_b"


def _staff(track: Track) -> tuple[list[str], list[str]]:
    """(invigilators, examiners) of the track's institution."""
    if track.institution == "A":
        return ["invigilator", "inv2"], ["examiner", "examiner2", "examiner3"]
    return ["invigilator_b", "inv2_b"], ["examiner_b1", "examiner_b2", "examiner_b3"]


def _blueprint(session, track: Track, component: str):
    from examsvc.bank.models import ExamBlueprint

    return session.scalar(select(ExamBlueprint).where(ExamBlueprint.occupation_code == track.occupation,
                                                      ExamBlueprint.level == track.level,
                                                      ExamBlueprint.component == component))


def _components(track: Track) -> list[str]:
    from examsvc.grading.results import required_components

    return [c for c in ("theory", "skill", "review") if c in required_components(track.level)]


def _plan(session, track: Track, institution, users: dict[str, Any], today: date) -> None:
    """Draw and lock a paper per component, plan its session on its day, staff it, register everyone."""
    from examsvc.bank.models import BlueprintVersion
    from examsvc.papers.service import lock_paper, run_assembly, start_assembly
    from examsvc.sessions.service import assign_staff, plan_session, register_candidate
    from itembank.identifiers import resident_id_check_character

    admin = users[_admin(track)]
    invigilators, examiners = _staff(track)
    days = {"theory": THEORY_DAY, "skill": SKILL_DAY, "review": REVIEW_DAY}
    names = {"theory": "理论知识", "skill": "操作技能", "review": "综合评审"}
    for component in _components(track):
        blueprint = _blueprint(session, track, component)
        version = session.get(BlueprintVersion, blueprint.latest.id)
        overrides = {"seed": 7, "time_limit": 60} if component == "theory" else {"seed": 7}
        run = start_assembly(session, institution=institution, blueprint_version=version, forms=1,
                             overrides=overrides, actor=admin)
        run_assembly(session, run)
        if run.status != "done":
            raise RuntimeError(f"demo history: the {track.occupation} L{track.level} {component} paper could not "
                               f"be assembled: {run.outcome}")
        paper = lock_paper(session, run.papers[0], admin)
        day = today - timedelta(days=days[component])
        zone = clock.local_time(clock.now()).tzinfo
        start = datetime.combine(day, time(8, 30), zone)
        rooms = [("第一考场", 30)] if component == "theory" else [("实操车间一" if track.key == "lathe" else "烹饪实训室",
                                                                  len(track.candidates))]
        exam_session = plan_session(
            session, institution=institution, blueprint=blueprint, exam_date=day,
            title=f"【示例】{day:%Y年%m月%d日} {track.occupation_name}{_level_name(track.level)} {names[component]}",
            window_start=start, window_end=start + timedelta(hours=1), rooms=rooms, paper_ids=[paper.id],
            league_city=track.league_city, actor=admin)
        room = exam_session.rooms[0].id
        for name in invigilators:
            assign_staff(session, exam_session, users[name], "invigilator", room, admin)
        if component != "theory":
            for name in examiners:
                assign_staff(session, exam_session, users[name], "examiner", None, admin)
        track.sessions[component] = exam_session
        track.candidates_by_component[component] = [
            register_candidate(session, exam_session, name=name, id_type="resident_id",
                               id_number=first17 + resident_id_check_character(first17), employer=track.employer,
                               actor=admin)
            for name, first17, _ in track.candidates]


def _level_name(level: str) -> str:
    from itembank.levels import parse_level

    return parse_level(level).name_zh


def _upload_materials(session, track: Track, users: dict[str, Any]) -> None:
    """Each candidate's 技术总结 for the 综合评审, uploaded by the candidate before the review."""
    from examsvc.sessions.materials import upload_material

    exam_session = track.sessions["review"]
    for candidate in track.candidates_by_component["review"]:
        upload_material(session, exam_session, candidate, "summary", f"技术总结-{candidate.name}.pdf",
                        _summary_pdf(candidate.name, track), actor=candidate)


def _summary_pdf(name: str, track: Track) -> bytes:
    """A one-page 技术总结 in the CJK font the certificates use."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from examsvc.pdf import cjk_font_name

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    font = cjk_font_name()
    canvas.setFont(font, 16)
    canvas.drawString(72, 770, f"技术总结（示例）— {name}")
    canvas.setFont(font, 11)
    lines = [f"申报职业（工种）：{track.occupation_name}  等级：{_level_name(track.level)}",
             "一、本人从事车削加工工作的经历与主要业绩。",
             "二、典型工件（偏心轴、多线螺纹、薄壁套）的工艺改进与质量攻关。",
             "三、培训指导徒弟与技术革新成果。",
             "本文件为演示数据，仅用于体验综合评审流程。"]
    for row, line in enumerate(lines):
        canvas.drawString(72, 730 - 22 * row, line)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _sit_theory(session, track: Track, users: dict[str, Any], moment) -> None:
    """Everyone signs in, answers by ability and hands in; the invigilator ends the session; scoring."""
    from examsvc.delivery.service import check_in, save_answer, sign_in, start_or_resume, submit
    from examsvc.grading.service import score_session
    from examsvc.papers.models import PaperItem
    from examsvc.sessions.console import close_session
    from examsvc.sessions.service import open_session

    exam_session = track.sessions["theory"]
    admin, invigilator = users[_admin(track)], users[_staff(track)[0][0]]
    open_session(session, exam_session, admin)
    rng = random.Random(f"{track.key}-theory")
    moment.advance(timedelta(minutes=25))
    for candidate, (_, first17, ability) in zip(track.candidates_by_component["theory"], track.candidates):
        check_in(session, candidate, invigilator)
        signed = sign_in(session, ticket_number=candidate.ticket_number,
                         id_number=first17 + _check(first17))
        attempt = start_or_resume(session, signed)
        items = session.execute(select(PaperItem.position, PaperItem.item_type, PaperItem.key)
                                .where(PaperItem.paper_id == attempt.paper_id)).all()
        for seq, (position, item_type, key) in enumerate(items, start=1):
            letters = attempt.option_orders.get(str(position)) or []
            response = list(key) if rng.random() < ability else _wrong(item_type, list(key), letters, rng)
            save_answer(session, candidate.id, position=position, response=response, flagged=False, seq=seq)
        moment.advance(timedelta(minutes=3))
        submit(session, attempt)
    moment.advance(timedelta(hours=2))
    close_session(session, exam_session, invigilator)
    score_session(session, exam_session, admin)


def _check(first17: str) -> str:
    from itembank.identifiers import resident_id_check_character

    return resident_id_check_character(first17)


def _wrong(item_type: str, key: list[str], letters: list[str], rng: random.Random) -> list[str]:
    if item_type == "true_false":
        return ["F"] if key == ["T"] else ["T"]
    others = [letter for letter in letters if letter not in key]
    if item_type == "single_choice":
        return [rng.choice(others)]
    return sorted(key[:1] + others[:1])  # a multiple-choice answer with one right and one wrong option


def _score_panel(session, track: Track, component: str, users: dict[str, Any], moment) -> None:
    """Check-in at the venue, then three examiners score every task on the rubric; the session ends."""
    from examsvc.delivery.service import check_in
    from examsvc.grading.panel import panel_tasks, settle, submit_scores
    from examsvc.sessions.console import close_session
    from examsvc.sessions.service import open_session

    exam_session = track.sessions[component]
    admin, invigilator = users[_admin(track)], users[_staff(track)[0][0]]
    examiners = [users[name] for name in _staff(track)[1]]
    open_session(session, exam_session, admin)
    moment.advance(timedelta(minutes=20))
    tasks = panel_tasks(session, exam_session)
    rng = random.Random(f"{track.key}-{component}")
    candidates = track.candidates_by_component[component]
    for candidate in candidates:
        check_in(session, candidate, invigilator)
    moment.advance(timedelta(hours=4))
    for candidate, (_, _, ability) in zip(candidates, track.candidates):
        share = min(0.98, ability + rng.uniform(-0.04, 0.04))
        for task in tasks.values():
            for examiner in examiners:
                submit_scores(session, candidate, task.code, examiner, _rubric(task, share, rng))
                moment.advance(timedelta(minutes=1))
        settle(session, candidate)
    close_session(session, exam_session, invigilator)


def _rubric(task: Any, share: float, rng: random.Random) -> dict[str, float]:
    """Points per rubric line near ``share`` of each line's points, in half points."""
    scores = {}
    for criterion in task.rubric:
        value = criterion.points * min(1.0, max(0.0, share + rng.uniform(-0.05, 0.05)))
        scores[criterion.code] = min(criterion.points, round(value * 2) / 2)
    return scores


def _notes(track_lines: list[tuple[Track, str]]) -> list[str]:
    lines = ["", "Certification history (held over the last weeks, results published, notice periods over):"]
    for track, waiting in track_lines:
        admin = _admin(track)
        ids = ", ".join(f"{c} #{s.id}" for c, s in track.sessions.items())
        target = track.sessions[waiting]
        lines += [f"  {track.occupation_name} {_level_name(track.level)} ({track.occupation}): sessions {ids}.",
                  f"    The {waiting} session #{target.id} waits for confirmation. As `{admin}`: 成绩 → 确认成绩, then "
                  f"证书 → 颁发证书; or `examsvc results confirm --session {target.id} --user {admin}` and "
                  f"`examsvc certificates issue --session {target.id} --user {admin}`."]
    lines.append("  Verify an issued certificate at /verify (by number, or through the QR code on its PDF).")
    return lines
