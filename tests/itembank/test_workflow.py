import pytest

from itembank import workflow
from itembank.errors import InvalidValue
from itembank.workflow import Decision, Status


@pytest.mark.parametrize("status, expected", [("draft", "in_place"), ("returned", "new_version"),
                                              ("approved", "new_version")])
def test_edit_mode(status, expected):
    assert workflow.edit_mode(status, retired=False) == expected


@pytest.mark.parametrize("status, code", [("submitted", "workflow.under_review"), ("superseded", "workflow.superseded")])
def test_frozen_versions_cannot_be_edited(status, code):
    with pytest.raises(InvalidValue) as caught:
        workflow.edit_mode(status, retired=False)
    assert caught.value.code == code


def test_retired_item_cannot_be_edited():
    with pytest.raises(InvalidValue) as caught:
        workflow.edit_mode("draft", retired=True)
    assert caught.value.code == "workflow.retired"


def test_submit_needs_a_clean_draft():
    workflow.check_submit("draft", error_findings=0, unacknowledged_warnings=0)
    for status in ("submitted", "approved", "returned"):
        with pytest.raises(InvalidValue, match="only a draft"):
            workflow.check_submit(status, error_findings=0, unacknowledged_warnings=0)
    with pytest.raises(InvalidValue) as caught:
        workflow.check_submit("draft", error_findings=2, unacknowledged_warnings=0)
    assert caught.value.code == "workflow.spec_errors"
    with pytest.raises(InvalidValue) as caught:
        workflow.check_submit("draft", error_findings=0, unacknowledged_warnings=1)
    assert caught.value.code == "workflow.warnings_unacknowledged"


def test_four_eyes_and_single_review_per_reviewer():
    kwargs = dict(author="ann", earlier_reviewers={"bob"}, comments="")
    with pytest.raises(InvalidValue) as caught:
        workflow.check_review("submitted", reviewer="ann", decision="approve", **kwargs)
    assert caught.value.code == "workflow.four_eyes"
    with pytest.raises(InvalidValue) as caught:
        workflow.check_review("submitted", reviewer="bob", decision="approve", **kwargs)
    assert caught.value.code == "workflow.already_reviewed"
    assert workflow.check_review("submitted", reviewer="cat", decision="approve", **kwargs) is Decision.APPROVE


def test_return_needs_comments_and_only_submitted_versions_are_reviewed():
    with pytest.raises(InvalidValue) as caught:
        workflow.check_review("submitted", author="a", reviewer="b", earlier_reviewers=set(), decision="return",
                              comments="  ")
    assert caught.value.field == "comments"
    with pytest.raises(InvalidValue) as caught:
        workflow.check_review("draft", author="a", reviewer="b", earlier_reviewers=set(), decision="approve",
                              comments="")
    assert caught.value.code == "workflow.not_submitted"
    with pytest.raises(InvalidValue) as caught:
        workflow.check_review("submitted", author="a", reviewer="b", earlier_reviewers=set(), decision="maybe",
                              comments="")
    assert caught.value.field == "decision"


def test_approvals_needed():
    first = workflow.status_after_review(Decision.APPROVE, approvals_before=0, approvals_needed=2)
    assert first == workflow.ReviewOutcome(Status.SUBMITTED, 1)
    second = workflow.status_after_review(Decision.APPROVE, approvals_before=1, approvals_needed=2)
    assert second.status is Status.APPROVED
    assert workflow.status_after_review(Decision.RETURN, approvals_before=1, approvals_needed=2).status is Status.RETURNED
    with pytest.raises(ValueError):
        workflow.status_after_review(Decision.APPROVE, approvals_before=0, approvals_needed=0)
