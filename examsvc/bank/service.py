"""Item bank rules: blueprint versions, item versions, the review workflow, enemy groups, images.

Service functions take a session and never commit; callers wrap them in ``unit_of_work``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.bank.models import (
    Asset, BlueprintVersion, EnemyGroup, EnemyMember, ExamBlueprint, Item, ItemVersion, Review, VersionStatus,
)
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from itembank import workflow
from itembank.blueprint import (
    BLUEPRINT_SUFFIXES, Blueprint, BlueprintError, BlueprintProblem, load_blueprint, parse_blueprint,
)
from itembank.errors import InvalidValue
from itembank.items import (
    FieldChange, ItemContent, ItemType, build_content, content_from_dict, content_hash, content_to_dict, diff_contents,
)
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


def item_authors(item: Item) -> set[int]:
    """Who answers for an item: the writer who created it and the authors of its reviewed versions
    (approved or superseded). An unreviewed draft of a new version makes nobody an author."""
    reviewed = {VersionStatus.APPROVED.value, VersionStatus.SUPERSEDED.value}
    return {item.created_by} | {v.author_id for v in item.versions if v.status in reviewed}


def may_retire(user: Any, item: Item) -> bool:
    """Whether ``user`` may retire ``item``: see :func:`retire_item`."""
    return item.retired_at is None and getattr(user, "id", None) in item_authors(item)


def retire_item(session: Session, item: Item, actor: User, reason: str) -> None:
    """Retire an item: no new papers use it; its versions stay for the papers that did.

    Only the item's authors (:func:`item_authors`) retire it: another writer's approved item is not
    theirs to withdraw from the bank.
    """
    if actor.id not in item_authors(item):
        raise Forbidden("只有试题的作者才能停用该试题；其他命题人员不能停用他人编写的试题",
                        "only the item's author may retire it; a writer may not retire another writer's item",
                        field="item", code="retire.not_author")
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


# --- queries and helpers for the pages and the API ------------------------------------------

#: Values of the ``status`` filter of :func:`list_items`: a status of the latest version, or retired.
ITEM_STATUS_FILTERS = tuple(s.value for s in VersionStatus) + ("retired",)
#: Values of the ``language`` filter: ``mn`` has a Mongolian variant, ``zh`` is Chinese only.
ITEM_LANGUAGE_FILTERS = ("zh", "mn")
ITEMS_PER_PAGE = 50
MAX_BLUEPRINT_BYTES = 2_000_000


@dataclass(frozen=True)
class ItemPage:
    """One page of :func:`list_items`, newest item first; ``people`` maps user ids of the latest
    versions' authors to users."""

    items: list[Item]
    total: int
    page: int
    per_page: int
    people: dict[int, User] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _people(session: Session, ids: Iterable[int]) -> dict[int, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def list_items(session: Session, *, blueprint_id: int | None = None, element: str | None = None,
               type: str | None = None, status: str | None = None, author_id: int | None = None,
               language: str | None = None, page: int = 1, per_page: int = ITEMS_PER_PAGE) -> ItemPage:
    """Items matching every filter given, newest first, one page at a time.

    ``element`` matches the element code and, since codes extend their scope's code, every element
    under a scope code (``"B-02"``). ``status`` is the status of the latest version (retired items
    are left out) or ``"retired"``. ``author_id`` matches items with any version by that user.
    ``language`` ``"mn"``: the latest version has a Mongolian variant; ``"zh"``: Chinese only.
    """
    if type and type not in {t.value for t in ItemType}:
        raise ValidationFailed(f"未知题型：{type}", f"unknown item type {type!r}", field="type")
    if status and status not in ITEM_STATUS_FILTERS:
        raise ValidationFailed(f"未知状态：{status}", f"unknown status {status!r}", field="status")
    if language and language not in ITEM_LANGUAGE_FILTERS:
        raise ValidationFailed(f"未知语言：{language}", f"language is zh or mn, not {language!r}", field="language")
    if page < 1 or per_page < 1:
        raise ValidationFailed("页码须从1开始", "pages start at 1", field="page")
    latest_number = (select(ItemVersion.item_id, func.max(ItemVersion.number).label("number"))
                     .group_by(ItemVersion.item_id).subquery())
    latest = aliased(ItemVersion)
    query = (select(Item).join(latest_number, latest_number.c.item_id == Item.id)
             .join(latest, and_(latest.item_id == Item.id, latest.number == latest_number.c.number)))
    if blueprint_id is not None:
        query = query.where(Item.blueprint_id == blueprint_id)
    if element and element.strip():
        code = element.strip()
        query = query.where(or_(Item.element_code == code, Item.element_code.startswith(f"{code}-", autoescape=True),
                                Item.element_code.startswith(f"{code}.", autoescape=True)))
    if type:
        query = query.where(Item.type == type)
    if status == "retired":
        query = query.where(Item.retired_at.is_not(None))
    elif status:
        query = query.where(latest.status == status, Item.retired_at.is_(None))
    if author_id is not None:
        authored = aliased(ItemVersion)
        query = query.where(select(authored.id).where(authored.item_id == Item.id,
                                                      authored.author_id == author_id).exists())
    if language:
        mongolian = latest.content["mn"].as_string()
        query = query.where(mongolian.is_not(None) if language == "mn" else mongolian.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(Item.id.desc()).limit(per_page).offset((page - 1) * per_page)))
    return ItemPage(items, total, page, per_page, _people(session, (i.latest.author_id for i in items)))


