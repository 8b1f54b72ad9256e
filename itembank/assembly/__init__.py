"""Automated test assembly (自动组卷): parallel forms from the item bank as a 0-1 programme.

The engine takes plain data and returns plain data::

    from itembank.assembly import ItemPool, spec_from_blueprint, assemble_forms

    spec = spec_from_blueprint(blueprint, forms=2, overrides={"seed": 7, "time_limit": 20})
    pool = ItemPool(ids=..., item_type=..., element=..., difficulty=..., key=...)
    result = assemble_forms(pool, spec)       # or raises AssemblyInfeasible with reasons
    result.forms                              # [[item ids of form 1], [form 2]]

Modules: :mod:`~itembank.assembly.spec` (what a paper must satisfy),
:mod:`~itembank.assembly.allocation` (blueprint weights to item counts, largest remainder),
:mod:`~itembank.assembly.validation` (specs that cannot describe a paper),
:mod:`~itembank.assembly.pool` (the items), :mod:`~itembank.assembly.candidates` (the usable
ones), :mod:`~itembank.assembly.model` (the integer programme, solved with HiGHS),
:mod:`~itembank.assembly.assemble` (the strategy), :mod:`~itembank.assembly.diagnose`
(explanations in domain words), :mod:`~itembank.assembly.verify` (an independent recount of every
rule), :mod:`~itembank.assembly.tasks` (task sets of skill papers from their
modules' pools), :mod:`~itembank.assembly.synthetic` (seeded synthetic banks for tests and benchmarks).

Reference: W. J. van der Linden, *Linear Models for Optimal Test Design*, Springer 2005.
"""

from itembank.assembly.allocation import largest_remainder, spec_from_blueprint
from itembank.assembly.assemble import AssemblyResult, AssemblyVerificationError, assemble_forms
from itembank.assembly.errors import AssemblyInfeasible, AssemblyTimeLimit, Conflict, Shortfall
from itembank.assembly.pool import ItemPool, item_information
from itembank.assembly.tasks import TaskDrawError, TaskShortfall, draw_task_sets
from itembank.assembly.spec import (
    AssemblySpec, AssemblySpecError, ExposurePolicy, InformationTarget, ScopeTarget,
)
from itembank.assembly.validation import validate_spec, with_options
from itembank.assembly.verify import RuleCheck, verify_forms

__all__ = [
    "AssemblyInfeasible", "AssemblyResult", "AssemblySpec", "AssemblySpecError",
    "AssemblyTimeLimit", "AssemblyVerificationError", "Conflict", "ExposurePolicy",
    "InformationTarget", "ItemPool", "RuleCheck", "ScopeTarget", "Shortfall", "TaskDrawError",
    "TaskShortfall", "assemble_forms", "draw_task_sets", "item_information", "largest_remainder",
    "spec_from_blueprint", "validate_spec", "verify_forms", "with_options",
]
