"""What a paper must satisfy: the assembly specification (plain data, no blueprint objects).

:func:`itembank.assembly.allocation.spec_from_blueprint` derives one from a blueprint;
:func:`itembank.assembly.validation.validate_spec` checks that it can describe a paper at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from itembank.errors import InvalidValue

__all__ = ["AssemblySpec", "AssemblySpecError", "ExposurePolicy", "InformationTarget", "ScopeTarget"]

#: Key letters of a single-choice item (options A-D).
SINGLE_CHOICE_KEYS = ("A", "B", "C", "D")
#: How the mean difficulty of a paper is averaged: over items, or weighted by points.
DIFFICULTY_WEIGHTINGS = ("points", "items")
#: How several forms are solved (see :func:`itembank.assembly.assemble_forms`).
STRATEGIES = ("auto", "simultaneous", "split")
#: What happens to over-exposed items.
EXPOSURE_ACTIONS = ("exclude", "penalise")


class AssemblySpecError(InvalidValue):
    """An assembly specification that cannot describe any paper (bad input, not a bank problem).

    Attributes
    ----------
    problems : list of InvalidValue
        Every problem found. ``field`` and ``code`` are those of the first; ``message`` and
        ``message_en`` join all of them.
    """

    def __init__(self, problems: Sequence[InvalidValue]):
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.field, first.code,
                         "；".join(p.message for p in self.problems),
                         "; ".join(p.message_en for p in self.problems))

    def __reduce__(self):
        return (AssemblySpecError, (self.problems,))


@dataclass(frozen=True)
class ScopeTarget:
    """The number of items one node of the allocation layer gets in every form.

    Attributes
    ----------
    code, name : str
        The scope node (or element, for an element layer).
    elements : tuple of str
        Codes of the elements under the node.
    count : int
        Items per form from the node's elements, all item types together.
    weight : float
        The node's weight in percent of the component.
    """

    code: str
    name: str
    elements: tuple[str, ...]
    count: int
    weight: float = 0.0


@dataclass(frozen=True)
class ExposurePolicy:
    """Exposure control (曝光控制): what to do with recently used or over-exposed items.

    An item is *flagged* when it was used in one of the last ``recent_sessions`` sessions
    (``ItemPool.sessions_since_use <= recent_sessions``) or when its exposure rate exceeds
    ``max_rate``. Flagged items are left out (``action="exclude"``) or cost ``penalty`` each in
    the objective (``action="penalise"``), in units of one item's random preference (so the
    default 10 means "use a flagged item only when nothing else fits").
    """

    recent_sessions: int = 0
    max_rate: float | None = None
    action: str = "exclude"
    penalty: float = 10.0

    def flagged(self, sessions_since_use: np.ndarray, exposure_rate: np.ndarray) -> np.ndarray:
        """Boolean mask of the flagged items."""
        mask = np.zeros(len(sessions_since_use), dtype=bool)
        if self.recent_sessions > 0:
            mask |= sessions_since_use <= self.recent_sessions
        if self.max_rate is not None:
            mask |= exposure_rate > self.max_rate
        return mask


@dataclass(frozen=True)
class InformationTarget:
    r"""Maximin test information at ability points (van der Linden 2005, ch. 5).

    Maximise :math:`y` subject to :math:`\sum_i I_i(\theta_k) x_{if} \ge r_k\, y` for every form
    :math:`f` and ability point :math:`\theta_k`, where :math:`I_i` is the item's Fisher
    information under the 3PL model and :math:`r_k` the relative target (``weights``, all 1 by
    default). The forms therefore also come out parallel in information.

    Attributes
    ----------
    thetas : tuple of float
        Ability points on the IRT scale.
    weights : tuple of float
        Relative targets :math:`r_k > 0`; empty means all 1.
    scaling : float
        The constant :math:`D` of the logistic model: 1.0 (logistic metric) or 1.702 (normal
        metric).
    """

    thetas: tuple[float, ...]
    weights: tuple[float, ...] = ()
    scaling: float = 1.0

    @property
    def relative(self) -> np.ndarray:
        """The relative targets :math:`r_k` as an array."""
        return np.asarray(self.weights or (1.0,) * len(self.thetas), dtype=float)


@dataclass(frozen=True)
class AssemblySpec:
    """Everything the assembly engine needs to know about the wanted forms.

    Attributes
    ----------
    type_counts : tuple of (str, int)
        Exact item count per item type, in paper order; their sum is the paper's length.
    type_points : tuple of (str, float)
        Points per item of each type (weights of the point-weighted mean difficulty).
    scope_targets : tuple of ScopeTarget
        Items per node of the allocation layer; the counts add up to the paper's length.
    elements : tuple of str
        All element codes of the blueprint, in document order (coverage counts against them).
    min_element_coverage : float
        Share of the blueprint's elements each form covers at least, in (0, 1].
    max_items_per_element : int
        At most this many items of one element per form.
    target_difficulty, difficulty_tolerance : float
        Each form's mean difficulty (proportion correct) lies in target ± tolerance.
    difficulty_weighting : {"points", "items"}
        ``"points"``: the mean is weighted by points, i.e. the expected share of the paper's
        points a typical candidate earns (试卷难度 = 平均得分 / 满分); ``"items"``: plain mean.
    difficulty_weight : float
        Weight of the deviation of each form's mean from the target in the objective, per 0.01
        of deviation, in units of one item's random preference; keeps parallel forms close to
        the target and to each other inside the band. 0 switches it off.
    key_balance_band : (float, float)
        Each key letter's share among a form's single-choice items lies in this band.
    key_letters : tuple of str
        The key letters balanced, A-D.
    enemy_groups : tuple of frozenset of int
        Item ids that may not stand in one form together (互斥题): at most one per group.
    forms : int
        Number of parallel forms assembled in one model.
    max_overlap : int
        Items any two forms may share; 0 (the default) means no shared items.
    exposure : ExposurePolicy
    information : InformationTarget or None
        Maximin information objective, used when the pool has IRT parameters.
    seed : int or None
        Seeds the random item preferences and HiGHS; ``None`` draws a fresh seed that the result
        reports, so any run can be repeated.
    time_limit : float
        Seconds for the solver; a run that hits it returns its best forms, marked as such.
    mip_rel_gap : float
        Relative optimality gap at which the solver stops (1 % by default: the objective is
        mostly the random preference, so a closer optimum buys nothing).
    strategy : {"auto", "simultaneous", "split"}
        How several forms are solved; see :func:`itembank.assembly.assemble_forms`.
    allocation_layer : str
        Describes which layer got the counts, e.g. ``"scope depth 3 (17 nodes)"``.
    scope_names : mapping of str to str
        Names of scope nodes and elements for messages (optional).
    """

    type_counts: tuple[tuple[str, int], ...]
    scope_targets: tuple[ScopeTarget, ...]
    elements: tuple[str, ...]
    type_points: tuple[tuple[str, float], ...] = ()
    min_element_coverage: float = 0.5
    max_items_per_element: int = 1
    target_difficulty: float = 0.65
    difficulty_tolerance: float = 0.05
    difficulty_weighting: str = "points"
    difficulty_weight: float = 1.0
    key_balance_band: tuple[float, float] = (0.15, 0.35)
    key_letters: tuple[str, ...] = SINGLE_CHOICE_KEYS
    enemy_groups: tuple[frozenset[int], ...] = ()
    forms: int = 1
    max_overlap: int = 0
    exposure: ExposurePolicy = field(default_factory=ExposurePolicy)
    information: InformationTarget | None = None
    seed: int | None = None
    time_limit: float = 60.0
    mip_rel_gap: float = 0.01
    strategy: str = "auto"
    allocation_layer: str = ""
    scope_names: Mapping[str, str] = field(default_factory=dict)

    # -- derived numbers ----------------------------------------------------------------------
    @property
    def item_count(self) -> int:
        """Items per form."""
        return sum(count for _, count in self.type_counts)

    @property
    def type_count(self) -> dict[str, int]:
        """Items per type as a dict."""
        return dict(self.type_counts)

    def points_of(self, item_type: str) -> float:
        """Points of one item of ``item_type`` (1 when not given)."""
        return dict(self.type_points).get(item_type, 1.0)

    @property
    def coverage_needed(self) -> int:
        r"""Elements each form covers at least: :math:`\lceil s \cdot E \rceil` for share
        :math:`s` and :math:`E` blueprint elements (a tiny tolerance absorbs float noise)."""
        return math.ceil(self.min_element_coverage * len(self.elements) - 1e-9)

    @property
    def single_choice_count(self) -> int:
        return self.type_count.get("single_choice", 0)

    @property
    def key_count_bounds(self) -> tuple[int, int]:
        r"""Per-letter count bounds among :math:`n` single-choice items:
        :math:`[\lceil \ell n \rceil, \lfloor h n \rfloor]` for the band :math:`[\ell, h]`."""
        n = self.single_choice_count
        low, high = self.key_balance_band
        return math.ceil(low * n - 1e-9), math.floor(high * n + 1e-9)

    def name_of(self, code: str) -> str:
        """``"code 名称"`` when the name is known, else the code."""
        name = self.scope_names.get(code)
        return f"{code}「{name}」" if name else code