def list_authors(session: Session) -> list[User]:
    """Users who wrote at least one item version (the choices of the author filter)."""
    return list(session.scalars(select(User).where(User.id.in_(select(ItemVersion.author_id)))
                                .order_by(User.username)))


def list_blueprints(session: Session) -> list[ExamBlueprint]:
    return list(session.scalars(select(ExamBlueprint).order_by(
        ExamBlueprint.occupation_code, ExamBlueprint.level, ExamBlueprint.component)))


def get_version(session: Session, version_id: int) -> ItemVersion:
    version = session.get(ItemVersion, version_id)
    if version is None:
        raise NotFound(f"试题版本 {version_id} 不存在", f"item version {version_id} not found", field="version_id")
    return version


def check_content(session: Session, blueprint_id: int, fields: Mapping[str, Any],
                  config: SpecConfig | None = None) -> list[Finding]:
    """Findings of unsaved content, for live feedback while writing.

    Content too malformed to build (an empty stem, a key that is no option ...) is reported as one
    error finding on its field rather than raised, so the writer sees it beside the others.
    """
    blueprint = get_blueprint(session, blueprint_id)
    try:
        content = build_content(**fields)
    except InvalidValue as exc:
        return [Finding(exc.code, "error", exc.field, exc.message, exc.message_en)]
    except TypeError as exc:
        return [Finding("content.shape", "error", "content", f"试题字段有误：{exc}", f"unknown item field: {exc}")]
    return findings_for(content, blueprint, config)


@dataclass(frozen=True)
class ItemDetail:
    """An item for its page: the findings of its latest version, the people named in its
    history, and the enemy groups it belongs to."""

    item: Item
    findings: list[Finding]
    people: dict[int, User]
    enemy_groups: list[EnemyGroup]


def item_detail(session: Session, item_id: int, config: SpecConfig | None = None) -> ItemDetail:
    item = get_item(session, item_id)
    findings = findings_for(content_from_dict(item.latest.content), item.blueprint, config)
    ids = {v.author_id for v in item.versions} | {r.reviewer_id for v in item.versions for r in v.reviews}
    groups = list(session.scalars(select(EnemyGroup).join(EnemyMember).where(EnemyMember.item_id == item.id)
                                  .order_by(EnemyGroup.id)))
    return ItemDetail(item, findings, _people(session, ids | {item.created_by}), groups)


@dataclass(frozen=True)
class VersionDiff:
    item: Item
    old: ItemVersion | None
    new: ItemVersion
    changes: list[FieldChange]


def version_diff(session: Session, item_id: int, old: int | None = None, new: int | None = None) -> VersionDiff:
    """Field-level changes between two versions of an item (default: the latest and its parent)."""
    item = get_item(session, item_id)
    by_number = {v.number: v for v in item.versions}
    if new is not None and new not in by_number:
        raise NotFound(f"试题 {item_id} 没有第 {new} 版", f"item {item_id} has no version {new}", field="to")
    newer = by_number[new] if new is not None else item.latest
    if old is None:
        old = newer.parent_number if newer.parent_number is not None else (newer.number - 1 or None)
    if old is not None and old not in by_number:
        raise NotFound(f"试题 {item_id} 没有第 {old} 版", f"item {item_id} has no version {old}", field="from")
    older = by_number[old] if old is not None else None
    changes = [] if older is None else diff_contents(content_from_dict(older.content), content_from_dict(newer.content))
    return VersionDiff(item, older, newer, changes)


@dataclass(frozen=True)
class QueueEntry:
    """A version waiting for review, with its findings and the version it was edited from."""

    version: ItemVersion
    author: User
    findings: list[Finding]
    previous: ItemVersion | None


@dataclass(frozen=True)
class ReviewQueue:
    entries: list[QueueEntry]
    total: int


