"""Paper assembly in the service: can_certify gate, draft forms, reports, locking, the answer key."""

import pytest
from sqlalchemy import func, select

from examsvc.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from examsvc.institutions.models import InstitutionStatus
from examsvc.institutions.service import set_status
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun, Paper
from examsvc.papers.service import lock_paper, require_key_access, run_assembly, start_assembly
from tests.conftest import make_user


def _assemble(app, session, w, forms=2, overrides=None):
    run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=forms,
                         overrides=overrides or {"seed": 3, "time_limit": 30}, actor=w["admin"])
    session.commit()
    with app.app_context():
        assert run_pending() == 1
    session.expire_all()
    return session.get(AssemblyRun, run.id)


def test_assembly_creates_parallel_draft_forms_that_keep_every_rule(app, session, papers_world):
    run = _assemble(app, session, papers_world)
    assert run.status == "done", run.outcome
    a, b = run.papers
    assert (a.form_label, b.form_label, a.status) == ("A", "B", "draft")
    for paper in (a, b):
        report = paper.report
        assert report["items"] == 90 and report["points"] == 100
        assert all(row["ok"] for row in report["type_counts"]) and all(row["ok"] for row in report["scopes"])
        assert report["elements_covered"] >= report["elements_needed"] and report["max_per_element"] == 1
        assert abs(report["difficulty"]["mean"] - 0.65) <= 0.05 + 1e-9
        low, high = report["key_band"]
        assert all(low - 1e-9 <= share <= high + 1e-9 for share in report["key_balance"].values())
        assert len(report["information"]["information"]) == len(report["information"]["theta"])
    assert a.report["overlap_with_siblings"] == {"B": 0}
    assert not {i.item_version_id for i in a.items} & {i.item_version_id for i in b.items}
    assert [i.item_type for i in a.items][:20] == ["true_false"] * 20  # sections by type


def test_institution_outside_its_scope_cannot_assemble(session, papers_world):
    with pytest.raises(ServiceError) as caught:
        start_assembly(session, institution=papers_world["B"], blueprint_version=papers_world["version"], forms=1,
                       overrides={}, actor=papers_world["admin"])
    assert caught.value.code == "can_certify.out_of_scope"
    set_status(session, papers_world["A"], InstitutionStatus.SUSPENDED, "内人社监〔2026〕3号", "regulator")
    with pytest.raises(ServiceError) as caught:
        start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"], forms=1,
                       overrides={}, actor=papers_world["admin"])
    assert caught.value.code == "can_certify.suspended" and "内人社监〔2026〕3号" in caught.value.message
    assert session.scalar(select(func.count()).select_from(AssemblyRun)) == 0


def test_contradictory_overrides_are_refused_before_queuing(session, papers_world):
    for overrides in ({"time_limit": 0}, {"no_such_rule": 1}, {"target_difficulty": 1.5}):
        with pytest.raises(ValidationFailed):
            start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"],
                           forms=1, overrides=overrides, actor=papers_world["admin"])
    with pytest.raises(ValidationFailed) as caught:
        start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"],
                       forms=0, overrides={}, actor=papers_world["admin"])
    assert caught.value.field == "forms"
    assert session.scalar(select(func.count()).select_from(AssemblyRun)) == 0


def test_a_bank_that_falls_short_says_why_and_creates_no_paper(app, session, papers_world):
    run = _assemble(app, session, papers_world, forms=5)  # 5 disjoint forms need 450 items of 596
    assert run.status == "infeasible"
    reasons = run.outcome["reasons"]
    assert reasons and all(r["message"] and r["message_en"] for r in reasons)
    assert session.scalar(select(func.count()).select_from(Paper)) == 0


def test_locking_freezes_the_paper_and_the_key_is_for_admins_and_regulators(app, session, papers_world):
    paper = _assemble(app, session, papers_world, forms=1).papers[0]
    lock_paper(session, paper, papers_world["admin"])
    assert paper.status == "locked" and len(paper.snapshot_hash) == 64
    with pytest.raises(Conflict):
        lock_paper(session, paper, papers_world["admin"])
    require_key_access(papers_world["admin"], paper)
    require_key_access(make_user(session, "reg", "regulator"), paper)
    for username, role, institution in (("cand", "candidate", None), ("inv", "invigilator", papers_world["A"].id),
                                        ("admin_b", "institution_admin", papers_world["B"].id)):
        with pytest.raises(Forbidden):
            require_key_access(make_user(session, username, role, institution), paper)
