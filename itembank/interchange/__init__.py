"""Import and export of items in exchange formats (Excel template, IMS QTI 2.1, Moodle XML, GIFT).

Every reader returns an :class:`ImportResult`: the items that could be built and passed the writing
spec without an error-severity finding, and one :class:`RowError` per problem, located by row
number (Excel, GIFT line), question position (Moodle XML) or item reference (QTI). A problem with
the file as a whole (not a spreadsheet, broken XML, too large, a zip bomb, a missing column)
raises :class:`InterchangeError` instead: no row of such a file is trusted.

The readers never evaluate anything they read: spreadsheet formulas are rejected, XML is parsed
without DTDs or entities, archives are bounded in member count, size and compression ratio.

Submodules are imported on demand (``from itembank.interchange import excel``) so that using one
format does not load the others' dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itembank.errors import ItemBankError

__all__ = ["ImportResult", "ImportedItem", "InterchangeError", "RowError"]


class InterchangeError(ItemBankError):
    """The file as a whole cannot be read: wrong format, broken XML, too large, unsafe archive.

    Parameters
    ----------
    code : str
        Stable machine code, e.g. ``"interchange.not_xlsx"``; tests and callers branch on it.
    message : str
        Chinese message for the user.
    message_en : str, optional
        English message; defaults to ``message``.

    Notes
    -----
    ``str(exc)`` is the English message, so a traceback or a log line explains the problem.
    """

    def __init__(self, code: str, message: str, message_en: str | None = None):
        message_en = message_en if message_en is not None else message
        super().__init__(code, message, message_en)
        self.code = code
        self.message = message
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en

    def __repr__(self) -> str:
        return f"InterchangeError(code={self.code!r}, message_en={self.message_en!r})"


@dataclass(frozen=True)
class RowError:
    """One problem with one row (or question, or item) of an imported file.

    Attributes
    ----------
    row : int or str
        Excel row number as Excel shows it, GIFT line number, Moodle question position (1-based),
        or the QTI item reference.
    column : str
        Column header (Excel) or field name (other formats), e.g. ``"答案"`` or ``"key"``.
    message, message_en : str
        Chinese and English explanation.
    """

    row: int | str
    column: str
    message: str
    message_en: str


@dataclass(frozen=True)
class ImportedItem:
    """An item that was read, built and passed the spec without error-severity findings.

    Attributes
    ----------
    row_or_ref : int or str
        Where it came from, same convention as :attr:`RowError.row`.
    content : itembank.items.ItemContent
        The normalised content.
    findings : list of itembank.spec.Finding
        The spec's remaining (non-error) findings, for the writer to look at.
    """

    row_or_ref: int | str
    content: Any
    findings: list = field(default_factory=list)


@dataclass
class ImportResult:
    """What a reader produced.

    Attributes
    ----------
    items : list of ImportedItem
        Items ready to be stored as drafts.
    errors : list of RowError
        Rows that were not imported, one entry per problem (a row may have several).
    notes : list of str
        Informational remarks that are not errors (e.g. items an exporter had to skip).
    """

    items: list[ImportedItem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row had an error."""
        return not self.errors
