"""Item bank rules at the service layer: versions, the review workflow, blueprints, enemies, images."""

import pytest
from sqlalchemy import func, select

from examsvc.audit.models import AuditEvent
from examsvc.bank.models import BlueprintVersion, ItemVersion
from examsvc.bank.service import (
    create_enemy_group, create_item, load_blueprint_file, retire_item, review_version, save_item, store_asset,
    submit_version, usable_versions,
)
from examsvc.errors import Conflict, NotFound, ValidationFailed
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


# --- queries for the pages and the API ------------------------------------------------------

def _mongolian(code):
    fields = single_choice(code, stem="下列原料中，属于蔬菜的是（　）。")
    fields["mn"] = {"stem": "ᠨᠤᠭᠤᠭ᠎ᠠ ᠶᠠᠭᠤ ᠪᠤᠢ ︖",
                    "options": [("A", "ᠮᠢᠬ᠎ᠠ"), ("B", "ᠨᠤᠭᠤᠭ᠎ᠠ"), ("C", "ᠵᠢᠭᠠᠰᠤ"), ("D", "ᠥᠨᠳᠡᠭᠡ")],
                    "explanation": "ᠨᠤᠭᠤᠭ᠎ᠠ"}
    return fields


def test_list_items_filters_by_every_field_and_pages(session, bank):
    from examsvc.bank.service import list_items

    blueprint_id, codes = bank["blueprint"].id, bank["codes"]
    approved = _approved_item(session, bank)                       # codes[0], writer, approved
    draft = create_item(session, blueprint_id=blueprint_id, content=_mongolian(codes[1]), author=bank["writer2"])
    tf = create_item(session, blueprint_id=blueprint_id, author=bank["writer"], content={
        "type": "true_false", "element_code": codes[-1], "key": "对", "zh": {"stem": "白菜属于植物性原料。"}})
    retired = _approved_item(session, bank, stem="下列原料中，属于叶菜类的是（　）。")
    retire_item(session, retired, bank["writer"], "教材更新")
    session.commit()

    def ids(**filters):
        return [i.id for i in list_items(session, **filters).items]

    assert ids() == [retired.id, tf.id, draft.id, approved.id]
    assert ids(blueprint_id=blueprint_id + 1000) == []
    assert ids(element=codes[1]) == [draft.id]
    scope = codes[0].rsplit("-", 1)[0]                             # "A-01-01": every element under it
    assert set(ids(element=scope)) >= {approved.id, retired.id} and tf.id not in ids(element=scope)
    assert ids(element=codes[0][:-1]) == []                        # a code prefix that is no scope code
    assert ids(type="true_false") == [tf.id]
    assert ids(status="approved") == [approved.id]                # retired items are left out
    assert ids(status="draft") == [tf.id, draft.id]
    assert ids(status="retired") == [retired.id]
    assert ids(author_id=bank["writer2"].id) == [draft.id]
    assert ids(language="mn") == [draft.id]
    assert draft.id not in ids(language="zh") and approved.id in ids(language="zh")
    assert ids(type="true_false", author_id=bank["writer2"].id) == []
    first = list_items(session, per_page=3)
    second = list_items(session, per_page=3, page=2)
    assert (first.total, first.pages, len(first.items), [i.id for i in second.items]) == (4, 2, 3, [approved.id])
    assert first.people[bank["writer"].id].username == "writer1"
    for bad in ({"type": "essay"}, {"status": "lost"}, {"language": "fr"}, {"page": 0}):
        with pytest.raises(ValidationFailed) as caught:
            list_items(session, **bad)
        assert caught.value.field == next(iter(bad))


def test_review_queue_is_four_eyes_and_shows_findings(session, bank):
    from examsvc.bank.service import review_queue

    mine = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=bank["reviewer"])
    submit_version(session, mine.latest, bank["reviewer"])
    warned = create_item(session, blueprint_id=bank["blueprint"].id, author=bank["writer"],
                         content=single_choice(bank["codes"][1], stem="下列原料中，不属于动物性原料的是（　）。"))
    submit_version(session, warned.latest, bank["writer"], acknowledged=_warning_rules(session, warned, bank))
    draft = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][2]),
                        author=bank["writer"])
    session.commit()
    queue = review_queue(session, bank["reviewer"])
    assert [e.version.item_id for e in queue.entries] == [warned.id] and queue.total == 1
    assert "stem-negative-unemphasised" in {f.rule for f in queue.entries[0].findings}
    assert queue.entries[0].author.username == "writer1" and queue.entries[0].previous is None
    other = review_queue(session, bank["reviewer2"])
    assert [e.version.item_id for e in other.entries] == [mine.id, warned.id]  # oldest submission first
    review_version(session, warned.latest, bank["reviewer2"], "approve", "", approvals_needed=2)
    assert [e.version.item_id for e in review_queue(session, bank["reviewer2"]).entries] == [mine.id]
    assert [e.version.item_id for e in review_queue(session, bank["reviewer"]).entries] == [warned.id]
    assert draft.id not in {e.version.item_id for e in review_queue(session, bank["reviewer2"]).entries}


