"""Item bank rules at the service layer: versions, the review workflow, blueprints, enemies, images."""

import pytest
from sqlalchemy import func, select

from examsvc.audit.models import AuditEvent
from examsvc.bank.models import BlueprintVersion, ItemVersion
from examsvc.bank.service import (
    create_enemy_group, create_item, load_blueprint_file, retire_item, review_version, save_item, store_asset,
    submit_version, usable_versions,
)
from examsvc.errors import Conflict, ValidationFailed
from itembank.blueprint import BlueprintError
from tests.bank.conftest import THEORY_L4, single_choice


def _approved_item(session, bank, stem="下列原料中，属于植物性原料的是（　）。"):
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0], stem),
                       author=bank["writer"])
    submit_version(session, item.latest, bank["writer"])
    review_version(session, item.latest, bank["reviewer"], "approve", "")
    return item


def test_new_item_is_a_draft_that_its_author_edits_in_place(session, bank):
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=bank["writer"])
    first_hash = item.latest.content_hash
    version = save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。"),
                        bank["writer"])
    assert version.number == 1 and len(item.versions) == 1 and version.content_hash != first_hash
    with pytest.raises(Conflict):  # someone else's draft
        save_item(session, item, single_choice(bank["codes"][1]), bank["writer2"])


def test_every_change_after_submission_is_a_new_immutable_version(session, bank):
    item = _approved_item(session, bank)
    v1 = item.latest
    assert v1.status == "approved"
    v2 = save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜类原料的是（　）。"),
                   bank["writer2"])
    assert (v2.number, v2.parent_number, v2.status, v2.author_id) == (2, 1, "draft", bank["writer2"].id)
    assert v1.status == "approved" and v1.content["zh"]["stem"].startswith("下列原料中，属于植物性")
    assert usable_versions(session, bank["blueprint"].id) == [v1]  # v1 still serves papers
    submit_version(session, v2, bank["writer2"])
    with pytest.raises(ValidationFailed) as caught:  # under review: frozen
        save_item(session, item, single_choice(bank["codes"][0], stem="哪一种是蔬菜（　）？"), bank["writer2"])
    assert caught.value.code == "workflow.under_review"
    review_version(session, v2, bank["reviewer"], "approve", "")
    assert (v1.status, v2.status) == ("superseded", "approved")
    assert usable_versions(session, bank["blueprint"].id) == [v2]


def test_identical_save_is_refused(session, bank):
    item = _approved_item(session, bank)
    with pytest.raises(Conflict):
        save_item(session, item, single_choice(bank["codes"][0]), bank["writer"])


def test_four_eyes_and_returns_with_comments(session, bank):
    writer_reviewer = bank["reviewer"]
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=writer_reviewer)
    submit_version(session, item.latest, writer_reviewer)
    with pytest.raises(ValidationFailed) as caught:
        review_version(session, item.latest, writer_reviewer, "approve", "")
    assert caught.value.code == "workflow.four_eyes"
    with pytest.raises(ValidationFailed) as caught:
        review_version(session, item.latest, bank["reviewer2"], "return", "")
    assert caught.value.field == "comments"
    review_version(session, item.latest, bank["reviewer2"], "return", "干扰项C不合理")
    assert item.latest.status == "returned"
    assert item.latest.reviews[0].comments == "干扰项C不合理"
    v2 = save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。"),
                   writer_reviewer)
    assert v2.number == 2 and v2.parent_number == 1


def test_approvals_needed_is_configurable(session, bank):
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=bank["writer"])
    submit_version(session, item.latest, bank["writer"])
    review_version(session, item.latest, bank["reviewer"], "approve", "", approvals_needed=2)
    assert item.latest.status == "submitted"
    review_version(session, item.latest, bank["reviewer2"], "approve", "", approvals_needed=2)
    assert item.latest.status == "approved"


