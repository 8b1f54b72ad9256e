"""Why no paper could be assembled, in the domain's words.

:class:`AssemblyInfeasible` carries a list of explanations: a :class:`Shortfall` when the bank
lacks approved items of some kind (an element, a scope, a type, a key letter), a
:class:`Conflict` when two rules cannot hold together on this bank (e.g. the difficulty band and
the scope counts). Each has a Chinese ``message`` shown first, an English ``message_en``, and
machine fields that callers and tests branch on.
"""

from __future__ import annotations

from dataclasses import dataclass

from itembank.errors import ItemBankError

__all__ = ["AssemblyInfeasible", "AssemblyTimeLimit", "Conflict", "Shortfall", "RULES"]

#: Rule ids used by shortfalls, conflicts and checks.
RULES = ("pool", "type_count", "scope_count", "element_max", "coverage", "difficulty",
         "key_balance", "enemy", "overlap", "information", "exposure")


@dataclass(frozen=True)
class Shortfall:
    """The bank lacks approved items of some kind.

    Attributes
    ----------
    rule : str
        One of :data:`RULES`, e.g. ``"scope_count"``.
    message, message_en : str
    type, scope, element, key : str or None
        What is short: an item type, a scope node, an element, a key letter.
    have, need : int
        Usable approved items, and how many the forms need.
    """

    rule: str
    message: str
    message_en: str
    have: int
    need: int
    type: str | None = None
    scope: str | None = None
    element: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        return self.message_en


@dataclass(frozen=True)
class Conflict:
    """Two rules that cannot hold together on this bank.

    Attributes
    ----------
    rules : tuple of str
        The two rule ids, the one that gives way first (e.g. ``("difficulty", "scope_count")``);
        a single id when no one other rule is to blame.
    message, message_en : str
    have, need : float or None
        The closest value the bank reaches and the value wanted (for difficulty: a mean; for
        counts: items).
    form : int or None
        The form (0-based) the numbers are from.
    type, scope : str or None
        The item type and scope named in the explanation.
    """

    rules: tuple[str, ...]
    message: str
    message_en: str
    have: float | None = None
    need: float | None = None
    form: int | None = None
    type: str | None = None
    scope: str | None = None

    def __str__(self) -> str:
        return self.message_en


class AssemblyInfeasible(ItemBankError):
    """No set of forms satisfies the specification with this bank; no paper is created.

    Attributes
    ----------
    explanations : list of Shortfall or Conflict
    """

    def __init__(self, explanations):
        self.explanations = list(explanations)
        super().__init__(self.explanations)

    @property
    def message(self) -> str:
        return "；".join(e.message for e in self.explanations)

    @property
    def message_en(self) -> str:
        return "; ".join(e.message_en for e in self.explanations)

    def __str__(self) -> str:
        return self.message_en


class AssemblyTimeLimit(ItemBankError):
    """The time limit passed before any complete set of forms was found; no paper is created."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.message = f"在 {seconds:g} 秒的时限内未能组出符合要求的试卷，请放宽时限后重试"
        self.message_en = (f"no forms meeting every rule were found within the time limit of "
                           f"{seconds:g} s; allow more time")
        super().__init__(seconds)

    def __str__(self) -> str:
        return self.message_en
