"""Random draws anyone can re-run (Art. 37, 38).

A draw is ``random.Random(seed).sample(candidates, k)`` with ``candidates`` the ids in ascending
order and ``seed`` a string (Python seeds a string through SHA-512, the same on every machine and
run). The seed, the candidates and the result are stored in a :class:`Draw` row and audited;
:func:`rerun_draw` repeats it from the stored seed and candidates, and anyone can do the same::

    import random; random.Random("<seed>").sample([<candidates>], <k>)

A draw weighted by credit grade (Art. 39: lower credit, closer supervision) stores each candidate's
whole-number weight beside it and is :func:`weighted_sample`: ``k`` times, a ticket
``random.Random(seed).randrange(total weight left)`` is counted off along the candidates still in
the pool (ascending ids, each taking ``weight`` tickets) and the one it lands on leaves the pool.
Only integers are involved, so the result is the same on every machine; anyone can re-run it with
the ten lines of :func:`weighted_sample`. Draws recorded before weights existed (``weights`` NULL,
algorithm ``python3-random-sample``) are re-run as they were made.
"""

from __future__ import annotations

import random
import secrets
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.errors import ValidationFailed
from examsvc.institutions.jurisdiction import jurisdiction_of, require_covers
from examsvc.sessions.models import ExamSession
from examsvc.supervision.people_models import Draw
from examsvc.supervision.registry import valid_supervisors

ALGORITHM = "python3-random-sample"
WEIGHTED_ALGORITHM = "python3-random-weighted-randrange"


def _sample(seed: str, candidates: list[int], k: int) -> list[int]:
    return random.Random(seed).sample(candidates, k)


def weighted_sample(seed: str, candidates: list[int], weights: list[int], k: int) -> list[int]:
    """``k`` of ``candidates`` without replacement, each pick with probability ``weight / total left``.

    Parameters: ``candidates`` and ``weights`` of equal length (weights whole numbers ≥ 1), ``k`` ≤ len.
    Returns the picks in draw order. Sequential weighted sampling without replacement (the
    successive-sampling scheme; e.g. Efraimidis & Spirakis, "Weighted random sampling with a
    reservoir", Inf. Process. Lett. 97 (2006), whose distribution it has), done in integers.
    """
    rng = random.Random(seed)
    pool = list(zip(candidates, weights))
    picked: list[int] = []
    for _ in range(k):
        ticket = rng.randrange(sum(weight for _, weight in pool))
        for index, (candidate, weight) in enumerate(pool):
            if ticket < weight:
                picked.append(candidate)
                del pool[index]
                break
            ticket -= weight
    return picked


def draw(session: Session, *, kind: str, purpose: str, candidates: Iterable[int], k: int, seed: str | None = None,
         session_id: int | None = None, weights: Mapping[int, int] | None = None, actor: Any = None) -> Draw:
    """Draw ``k`` of ``candidates`` with ``seed`` (a new random one when not given) and record it;
    with ``weights`` (candidate id -> whole number ≥ 1) a weighted draw, the weights recorded too."""
    pool = sorted(set(int(c) for c in candidates))
    if k < 1:
        raise ValidationFailed("抽取人数至少为1", "draw at least one", field="k")
    if k > len(pool):
        raise ValidationFailed(f"可抽取的只有{len(pool)}个，不足{k}个", f"only {len(pool)} to draw from, fewer than {k}",
                               field="k")
    seed = (seed or "").strip() or secrets.token_hex(16)
    if len(seed) > 64:
        raise ValidationFailed("种子不超过64个字符", "a seed has at most 64 characters", field="seed")
    if weights is None:
        listed, algorithm, result = None, ALGORITHM, _sample(seed, pool, k)
    else:
        listed = [weights.get(c) for c in pool]
        if any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in listed):
            raise ValidationFailed("每个候选的权重须为不小于1的整数", "every candidate needs a whole-number weight ≥ 1",
                                   field="weights")
        algorithm, result = WEIGHTED_ALGORITHM, weighted_sample(seed, pool, listed, k)
    row = Draw(kind=kind, purpose=purpose, session_id=session_id, seed=seed, algorithm=algorithm, candidates=pool,
               weights=listed, k=k, result=result, drawn_by=getattr(actor, "id", None), drawn_at=clock.now())
    session.add(row)
    session.flush()
    details = {"kind": kind, "purpose": purpose, "seed": seed, "candidates": pool, "k": k, "result": row.result}
    if listed is not None:
        details.update(algorithm=algorithm, weights=listed)
    record(session, actor, "supervision.draw", row, details)
    return row


def draw_supervisors(session: Session, pool_user_ids: Iterable[int], k: int, seed: str | None = None, *,
                     purpose: str = "session", session_id: int | None = None, actor: Any = None) -> Draw:
    """Draw ``k`` supervisors from ``pool_user_ids`` (valid card holders) and record the draw."""
    return draw(session, kind="supervisors", purpose=purpose, candidates=pool_user_ids, k=k, seed=seed,
                session_id=session_id, actor=actor)


def rerun_draw(row: Draw) -> list[int]:
    """The result the stored seed, candidates (and weights) give again; equal to ``row.result`` unless
    tampered with. Old draws, recorded without weights, re-run with the plain sample they used."""
    if row.algorithm == WEIGHTED_ALGORITHM:
        if row.weights is None or len(row.weights) != len(row.candidates):
            return []  # the record is damaged: it cannot reproduce anything
        return weighted_sample(row.seed, list(row.candidates), list(row.weights), row.k)
    return _sample(row.seed, list(row.candidates), row.k)


def dispatch_to_session(session: Session, exam_session: ExamSession, k: int, seed: str | None, actor: Any) -> Draw:
    """Send ``k`` external supervisors to a session, drawn from cards valid on its date (Art. 37).

    Staff of the session are left out of the pool (a supervisor holds no other duty there, Art. 26).
    Only a regulator covering the league/city where the session is held (or, for a session without
    one, the institution's jurisdiction) dispatches to it.
    """
    require_permission(actor, Permission.REGULATE)
    from examsvc.institutions.models import Institution

    where = exam_session.league_city or jurisdiction_of(session.get(Institution, exam_session.institution_id))
    require_covers(actor, where, f"向场次 {exam_session.id} 派遣督导员",
                   f"dispatching supervisors to session {exam_session.id}")
    staff = {s.user_id for s in exam_session.staff}
    pool = [u for u in valid_supervisors(session, exam_session.exam_date) if u not in staff]
    return draw_supervisors(session, pool, k, seed, purpose="session", session_id=exam_session.id, actor=actor)


def session_draws(session: Session, session_id: int | None = None) -> list[Draw]:
    query = select(Draw).where(Draw.purpose == "session").order_by(Draw.id.desc())
    if session_id is not None:
        query = query.where(Draw.session_id == session_id)
    return list(session.scalars(query))