def review_queue(session: Session, reviewer: User, *, blueprint_id: int | None = None, limit: int = 50,
                 config: SpecConfig | None = None) -> ReviewQueue:
    """Submitted versions ``reviewer`` may decide on, oldest submission first.

    Four-eyes: the reviewer's own versions are left out, and so are versions they already reviewed
    (when several approvals are needed) and versions of retired items.
    """
    already = select(Review.version_id).where(Review.reviewer_id == reviewer.id)
    query = (select(ItemVersion).join(Item).where(
        ItemVersion.status == VersionStatus.SUBMITTED.value, ItemVersion.author_id != reviewer.id,
        Item.retired_at.is_(None), ItemVersion.id.not_in(already)))
    if blueprint_id is not None:
        query = query.where(Item.blueprint_id == blueprint_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    versions = list(session.scalars(query.order_by(ItemVersion.submitted_at, ItemVersion.id).limit(limit)))
    people = _people(session, (v.author_id for v in versions))
    entries = []
    for version in versions:
        previous = next((v for v in version.item.versions if v.number == version.parent_number), None)
        entries.append(QueueEntry(version, people[version.author_id],
                                  findings_for(content_from_dict(version.content), version.item.blueprint, config),
                                  previous))
    return ReviewQueue(entries, total)


def _blueprint_problem(source: str, rule: str, message: str, message_en: str) -> BlueprintError:
    return BlueprintError([BlueprintProblem(source, "", rule, message, message_en)])


def upload_blueprint(session: Session, filename: str, data: bytes, actor: Any) -> tuple[BlueprintVersion, bool]:
    """Store an uploaded blueprint file (TOML or YAML) as a new version, or recognise it unchanged.

    Raises :class:`BlueprintError` listing every problem, each naming ``filename``; YAML anchors and
    aliases are refused (they let a small file expand without bound).
    """
    name = Path(filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in BLUEPRINT_SUFFIXES:
        raise _blueprint_problem(name, "file_format", f"蓝图文件应为 TOML 或 YAML（{suffix or '无后缀'}）",
                                 f"a blueprint file is .toml, .yaml or .yml, not {suffix or 'without suffix'}")
    if len(data) > MAX_BLUEPRINT_BYTES:
        raise _blueprint_problem(name, "file_size", "蓝图文件不能超过2MB", "a blueprint file may not exceed 2 MB")
    try:
        text = data.decode("utf-8-sig")
        if suffix == ".toml":
            parsed = tomllib.loads(text)
        else:
            if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
                raise _blueprint_problem(name, "syntax", "蓝图文件不能使用 YAML 锚点和别名",
                                         "YAML anchors and aliases are not allowed in a blueprint")
            parsed = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _blueprint_problem(name, "syntax", f"文件无法解析：{exc}", f"the file does not parse: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise _blueprint_problem(name, "syntax", "蓝图文件的顶层应为键值表", "a blueprint file holds a table at the top")
    return store_blueprint(session, parse_blueprint(parsed, name), name, actor)


def list_enemy_groups(session: Session) -> list[EnemyGroup]:
    return list(session.scalars(select(EnemyGroup).order_by(EnemyGroup.id.desc())))


def enemy_pairs(session: Session, item_ids: Iterable[int]) -> set[frozenset[int]]:
    """Pairs among ``item_ids`` that already share an enemy group."""
    ids = set(item_ids)
    members: dict[int, set[int]] = {}
    for group_id, item_id in session.execute(select(EnemyMember.group_id, EnemyMember.item_id)
                                             .where(EnemyMember.item_id.in_(ids))):
        members.setdefault(group_id, set()).add(item_id)
    return {frozenset((a, b)) for group in members.values() for a in group for b in group if a < b}


def get_asset(session: Session, sha256: str) -> Asset:
    asset = session.get(Asset, sha256.lower()) if len(sha256) == 64 else None
    if asset is None:
        raise NotFound("图片不存在", "image not found", field="sha256")
    return asset


def is_candidate_photo(session: Session, sha256: str) -> bool:
    """Whether the stored image is a person's photo: a candidate's, or one carried on to a pass
    record or a certificate. The image store is shared; a photo is personal data all the same."""
    from examsvc.certificates.models import Certificate
    from examsvc.grading.models import PassRecord
    from examsvc.sessions.models import Candidate

    return any(session.scalar(select(model.id).where(model.photo_sha256 == sha256).limit(1)) is not None
               for model in (Candidate, PassRecord, Certificate))


def get_item_asset(session: Session, sha256: str) -> Asset:
    """An image of the bank (what items show), for whoever may read the bank: never a candidate's
    photo, which only the checked route ``sessions.candidate_photo`` serves. A photo answers as an
    unknown image (404), so the bank route does not even confirm that it exists."""
    asset = get_asset(session, sha256)
    if is_candidate_photo(session, asset.sha256):
        raise NotFound("图片不存在", "image not found", field="sha256")
    return asset


def export_bank(session: Session, blueprint_id: int, fmt: str, actor: User, *,
                approved_only: bool = True) -> tuple[ExamBlueprint, bytes]:
    """The bank of a blueprint as an Excel file or a QTI package; every export is audited,
    since an export carries the keys."""
    from examsvc.bank.imports import export_items  # imports builds on this module

    blueprint = get_blueprint(session, blueprint_id)
    data = export_items(session, blueprint, fmt, approved_only=approved_only)
    record(session, actor, "bank.export", blueprint, {"format": fmt, "approved_only": approved_only,
                                                     "bytes": len(data)})
    return blueprint, data
