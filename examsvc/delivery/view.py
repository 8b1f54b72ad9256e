"""What the candidate's browser receives: the paper in display order, answers, time. Never keys,
explanations, sources, difficulty, element codes or anything of another candidate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.delivery.models import Attempt
from examsvc.delivery.paper_text import paper_items
from examsvc.delivery.service import remaining_seconds
from examsvc.papers.models import Paper

DISPLAY_LETTERS = "ABCDE"


def attempt_view(session: Session, attempt: Attempt) -> dict[str, Any]:
    items = paper_items(session, attempt.paper_id)
    title = session.scalar(select(Paper.title).where(Paper.id == attempt.paper_id))
    answers = {a.position: a for a in attempt.answers}
    shown = []
    for number, position in enumerate(attempt.item_order, start=1):
        item = items[position]
        language = attempt.language if attempt.language in item["variants"] else "zh"
        variant = item["variants"][language]
        order = attempt.option_orders.get(str(position))
        options = [{"value": letter, "label": DISPLAY_LETTERS[i], "text": variant["options"].get(letter, "")}
                   for i, letter in enumerate(order)] if order else []
        answer = answers.get(position)
        shown.append({"number": number, "position": position, "type": item["type"], "points": item["points"],
                      "language": language, "stem": variant["stem"], "options": options,
                      "response": list(answer.response) if answer else [], "flagged": bool(answer and answer.flagged),
                      "seq": answer.seq if answer else 0})
    return {"attempt_id": attempt.id, "status": attempt.status, "language": attempt.language,
            "remaining_seconds": remaining_seconds(attempt), "last_seq": attempt.last_seq,
            "deadline_at": attempt.deadline_at.isoformat(), "title": title, "items": shown}