def test_submission_blocked_by_errors_and_unacknowledged_warnings(session, bank):
    bad = single_choice("Z-99-999")  # not an element of the blueprint: an error finding
    item = create_item(session, blueprint_id=bank["blueprint"].id, content=bad, author=bank["writer"])
    with pytest.raises(ValidationFailed) as caught:
        submit_version(session, item.latest, bank["writer"])
    assert caught.value.code == "workflow.spec_errors"
    warned = single_choice(bank["codes"][0], stem="下列原料中，不属于动物性原料的是（　）。")  # negative word not emphasised
    item2 = create_item(session, blueprint_id=bank["blueprint"].id, content=warned, author=bank["writer"])
    with pytest.raises(ValidationFailed) as caught:
        submit_version(session, item2.latest, bank["writer"])
    assert caught.value.code == "workflow.warnings_unacknowledged"
    findings = submit_version(session, item2.latest, bank["writer"],
                              acknowledged={"stem.negative_not_emphasised", *_warning_rules(session, item2, bank)})
    assert item2.latest.status == "submitted" and findings


def _warning_rules(session, item, bank):
    from examsvc.bank.service import findings_for
    from itembank.items import content_from_dict

    return {f.rule for f in findings_for(content_from_dict(item.latest.content), bank["blueprint"])
            if f.severity == "warning"}


def test_retired_items_are_not_usable_but_keep_their_versions(session, bank):
    item = _approved_item(session, bank)
    with pytest.raises(ValidationFailed):
        retire_item(session, item, bank["writer"], " ")
    retire_item(session, item, bank["writer"], "教材更新")
    assert usable_versions(session, bank["blueprint"].id) == []
    assert session.scalar(select(func.count()).select_from(ItemVersion)) == 1
    with pytest.raises(ValidationFailed) as caught:
        save_item(session, item, single_choice(bank["codes"][1]), bank["writer"])
    assert caught.value.code == "workflow.retired"


def test_blueprint_reload_is_a_noop_and_a_revision_is_a_new_version(session, bank, tmp_path):
    version, created = load_blueprint_file(session, THEORY_L4, "test")
    assert not created and version.id == bank["version"].id
    revised = tmp_path / THEORY_L4.name
    revised.write_text(THEORY_L4.read_text(encoding="utf-8").replace("duration_minutes = 90", "duration_minutes = 120"),
                       encoding="utf-8")
    new, created = load_blueprint_file(session, revised, "test")
    assert created and new.number == 2 and new.data["paper"]["duration_minutes"] == 120
    assert bank["version"].data["paper"]["duration_minutes"] == 90  # what earlier papers reference is unchanged
    assert session.scalar(select(func.count()).select_from(BlueprintVersion)) == 2


def test_broken_blueprint_file_names_every_problem_and_stores_nothing(session, bank, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(THEORY_L4.read_text(encoding="utf-8").replace('occupation_code = "4-03-02-01"',
                                                                     'occupation_code = "1-01-01-01"'), encoding="utf-8")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint_file(session, broken, "test")
    assert all(problem.file == str(broken) for problem in caught.value.errors)
    assert "occupation_code" in caught.value.rules
    assert session.scalar(select(func.count()).select_from(BlueprintVersion)) == 1


def test_enemy_groups_and_images(session, bank):
    a = _approved_item(session, bank)
    b = _approved_item(session, bank, stem="下列原料中，属于叶菜类的是（　）。")
    group = create_enemy_group(session, [a.id, b.id], "白菜", "互相提示答案", bank["writer"])
    assert sorted(m.item_id for m in group.members) == sorted([a.id, b.id])
    with pytest.raises(ValidationFailed):
        create_enemy_group(session, [a.id], "one", "", bank["writer"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    ref = store_asset(session, png, bank["writer"])
    assert ref.startswith("asset:") and store_asset(session, png, bank["writer"]) == ref
    with pytest.raises(ValidationFailed) as caught:
        store_asset(session, b"<svg onload=alert(1)>", bank["writer"])
    assert caught.value.field == "image"


def test_workflow_transitions_are_audited(session, bank):
    _approved_item(session, bank)
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"blueprint.load", "item.create", "item.submit", "item.review.approve"} <= actions
