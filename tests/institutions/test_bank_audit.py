"""The bank audit (seed Art. 24, 34) on a small bank: shortfalls, findings, exposure, staleness."""

from datetime import date, timedelta

from sqlalchemy import select

from examsvc import clock
from examsvc.bank.models import Item, ItemVersion, Review
from examsvc.institutions.bank_audit import audit_institution
from examsvc.papers.models import AssemblyRun, Paper, PaperItem
from examsvc.sessions.models import ExamSession, SessionPaper
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)


def _paper(session, papers_world, versions, status, label):
    now = clock.now()
    run = AssemblyRun(institution_id=papers_world["A"].id, blueprint_version_id=papers_world["version"].id, forms=1,
                      params={}, status="done", created_by=papers_world["admin"].id, created_at=now)
    paper = Paper(run=run, institution_id=papers_world["A"].id, blueprint_version_id=papers_world["version"].id,
                  form_label=label, title=label, status=status, duration_minutes=90, total_points=len(versions),
                  created_at=now, report={})
    paper.items = [PaperItem(position=n + 1, item_version_id=v.id, item_type=v.content["type"],
                             element_code=v.content["element_code"], points=1.0, key=["A"])
                   for n, v in enumerate(versions)]
    session.add(paper)
    session.flush()
    return paper


def _session(session, papers_world, paper, days_ago):
    at = clock.now() - timedelta(days=days_ago)
    row = ExamSession(institution_id=papers_world["A"].id, blueprint_id=papers_world["version"].blueprint.id,
                      title=f"场次{days_ago}", exam_date=at.date(), window_start=at, window_end=at, duration_minutes=90,
                      languages=["zh"], status="closed", created_by=papers_world["admin"].id, created_at=at)
    row.papers = [SessionPaper(paper_id=paper.id)]
    session.add(row)
    session.flush()


def test_the_audit_counts_shortfalls_exposure_and_staleness(session, papers_world, regulator):
    blueprint = papers_world["version"].blueprint
    versions = list(session.scalars(select(ItemVersion).join(Item).order_by(Item.id)))
    first_element = versions[0].content["element_code"]
    for item in session.scalars(select(Item).where(Item.element_code == first_element)).all()[:3]:
        item.retired_at, item.retired_reason = clock.now(), "test"  # 4 approved -> 1, minimum 4
    live = [v for v in versions if v.content["element_code"] != first_element]
    exposed, other = live[:2], live[2:5]
    for label in "ABC":
        _paper(session, papers_world, exposed, "locked", label)
    _paper(session, papers_world, exposed, "draft", "D")  # a draft shows nobody anything
    used = _paper(session, papers_world, other, "used", "E")
    _session(session, papers_world, used, days_ago=10)
    _session(session, papers_world, used, days_ago=5)
    session.add(Review(version_id=live[10].id, reviewer_id=papers_world["writer"].id, decision="approve", comments="",
                       created_at=clock.now() - timedelta(days=7)))
    session.add(Review(version_id=live[11].id, reviewer_id=papers_world["writer"].id, decision="approve", comments="",
                       created_at=clock.now() - timedelta(days=30)))  # before the sessions considered
    session.commit()

    [audit] = audit_institution(session, papers_world["A"], exposure_papers=3, staleness_sessions=3,
                                flagged=lambda s, blueprint_id: [versions[0].item_id])
    assert audit.blueprint_id == blueprint.id and audit.minimum == 4
    assert [(s.element_code, s.approved) for s in audit.shortfalls] == [(first_element, 1)]
    assert audit.approved == len(versions) - 3
    assert audit.exposed_items == {exposed[0].item_id: 3, exposed[1].item_id: 3}
    assert (audit.sessions_considered, audit.consumed_items, audit.added_items) == (2, 3, 1)
    assert audit.stale and audit.flagged_items == [versions[0].item_id] and not audit.ok
    assert audit.errors >= 0 and audit.warnings >= 0

    [quiet] = audit_institution(session, papers_world["A"], exposure_papers=5, staleness_sessions=1,
                                flagged=lambda s, blueprint_id: [])
    assert quiet.exposed_items == {} and quiet.sessions_considered == 1
    [default] = audit_institution(session, papers_world["A"])  # psychometrics, when that area is there
    assert default.flagged_items in (None, [])  # no analysis run yet
    assert audit_institution(session, papers_world["B"]) == []  # nothing of B's scope has a bank
    assert date(2026, 3, 2) == clock.now().date()
