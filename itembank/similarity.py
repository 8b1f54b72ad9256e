"""Text similarity of items, for near-duplicate (enemy item, 互斥题) detection.

Similarity is the Jaccard coefficient of character k-gram (shingle) sets,

.. math:: J(A, B) = |A \\cap B| / |A \\cup B|,

computed on the plain text of the Chinese stem and options. Chinese has no spaces between words, so
character shingles stand in for words (k = 3 by default). Each text part (stem, each option) is
shingled on its own, so swapping options does not hide a duplicate; a part shorter than k counts as
one shingle.

Finding every pair with :math:`J \\ge t` uses the prefix-filtering similarity join of Chaudhuri,
Ganti & Kaushik (ICDE 2006) as refined in "All-Pairs" (Bayardo, Ma & Srikant, WWW 2007): shingles
are ordered by rising document frequency, so each set's *prefix* holds its rarest shingles. If
:math:`J(x, y) \\ge t` then :math:`|x \\cap y| \\ge \\lceil t \\max(|x|,|y|) \\rceil`, so the
prefixes of length :math:`|x| - \\lceil t|x| \\rceil + 1` share a shingle; only sets meeting in
an inverted index of prefixes, with :math:`|y| \\ge t|x|` (length filter), are compared exactly.
The join is exact (no pair is missed, unlike MinHash/LSH) and deterministic.

Complexity: :math:`O(L \\log L)` to count, rank and sort the L shingles, plus one set
intersection per candidate pair. Candidates are the pairs sharing a *rare* shingle, so for real
item text (a large character alphabet) they grow about linearly with the number of items, not with
its square; identical texts are collapsed to one record before the join. The worst case remains
quadratic: texts over a tiny alphabet whose shingles are all common, or many genuinely similar
items, whose pairs are the output itself; ``max_pairs`` bounds that output and stops the join.
:class:`JoinStats` reports the candidate count so tests can check the growth.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["normalise_text", "shingles", "jaccard", "SimilarPair", "JoinStats", "similarity_join"]

_EPS = 1e-9


def normalise_text(text: str) -> str:
    """NFKC, case-folded, all whitespace removed: the form shingles are taken from."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def shingles(parts: str | Iterable[str], k: int = 3) -> frozenset[str]:
    """Set of character k-grams of the normalised text parts.

    Parameters
    ----------
    parts : str or iterable of str
        Plain text, or several texts (stem, options) shingled separately and united.
    k : int
        Shingle length, at least 1.

    Returns
    -------
    frozenset of str
        A non-empty part shorter than ``k`` contributes itself as one shingle.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    out: set[str] = set()
    for part in [parts] if isinstance(parts, str) else parts:
        text = normalise_text(part)
        if len(text) <= k:
            if text:
                out.add(text)
            continue
        out.update(text[i:i + k] for i in range(len(text) - k + 1))
    return frozenset(out)


def jaccard(a: frozenset | set, b: frozenset | set) -> float:
    """Jaccard coefficient; two empty sets count as 0 (no text, nothing to call a duplicate)."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class SimilarPair:
    """Two records at or above the threshold; ``first`` comes before ``second`` in the input."""

    first: str
    second: str
    similarity: float


@dataclass(frozen=True)
class JoinStats:
    """Work done by :func:`similarity_join`.

    Attributes
    ----------
    records : int
        Non-empty input sets.
    distinct : int
        Distinct sets after collapsing identical ones.
    candidates : int
        Pairs of distinct sets compared exactly (the cost that must not grow quadratically).
    pairs : int
        Pairs reported.
    truncated : bool
        True when ``max_pairs`` was reached and the join stopped early.
    """

    records: int
    distinct: int
    candidates: int
    pairs: int
    truncated: bool


class _Output:
    def __init__(self, max_pairs: int | None) -> None:
        self.pairs: list[tuple[int, int, float]] = []
        self.max_pairs = max_pairs
        self.truncated = False

    def add(self, i: int, j: int, sim: float) -> bool:
        """Record a pair; False once the budget is spent."""
        if self.max_pairs is not None and len(self.pairs) >= self.max_pairs:
            self.truncated = True
            return False
        self.pairs.append((min(i, j), max(i, j), sim))
        return True


def similarity_join(records: Sequence[tuple[str, frozenset[str]]], threshold: float, *,
                    max_pairs: int | None = None) -> tuple[list[SimilarPair], JoinStats]:
    """All pairs of records whose Jaccard similarity is at least ``threshold``.

    Parameters
    ----------
    records : sequence of (id, frozenset of str)
        Ids must be distinct; records with an empty set are ignored.
    threshold : float
        Jaccard threshold t, ``0 < t <= 1``.
    max_pairs : int, optional
        Stop after this many pairs (``JoinStats.truncated`` is then True).

    Returns
    -------
    pairs : list of SimilarPair
        Sorted by the input positions of ``first`` then ``second``.
    stats : JoinStats
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    ids = [rid for rid, _ in records]
    groups: dict[frozenset[str], list[int]] = {}
    for index, (_, tokens) in enumerate(records):
        if tokens:
            groups.setdefault(tokens, []).append(index)
    out = _Output(max_pairs)
    sets = list(groups)
    members = list(groups.values())
    candidates = _join(sets, members, threshold, out)
    out.pairs.sort()
    pairs = [SimilarPair(ids[i], ids[j], sim) for i, j, sim in out.pairs]
    stats = JoinStats(records=sum(len(m) for m in members), distinct=len(sets), candidates=candidates,
                      pairs=len(pairs), truncated=out.truncated)
    return pairs, stats


def _emit(out: _Output, left: list[int], right: list[int] | None, sim: float) -> bool:
    if right is None:  # identical texts: every pair inside the group
        return all(out.add(a, b, sim) for n, a in enumerate(left) for b in left[n + 1:])
    return all(out.add(a, b, sim) for a in left for b in right)


def _join(sets: list[frozenset[str]], members: list[list[int]], t: float, out: _Output) -> int:
    """Prefix-filter join over distinct sets; returns the number of candidate comparisons."""
    for group in members:
        if len(group) > 1 and not _emit(out, group, None, 1.0):
            return 0
    frequency = Counter(token for s in sets for token in s)
    rank = {token: r for r, token in enumerate(sorted(frequency, key=lambda tok: (frequency[tok], tok)))}
    ordered = [sorted(rank[token] for token in s) for s in sets]
    order = sorted(range(len(sets)), key=lambda i: (len(sets[i]), i))
    index: dict[int, list[int]] = defaultdict(list)   # rank -> processed set numbers, sizes rising
    start: dict[int, int] = defaultdict(int)          # first entry still long enough (length filter)
    candidates = 0
    for x in order:
        size = len(ordered[x])
        min_size = math.ceil(t * size - _EPS)
        prefix = ordered[x][: size - min_size + 1]
        seen: set[int] = set()
        for token in prefix:
            posting = index[token]
            begin = start[token]
            while begin < len(posting) and len(ordered[posting[begin]]) < min_size:
                begin += 1
            start[token] = begin
            seen.update(posting[begin:])
        for y in sorted(seen):
            candidates += 1
            sim = jaccard(sets[x], sets[y])
            if sim >= t and not _emit(out, members[y], members[x], sim):
                return candidates
        for token in prefix:
            index[token].append(x)
    return candidates
