"""Errors raised by the :mod:`itembank` library.

The service layer maps these once to its own hierarchy (``examsvc.errors``); the library itself
never knows about HTTP.
"""

from __future__ import annotations


class ItemBankError(Exception):
    """Base of every error the :mod:`itembank` library raises on purpose."""


class InvalidValue(ItemBankError, ValueError):
    """A single value that breaks a rule.

    Parameters
    ----------
    field : str
        Name of the offending field, e.g. ``"occupation_code"`` or ``"id_number"``.
    code : str
        Stable machine code ``"<field>.<rule>"``, e.g. ``"occupation_code.format"``; callers and
        tests branch on this, never on the wording.
    message : str
        Chinese message, shown first in the user interface.
    message_en : str, optional
        English message; defaults to ``message``.

    Notes
    -----
    ``str(exc)`` is ``"<field>: <message_en>"``. It is also a :class:`ValueError`, so code that
    only knows the standard library still catches it.
    """

    def __init__(self, field: str, code: str, message: str, message_en: str | None = None):
        message_en = message_en if message_en is not None else message
        # Passing every argument to Exception keeps the error picklable (args re-create it).
        super().__init__(field, code, message, message_en)
        self.field = field
        self.code = code
        self.message = message
        self.message_en = message_en

    def __str__(self) -> str:
        return f"{self.field}: {self.message_en}"

    def __repr__(self) -> str:
        return f"InvalidValue(field={self.field!r}, code={self.code!r}, message_en={self.message_en!r})"
