"""A locked paper's public text and item types by position, cached per app.

Only locked papers reach candidates and a locked paper never changes, so this is immutable
content, not exam state: any worker may cache it, and a save costs no paper query.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.bank.models import ItemVersion
from examsvc.papers.models import Paper, PaperItem

_CACHE_KEY = "examsvc.delivery.paper_text"
_CACHE_SIZE = 64


def _cache() -> dict[int, dict[int, dict[str, Any]]]:
    # Kept with the app, not the module: a paper id names one paper only within one database, and
    # a process may build more than one app (tests do, each on a wiped database reusing ids).
    return current_app.extensions.setdefault(_CACHE_KEY, {})


def paper_items(session: Session, paper_id: int) -> dict[int, dict[str, Any]]:
    """The public text of a paper by position.

    Only locked papers reach candidates and a locked paper never changes, so its text is cached
    per app by paper id (immutable content, not exam state): a save costs no paper query.
    """
    cache = _cache()
    cached = cache.get(paper_id)
    if cached is not None:
        return cached
    rows = session.execute(select(PaperItem.position, PaperItem.item_type, PaperItem.points, ItemVersion.content)
                           .join(ItemVersion, ItemVersion.id == PaperItem.item_version_id)
                           .where(PaperItem.paper_id == paper_id).order_by(PaperItem.position)).all()
    items = {}
    for position, item_type, points, content in rows:
        variants = {}
        for language in ("zh", "mn"):
            variant = content.get(language)
            if variant:
                variants[language] = {"stem": variant["stem"], "options": dict(map(tuple, variant.get("options", [])))}
        items[position] = {"type": item_type, "points": points, "variants": variants}
    if session.scalar(select(Paper.snapshot_hash).where(Paper.id == paper_id)):
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[paper_id] = items
    return items


def item_types(session: Session, paper_id: int) -> dict[int, str]:
    return {position: item["type"] for position, item in paper_items(session, paper_id).items()}
