"""Item bank rules: blueprint versions, item versions, the review workflow, enemy groups, images.

Service functions take a session and never commit; callers wrap them in ``unit_of_work``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.bank.models import (
    Asset, BlueprintVersion, EnemyGroup, EnemyMember, ExamBlueprint, Item, ItemVersion, Review, VersionStatus,
)
from examsvc.errors import Conflict, NotFound, ValidationFailed
from itembank import workflow
from itembank.blueprint import Blueprint, BlueprintError, load_blueprint, parse_blueprint
from itembank.errors import InvalidValue
from itembank.items import ItemContent, build_content, content_from_dict, content_hash, content_to_dict
from itembank.spec import Finding, SpecConfig, check_item

#: Images accepted in rich text, recognised by their first bytes (never by the file name).
IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
                    b"GIF89a": "image/gif"}
MAX_IMAGE_BYTES = 2_000_000


def _invalid(exc: InvalidValue) -> ValidationFailed:
    return ValidationFailed.from_invalid_value(exc)


# --- blueprints -----------------------------------------------------------------------------

def load_blueprint_file(session: Session, path: str | Path, actor: Any) -> tuple[BlueprintVersion, bool]:
    """Load a blueprint file; a changed file becomes a new version, an unchanged one is a no-op.

    Returns the version and whether it is new. Earlier versions are never touched, so papers keep
    pointing at exactly what they were built from. Raises :class:`BlueprintError` listing every
    problem of the file.
    """
    return store_blueprint(session, load_blueprint(path), Path(path).name, actor)


def store_blueprint(session: Session, blueprint: Blueprint, source_name: str, actor: Any) -> tuple[BlueprintVersion, bool]:
    row = session.scalar(select(ExamBlueprint).where(
        ExamBlueprint.occupation_code == blueprint.occupation_code, ExamBlueprint.level == blueprint.level.value,
        ExamBlueprint.component == blueprint.component))
    if row is None:
        row = ExamBlueprint(occupation_code=blueprint.occupation_code, level=blueprint.level.value,
                            component=blueprint.component, title=blueprint.title)
        session.add(row)
        session.flush()
    elif row.versions and row.latest.content_hash == blueprint.content_hash:
        return row.latest, False
    row.title = blueprint.title
    version = BlueprintVersion(blueprint=row, number=len(row.versions) + 1, content_hash=blueprint.content_hash,
                               data=blueprint.to_dict(), source_name=source_name[:255], loaded_at=clock.now(),
                               loaded_by=getattr(actor, "username", str(actor))[:64])
    session.add(version)
    session.flush()
    record(session, actor, "blueprint.load", version, {"blueprint": row.id, "number": version.number,
                                                       "hash": version.content_hash, "source": source_name})
    return version, True


@lru_cache(maxsize=64)
def _parse_cached(content_hash_: str, data_json: str) -> Blueprint:
    import json

    return parse_blueprint(json.loads(data_json), f"blueprint {content_hash_[:12]}")


def blueprint_of(version: BlueprintVersion) -> Blueprint:
    """The validated :class:`Blueprint` of a stored version (parsed once per content)."""
    import json

    return _parse_cached(version.content_hash, json.dumps(version.data, sort_keys=True))


def get_blueprint(session: Session, blueprint_id: int) -> ExamBlueprint:
    row = session.get(ExamBlueprint, blueprint_id)
    if row is None:
        raise NotFound(f"考核蓝图 {blueprint_id} 不存在", f"blueprint {blueprint_id} not found", field="blueprint_id")
    return row


# --- items ----------------------------------------------------------------------------------

def _content(fields: Mapping[str, Any] | ItemContent) -> ItemContent:
    if isinstance(fields, ItemContent):
        return fields
    try:
        return build_content(**fields)
    except InvalidValue as exc:
        raise _invalid(exc) from None
    except TypeError as exc:  # an unknown field name
        raise ValidationFailed(f"试题字段有误：{exc}", f"unknown item field: {exc}", field="content") from None


def findings_for(content: ItemContent, blueprint: ExamBlueprint, config: SpecConfig | None = None) -> list[Finding]:
    """Specification findings of ``content`` against the latest version of its blueprint."""
    codes = set(blueprint_of(blueprint.latest).element_codes)
    return check_item(content, element_codes=codes, config=config or SpecConfig())


def create_item(session: Session, *, blueprint_id: int, content: Mapping[str, Any] | ItemContent, author: User) -> Item:
    """A new item with its first version as a draft (drafts may still have findings)."""
    blueprint = get_blueprint(session, blueprint_id)
    built = _content(content)
    now = clock.now()
    item = Item(blueprint=blueprint, element_code=built.element_code, type=built.type.value, created_by=author.id,
                created_at=now)
    session.add(item)
    version = ItemVersion(item=item, number=1, parent_number=None, author_id=author.id, created_at=now,
                          content=content_to_dict(built), content_hash=content_hash(built),
                          status=VersionStatus.DRAFT.value, acknowledged_warnings=[])
    session.add(version)
    session.flush()
    record(session, author, "item.create", item, {"version": 1, "hash": version.content_hash})
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"试题 {item_id} 不存在", f"item {item_id} not found", field="item_id")
    return item


def save_item(session: Session, item: Item, content: Mapping[str, Any] | ItemContent, author: User) -> ItemVersion:
    """Save an edit: a draft changes in place; a returned or approved version gets a new version.

    Versions after submission are immutable: they are never edited or deleted.
    """
    latest = item.latest
    try:
        mode = workflow.edit_mode(latest.status, retired=item.retired_at is not None)
    except InvalidValue as exc:
        raise _invalid(exc) from None
    built = _content(content)
    if built.type.value != item.type:
        raise ValidationFailed("不能改变试题题型", "an item's type cannot change", field="type")
    new_hash = content_hash(built)
    if new_hash == latest.content_hash:
        raise Conflict("内容没有变化", "nothing changed", field="content")
    if mode == "in_place":
        if latest.author_id != author.id:
            raise Conflict("草稿只能由其作者修改", "only the author edits a draft", field="content")
        latest.content, latest.content_hash = content_to_dict(built), new_hash
        version = latest
    else:
        version = ItemVersion(item=item, number=latest.number + 1, parent_number=latest.number, author_id=author.id,
                              created_at=clock.now(), content=content_to_dict(built), content_hash=new_hash,
                              status=VersionStatus.DRAFT.value, acknowledged_warnings=[])
        session.add(version)
    item.element_code = built.element_code
    session.flush()
    record(session, author, "item.save", item, {"version": version.number, "mode": mode, "hash": new_hash})
    return version


def submit_version(session: Session, version: ItemVersion, actor: User, acknowledged: Iterable[str] = (),
                   config: SpecConfig | None = None) -> list[Finding]:
    """Submit a draft for review: no error findings, every warning acknowledged by its rule code."""
    if version.author_id != actor.id:
        raise Conflict("只能提交自己编写的版本", "only the author submits a version", field="version")
    findings = findings_for(content_from_dict(version.content), version.item.blueprint, config)
    acknowledged_rules = set(acknowledged)
    errors = [f for f in findings if f.severity == "error"]
    warnings = {f.rule for f in findings if f.severity == "warning"}
    try:
        workflow.check_submit(version.status, error_findings=len(errors),
                              unacknowledged_warnings=len(warnings - acknowledged_rules))
    except InvalidValue as exc:
        raise _invalid(exc) from None
    version.status = VersionStatus.SUBMITTED.value
    version.submitted_at = clock.now()
    version.acknowledged_warnings = sorted(warnings)
    session.flush()
    record(session, actor, "item.submit", version.item, {"version": version.number, "warnings": sorted(warnings)})
    return findings


def review_version(session: Session, version: ItemVersion, reviewer: User, decision: str, comments: str,
                   approvals_needed: int = 1) -> ItemVersion:
    """Record a review; enough approvals approve the version (and supersede the older approved one)."""
    author = session.get(User, version.author_id)
    try:
        parsed = workflow.check_review(version.status, author=author.username, reviewer=reviewer.username,
                                       earlier_reviewers={session.get(User, r.reviewer_id).username for r in version.reviews},
                                       decision=decision, comments=comments)
    except InvalidValue as exc:
        raise _invalid(exc) from None
    approvals_before = sum(1 for r in version.reviews if r.decision == workflow.Decision.APPROVE.value)
    outcome = workflow.status_after_review(parsed, approvals_before=approvals_before, approvals_needed=approvals_needed)
    session.add(Review(version=version, reviewer_id=reviewer.id, decision=parsed.value, comments=comments.strip(),
                       created_at=clock.now()))
    if outcome.status is workflow.Status.APPROVED:
        for older in version.item.versions:
            if older is not version and older.status == VersionStatus.APPROVED.value:
                older.status = VersionStatus.SUPERSEDED.value
    version.status = outcome.status.value
    session.flush()
    record(session, reviewer, f"item.review.{parsed.value}", version.item,
           {"version": version.number, "status": version.status, "comments": comments.strip()[:500]})
    return version


def retire_item(session: Session, item: Item, actor: User, reason: str) -> None:
    """Retire an item: no new papers use it; its versions stay for the papers that did."""
    if item.retired_at is not None:
        raise Conflict("试题已停用", "the item is already retired", field="item")
    if not reason.strip():
        raise ValidationFailed("须说明停用理由", "a reason is required", field="reason")
    item.retired_at = clock.now()
    item.retired_reason = reason.strip()[:500]
    record(session, actor, "item.retire", item, {"reason": item.retired_reason})


def usable_versions(session: Session, blueprint_id: int) -> list[ItemVersion]:
    """Approved versions of unretired items of a blueprint: the only ones papers may use."""
    return list(session.scalars(
        select(ItemVersion).join(Item).where(Item.blueprint_id == blueprint_id, Item.retired_at.is_(None),
                                             ItemVersion.status == VersionStatus.APPROVED.value)
        .order_by(Item.id)))


def create_enemy_group(session: Session, item_ids: Iterable[int], name: str, reason: str, actor: User) -> EnemyGroup:
    """Items that must never appear in one paper together."""
    ids = sorted(set(item_ids))
    if len(ids) < 2:
        raise ValidationFailed("互斥组至少包含两道试题", "an enemy group needs at least two items", field="item_ids")
    found = set(session.scalars(select(Item.id).where(Item.id.in_(ids))))
    if missing := [i for i in ids if i not in found]:
        raise ValidationFailed(f"试题不存在：{missing}", f"no such items: {missing}", field="item_ids")
    group = EnemyGroup(name=name.strip()[:200] or f"enemy {ids}", reason=reason.strip()[:500], created_by=actor.id,
                       created_at=clock.now(), members=[EnemyMember(item_id=i) for i in ids])
    session.add(group)
    session.flush()
    record(session, actor, "enemy_group.create", group, {"items": ids})
    return group


def store_asset(session: Session, data: bytes, actor: User) -> str:
    """Store an image once by its SHA-256 and return the ``asset:<sha256>`` reference for rich text."""
    media_type = next((t for sig, t in IMAGE_SIGNATURES.items() if data.startswith(sig)), None)
    if media_type is None:
        raise ValidationFailed("只接受 PNG、JPEG 或 GIF 图片", "only PNG, JPEG or GIF images are accepted", field="image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed("图片不能超过2MB", "an image may not exceed 2 MB", field="image")
    digest = hashlib.sha256(data).hexdigest()
    if session.get(Asset, digest) is None:
        session.add(Asset(sha256=digest, media_type=media_type, size=len(data), data=data, created_at=clock.now()))
        session.flush()
        record(session, actor, "asset.store", ("asset", digest), {"bytes": len(data), "type": media_type})
    return f"asset:{digest}"


def load_blueprint_errors(exc: BlueprintError) -> list[dict[str, str]]:
    return [{"file": p.file, "path": p.path, "rule": p.rule, "message": p.message, "message_en": p.message_en}
            for p in exc.errors]