def test_version_diff_and_item_detail(session, bank):
    from examsvc.bank.service import item_detail, version_diff

    item = _approved_item(session, bank)
    save_item(session, item, single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。"), bank["writer2"])
    diff = version_diff(session, item.id)
    assert (diff.old.number, diff.new.number) == (1, 2)
    assert [c.field for c in diff.changes] == ["zh.stem"] and "蔬菜" in diff.changes[0].new
    assert version_diff(session, item.id, 1, 1).changes == []
    assert version_diff(session, item.id, new=1).old is None
    with pytest.raises(NotFound):
        version_diff(session, item.id, 1, 9)
    detail = item_detail(session, item.id)
    assert {u.username for u in detail.people.values()} == {"writer1", "writer2", "reviewer1"}
    assert detail.item is item and detail.enemy_groups == []


def test_check_content_reports_structural_problems_as_findings(session, bank):
    from examsvc.bank.service import check_content

    fine = check_content(session, bank["blueprint"].id, single_choice(bank["codes"][0]))
    assert [f for f in fine if f.severity == "error"] == []
    broken = check_content(session, bank["blueprint"].id, {**single_choice(bank["codes"][0]), "key": "E"})
    assert [(f.severity, f.field) for f in broken] == [("error", "key")]
    unknown = check_content(session, bank["blueprint"].id, single_choice("Z-99-999"))
    assert "element-unknown" in {f.rule for f in unknown}
    with pytest.raises(NotFound):
        check_content(session, 999_999, single_choice(bank["codes"][0]))


def test_upload_blueprint_parses_toml_and_yaml_and_names_every_problem(session, bank):
    import yaml

    from examsvc.bank.service import list_blueprints, upload_blueprint
    from itembank.blueprint import read_blueprint_data

    text = THEORY_L4.read_text(encoding="utf-8")
    version, created = upload_blueprint(session, "cook.toml", text.encode(), bank["writer"])
    assert not created and version.id == bank["version"].id
    as_yaml = yaml.safe_dump(read_blueprint_data(THEORY_L4), allow_unicode=True).replace("duration_minutes: 90",
                                                                                         "duration_minutes: 100")
    version, created = upload_blueprint(session, "cook.yaml", as_yaml.encode(), bank["writer"])
    assert created and version.number == 2 and version.source_name == "cook.yaml"
    broken = text.replace('occupation_code = "4-03-02-01"', 'occupation_code = "1-01-01-01"')
    with pytest.raises(BlueprintError) as caught:
        upload_blueprint(session, "../broken.toml", broken.encode(), bank["writer"])
    assert "occupation_code" in caught.value.rules and {p.file for p in caught.value.errors} == {"broken.toml"}
    for name, data, rule in [("b.txt", b"x", "file_format"), ("b.toml", b"level = [", "syntax"),
                             ("b.yaml", b"a: &x [1]\nb: *x\n", "syntax"), ("b.yaml", b"- 1\n", "syntax"),
                             ("b.toml", b"\xff\xfe", "syntax")]:
        with pytest.raises(BlueprintError) as caught:
            upload_blueprint(session, name, data, bank["writer"])
        assert caught.value.rules == {rule}, name
    assert [b.id for b in list_blueprints(session)] == [bank["blueprint"].id]


def test_enemy_pairs_assets_and_audited_export(session, bank):
    from examsvc.bank.service import enemy_pairs, export_bank, get_asset, list_enemy_groups

    a = _approved_item(session, bank)
    b = _approved_item(session, bank, stem="下列原料中，属于叶菜类的是（　）。")
    c = _approved_item(session, bank, stem="下列原料中，属于根菜类的是（　）。")
    group = create_enemy_group(session, [a.id, b.id], "白菜", "", bank["writer"])
    assert enemy_pairs(session, [a.id, b.id, c.id]) == {frozenset((a.id, b.id))}
    assert list_enemy_groups(session) == [group]
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 16
    digest = store_asset(session, png, bank["writer"]).removeprefix("asset:")
    assert get_asset(session, digest).data == png and get_asset(session, digest).media_type == "image/png"
    for bad in ("0" * 64, "nothex"):
        with pytest.raises(NotFound):
            get_asset(session, bad)
    blueprint, data = export_bank(session, bank["blueprint"].id, "excel", bank["reviewer"])
    assert blueprint is bank["blueprint"] and data.startswith(b"PK")
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "bank.export")) == 1
