"""Pieces every reader shares: type names, answer keys, and the build-then-check step."""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from itembank import items as _items
from itembank import spec as _spec
from itembank.errors import InvalidValue
from itembank.interchange import ImportedItem, RowError
from itembank.items import ItemType

#: Names writers use for the item types, in the common Chinese templates and in this library.
TYPE_NAMES: dict[str, ItemType] = {
    "判断": ItemType.TRUE_FALSE, "判断题": ItemType.TRUE_FALSE,
    "单选": ItemType.SINGLE_CHOICE, "单选题": ItemType.SINGLE_CHOICE,
    "单项选择": ItemType.SINGLE_CHOICE, "单项选择题": ItemType.SINGLE_CHOICE,
    "多选": ItemType.MULTIPLE_CHOICE, "多选题": ItemType.MULTIPLE_CHOICE,
    "多项选择": ItemType.MULTIPLE_CHOICE, "多项选择题": ItemType.MULTIPLE_CHOICE,
    "操作技能": ItemType.SKILL_TASK, "操作技能题": ItemType.SKILL_TASK, "操作题": ItemType.SKILL_TASK,
    **{t.value: t for t in ItemType},
}

#: The name written back for each type (the first of the template's dropdown values).
TYPE_LABELS: dict[ItemType, str] = {
    ItemType.TRUE_FALSE: "判断",
    ItemType.SINGLE_CHOICE: "单选",
    ItemType.MULTIPLE_CHOICE: "多选",
    ItemType.SKILL_TASK: "操作技能",
}

TRUE_WORDS = frozenset({"T", "TRUE", "对", "√", "✓", "✔", "正确", "是", "Y", "YES"})
FALSE_WORDS = frozenset({"F", "FALSE", "错", "×", "✗", "✘", "X", "错误", "否", "N", "NO"})
_KEY_SEPARATORS = re.compile(r"[\s,，、;；/|]+")


def normalise_text(value: str) -> str:
    """NFKC (full-width letters and punctuation to ASCII) and strip: for codes, names and keys."""
    return unicodedata.normalize("NFKC", value).strip()


def parse_type(text: str) -> ItemType:
    """Map a type name (``"单选题"``, ``"multiple_choice"`` ...) to :class:`ItemType`.

    Raises
    ------
    InvalidValue
        ``type.unknown`` for any other text.
    """
    name = normalise_text(text)
    found = TYPE_NAMES.get(name) or TYPE_NAMES.get(name.lower())
    if found is None:
        raise InvalidValue(
            "type", "type.unknown",
            f"未知题型“{text}”，应为 判断/单选/多选/操作技能。",
            f"Unknown item type {text!r}; expected 判断/单选/多选/操作技能 "
            "(true/false, single, multiple choice, skill task).",
        )
    return found


def parse_true_false(text: str) -> str | None:
    """``"T"`` or ``"F"`` for a true/false word (对/错/√/×/正确/错误/T/F ...), else ``None``."""
    word = normalise_text(text).upper()
    if word in TRUE_WORDS:
        return "T"
    if word in FALSE_WORDS:
        return "F"
    return None


def parse_key(text: str, item_type: ItemType) -> tuple[str, ...]:
    """Read an answer key as written in a spreadsheet cell.

    Parameters
    ----------
    text : str
        ``"A"``, ``"ACD"``, ``"A,C,D"``, ``"A、C、D"``; for true/false ``"对"``, ``"×"``, ``"T"`` ...
    item_type : ItemType
        Decides how the text is read.

    Returns
    -------
    tuple of str
        Upper-case letters in order of appearance without repeats, ``("T",)``/``("F",)``, or
        ``()`` for a skill task or an empty cell.

    Raises
    ------
    InvalidValue
        ``key.format`` when the text is not a key of that type.
    """
    text = normalise_text(text or "")
    if item_type is ItemType.SKILL_TASK or not text:
        return ()
    if item_type is ItemType.TRUE_FALSE:
        tf = parse_true_false(text)
        if tf is None:
            raise InvalidValue("key", "key.format",
                               f"判断题答案“{text}”无法识别，应为 对/错、√/×、正确/错误 或 T/F。",
                               f"True/false key {text!r} not recognised; use 对/错, √/×, 正确/错误 or T/F.")
        return (tf,)
    letters = _KEY_SEPARATORS.sub("", text).upper()
    if not letters.isascii() or not letters.isalpha():
        raise InvalidValue("key", "key.format",
                           f"答案“{text}”应由选项字母组成，如 A 或 ACD。",
                           f"Key {text!r} must be option letters such as A or ACD.")
    return tuple(dict.fromkeys(letters))


def format_key(key: tuple[str, ...], item_type: ItemType) -> str:
    """The cell text for a key: ``"对"``/``"错"`` for true/false, the letters joined otherwise."""
    if item_type is ItemType.TRUE_FALSE and key:
        return "对" if key[0] == "T" else "错"
    return "".join(key)


def is_error(finding) -> bool:
    """Whether a spec finding blocks the import (error severity)."""
    severity = getattr(finding, "severity", "")
    return str(getattr(severity, "value", severity)).lower() == "error"


def build_and_check(
    ref: int | str,
    fields: dict,
    *,
    column_of: Callable[[str], str] = lambda f: f,
    element_codes: set[str] | None = None,
    config=None,
) -> tuple[ImportedItem | None, list[RowError]]:
    """Build the content with :func:`itembank.items.build_content`, then run the writing spec.

    Parameters
    ----------
    ref : int or str
        Row number or item reference, copied into the results.
    fields : dict
        Keyword arguments for ``build_content``.
    column_of : callable
        Maps a content field name (``"zh.options.B"``) to the file's column name (``"选项B"``).
    element_codes : set of str, optional
        Known element codes of the blueprint, handed to the spec.
    config : optional
        Spec configuration, handed through.

    Returns
    -------
    (ImportedItem or None, list of RowError)
        The item when nothing blocks it, else ``None`` and at least one error.
    """
    try:
        content = _items.build_content(**fields)
    except InvalidValue as exc:
        return None, [RowError(ref, column_of(exc.field), exc.message, exc.message_en)]
    kwargs = {"element_codes": element_codes}
    if config is not None:
        kwargs["config"] = config
    findings = list(_spec.check_item(content, **kwargs))
    errors = [RowError(ref, column_of(f.field), f.message, f.message_en) for f in findings if is_error(f)]
    if errors:
        return None, errors
    return ImportedItem(ref, content, findings), []
