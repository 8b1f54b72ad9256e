"""The review workflow of item versions (审题流程), as pure rules.

States: ``draft → submitted → approved | returned``; a returned or approved version is never
edited: the next edit is a new draft version whose parent it is. When a newer version is approved
the older approved one becomes ``superseded`` (papers that used it keep it). Retiring applies to
the item, not to a version. Four-eyes: nobody reviews a version they wrote. ``approvals_needed``
distinct approvals make a version approved; one return sends it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from itembank.errors import InvalidValue


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    SUPERSEDED = "superseded"


class Decision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"


def _refuse(code: str, zh: str, en: str) -> InvalidValue:
    return InvalidValue("status", f"workflow.{code}", zh, en)


def edit_mode(status: Status | str, *, retired: bool) -> str:
    """How an edit of a version in ``status`` is saved: ``"in_place"`` or ``"new_version"``.

    Raises
    ------
    InvalidValue
        The item is retired, or the version is under review (submitted) or superseded.
    """
    if retired:
        raise _refuse("retired", "试题已停用，不能修改", "the item is retired and cannot be edited")
    status = Status(status)
    if status is Status.DRAFT:
        return "in_place"
    if status in (Status.RETURNED, Status.APPROVED):
        return "new_version"
    if status is Status.SUBMITTED:
        raise _refuse("under_review", "该版本正在审核中，审核完成前不能修改",
                      "the version is under review; wait for the decision before editing")
    raise _refuse("superseded", "只能在最新版本上修改", "only the latest version can be edited")


def check_submit(status: Status | str, *, error_findings: int, unacknowledged_warnings: int) -> None:
    """A draft may be submitted when it has no error findings and every warning is acknowledged."""
    if Status(status) is not Status.DRAFT:
        raise _refuse("not_draft", "只有草稿可以提交审核", "only a draft can be submitted")
    if error_findings:
        raise _refuse("spec_errors", f"存在{error_findings}项命题规范错误，不能提交",
                      f"{error_findings} specification error(s) block submission")
    if unacknowledged_warnings:
        raise _refuse("warnings_unacknowledged", f"有{unacknowledged_warnings}项规范提示尚未确认",
                      f"{unacknowledged_warnings} specification warning(s) need an acknowledgement")


def check_review(status: Status | str, *, author: str, reviewer: str, earlier_reviewers: set[str],
                 decision: Decision | str, comments: str) -> Decision:
    """Whether ``reviewer`` may record ``decision`` on a version; returns the parsed decision."""
    if Status(status) is not Status.SUBMITTED:
        raise _refuse("not_submitted", "只能审核已提交的版本", "only a submitted version can be reviewed")
    if reviewer == author:
        raise _refuse("four_eyes", "审题人员不能审核自己编写的试题版本", "a reviewer never reviews their own version")
    if reviewer in earlier_reviewers:
        raise _refuse("already_reviewed", "您已审核过该版本", "you have already reviewed this version")
    try:
        parsed = Decision(decision)
    except ValueError:
        raise InvalidValue("decision", "workflow.decision", "审核结论须为通过或退回",
                           "decision must be approve or return") from None
    if parsed is Decision.RETURN and not comments.strip():
        raise InvalidValue("comments", "workflow.return_needs_comments", "退回时须填写修改意见",
                           "returning a version needs comments")
    return parsed


@dataclass(frozen=True)
class ReviewOutcome:
    status: Status
    approvals: int


def status_after_review(decision: Decision, *, approvals_before: int, approvals_needed: int) -> ReviewOutcome:
    """The version's status once this review is counted."""
    if approvals_needed < 1:
        raise ValueError("approvals_needed must be at least 1")
    if decision is Decision.RETURN:
        return ReviewOutcome(Status.RETURNED, approvals_before)
    approvals = approvals_before + 1
    return ReviewOutcome(Status.APPROVED if approvals >= approvals_needed else Status.SUBMITTED, approvals)
