"""Import from Moodle: Moodle XML (``<quiz>``) and GIFT text.

Moodle knows no blueprint, so the element code (鉴定点代码) of a question comes from, in order:

* Moodle XML: a tag ``element:CODE`` / ``鉴定点:CODE`` / ``鉴定点代码:CODE``, or a tag that is one of
  ``element_codes``; GIFT: a comment line ``// element: CODE`` (or ``// 鉴定点: CODE``) right
  before the question;
* the ``default_element_code`` argument;
* otherwise the question is a row error. A ``difficulty:0.6`` / ``难度:0.6`` tag or comment sets
  the difficulty estimate the same way.

Supported question types: true/false and multiple choice (one right answer -> single choice,
several answers with positive weight -> multiple choice, keyed by those answers). Categories are
ignored; every other type is reported as a row error.
"""

from __future__ import annotations

import html
import re

from itembank.interchange import ImportResult, InterchangeError, RowError
from itembank.interchange._common import build_and_check, normalise_text, parse_true_false
from itembank.interchange._safety import load_input, parse_xml
from itembank.interchange._xhtml import local
from itembank.items import ItemType

MAX_BYTES = 20_000_000
_META = re.compile(r"^\s*(element|鉴定点代码|鉴定点|difficulty|难度)\s*:\s*(.+?)\s*$", re.I)
_GIFT_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_GIFT_TF = re.compile(r"^(T|F|TRUE|FALSE)\s*(#.*)?$", re.I | re.S)
_BLANK = "（　）"


def _meta(texts, element_codes) -> dict:
    """Element code and difficulty from tags or comments (see the module docstring)."""
    out: dict = {}
    for text in texts:
        text = normalise_text(text)
        found = _META.match(text)
        if found:
            name = found.group(1).lower()
            out["difficulty" if name in ("difficulty", "难度") else "element_code"] = found.group(2)
        elif element_codes and text in element_codes:
            out.setdefault("element_code", text)
    return out


def _finish(result: ImportResult, ref, fields: dict, meta: dict, *, element_codes,
            default_element_code: str, config) -> None:
    code = meta.get("element_code") or default_element_code
    if not code:
        result.errors.append(RowError(ref, "element_code", "缺少鉴定点代码，且未指定默认值。",
                                      "No element code, and no default was given."))
        return
    fields.update(element_code=code, difficulty_estimate=meta.get("difficulty"))
    item, errors = build_and_check(ref, fields, element_codes=element_codes, config=config)
    result.errors.extend(errors)
    if item is not None:
        result.items.append(item)


def _unsupported(ref, kind: str) -> RowError:
    return RowError(ref, "type", f"不支持的题型 {kind}，只能导入判断题和选择题。",
                    f"Unsupported question type {kind!r}; only true/false and multiple choice are imported.")


def _choice_fields(answers: list[tuple[str, float]], single: bool | None) -> dict:
    """Options A, B ... and the key from (html, weight) pairs; ``single=None`` decides by count."""
    letters = [chr(ord("A") + i) for i in range(len(answers))]
    weights = [w for _, w in answers]
    best = max(weights, default=0)
    if single is None:
        single = sum(w > 0 for w in weights) <= 1
    key = [c for c, w in zip(letters, weights) if (w == best if single else w > 0) and w > 0]
    return {"type": ItemType.SINGLE_CHOICE if single else ItemType.MULTIPLE_CHOICE,
            "key": key, "options": list(zip(letters, (t for t, _ in answers)))}


# ------------------------------------------------------------------------------------ Moodle XML


def _text_of(node, name: str) -> str:
    """The ``<text>`` of child ``name`` (or of ``node`` itself when name is empty), as HTML."""
    target = node if not name else next((c for c in node if local(c.tag) == name), None)
    if target is None:
        return ""
    text = next((c.text or "" for c in target if local(c.tag) == "text"), "")
    if (target.get("format") or "html") in ("plain_text", "markdown"):
        return html.escape(text).replace("\n", "<br>")
    return text


def import_moodle_xml(data, *, element_codes: set[str] | None = None, default_element_code: str = "",
                      max_bytes: int = MAX_BYTES, config=None) -> ImportResult:
    """Read a Moodle XML question export.

    Parameters
    ----------
    data : bytes, path or binary file
        The ``<quiz>`` document.
    element_codes : set of str, optional
        Element codes of the target blueprint (spec check, and tags recognised as codes).
    default_element_code : str
        Element code for questions that carry none.
    max_bytes : int
        Largest file accepted.
    config : optional
        Spec configuration.

    Returns
    -------
    ImportResult
        ``row_or_ref`` is the question's position (1-based) among the non-category questions.

    Raises
    ------
    InterchangeError
        Broken or unsafe XML, a root other than ``<quiz>``, too large.
    """
    root = parse_xml(load_input(data, max_bytes), "Moodle XML")
    if local(root.tag) != "quiz":
        raise InterchangeError("interchange.not_moodle", "不是 Moodle XML 题库文件（根元素应为 quiz）。",
                               "Not a Moodle XML question file (the root element must be <quiz>).")
    result = ImportResult()
    position = 0
    for question in (q for q in root if local(q.tag) == "question"):
        kind = question.get("type") or ""
        if kind == "category":
            continue
        position += 1
        if kind not in ("truefalse", "multichoice"):
            result.errors.append(_unsupported(position, kind))
            continue
        answers = []
        for answer in (a for a in question if local(a.tag) == "answer"):
            try:
                weight = float(answer.get("fraction") or 0)
            except ValueError:
                weight = 0.0
            answers.append((_text_of(answer, ""), weight))
        fields = {"zh": {"stem": _text_of(question, "questiontext"),
                         "explanation": _text_of(question, "generalfeedback")}}
        if kind == "truefalse":
            right = [parse_true_false(re.sub(r"<[^>]*>", "", t)) for t, w in answers if w > 0]
            fields.update(type=ItemType.TRUE_FALSE, key=right[:1] if right and right[0] else "?")
        else:
            single_text = next((c.text or "" for c in question if local(c.tag) == "single"), "true")
            choice = _choice_fields(answers, single_text.strip().lower() in ("true", "1"))
            fields["zh"]["options"] = choice.pop("options")
            fields.update(choice)
        tags = [t.text or "" for tags in question if local(tags.tag) == "tags"
                for tag in tags for t in tag if local(t.tag) == "text"]
        _finish(result, position, fields, _meta(tags, element_codes), element_codes=element_codes,
                default_element_code=default_element_code, config=config)
    return result


# ------------------------------------------------------------------------------------------ GIFT


def _unescaped(text: str, chars: str) -> list[int]:
    """Positions of characters in ``chars`` that are not escaped by a backslash."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in chars:
            out.append(i)
        i += 1
    return out


def _gift_unescape(text: str) -> str:
    return re.sub(r"\\([~=#{}:\\n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), text).strip()


def _gift_format(text: str, fmt: str) -> str:
    text = _gift_unescape(text)
    if fmt in ("plain", "markdown"):
        return html.escape(text).replace("\n", "<br>")
    return text


def _gift_blocks(text: str):
    """Yield (first line number, comment lines, question text) for each blank-line separated block."""
    comments, lines, start = [], [], 0
    for number, line in enumerate(text.splitlines() + [""], start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            comments.append(stripped[2:].strip().removeprefix("[tag:").removesuffix("]"))
        elif stripped:
            lines.append(line)
            start = start or number
        elif lines:
            yield start, comments, "\n".join(lines)
            comments, lines, start = [], [], 0


def _gift_question(ref: int, block: str) -> dict | RowError | None:
    """``build_content`` fields for one GIFT question, a row error, or ``None`` for a category."""
    if block.lstrip().startswith("$CATEGORY:"):
        return None
    title = re.match(r"\s*::(.*?)::", block, re.S)
    body = block[title.end():] if title else block
    fmt = ""
    found = re.match(r"\s*\[(html|plain|markdown|moodle)\]", body)
    if found:
        fmt, body = found.group(1), body[found.end():]
    opens, closes = _unescaped(body, "{"), _unescaped(body, "}")
    if not opens or not closes or closes[-1] < opens[0]:
        return RowError(ref, "type", "缺少答案块 {…}，不是试题。", "No answer block {...}: not a question.")
    start, end = opens[0], next(c for c in closes if c > opens[0])
    answer_text = body[start + 1:end].strip()
    after = body[end + 1:].strip()
    stem = _gift_format(body[:start], fmt) + (_BLANK + _gift_format(after, fmt) if after else "")
    hashes = [i for i in _unescaped(answer_text, "#") if answer_text[i:i + 4] == "####"]
    explanation = ""
    if hashes:
        explanation = _gift_format(answer_text[hashes[0] + 4:], fmt)
        answer_text = answer_text[:hashes[0]].strip()
    zh = {"stem": stem, "explanation": explanation}
    tf = _GIFT_TF.match(answer_text)
    if tf:
        return {"type": ItemType.TRUE_FALSE, "key": [tf.group(1)[0].upper()], "zh": zh}
    marks = _unescaped(answer_text, "=~")
    if not answer_text or answer_text.startswith("#") or not marks or answer_text[:marks[0]].strip():
        return _unsupported(ref, "essay/numerical" if not marks else "unknown")
    answers, saw_wrong = [], False
    for i, pos in enumerate(marks):
        chunk = answer_text[pos + 1:marks[i + 1] if i + 1 < len(marks) else len(answer_text)]
        if "->" in chunk:
            return _unsupported(ref, "matching")
        weight_match = _GIFT_WEIGHT.match(chunk.strip())
        if weight_match:
            weight, chunk = float(weight_match.group(1)), chunk.strip()[weight_match.end():]
        else:
            weight = 100.0 if answer_text[pos] == "=" else 0.0
        saw_wrong = saw_wrong or answer_text[pos] == "~"
        feedback = _unescaped(chunk, "#")
        answers.append((_gift_format(chunk[:feedback[0]] if feedback else chunk, fmt), weight))
    if not saw_wrong:
        return _unsupported(ref, "short answer")
    choice = _choice_fields(answers, None)
    zh["options"] = choice.pop("options")
    return {**choice, "zh": zh}


def import_gift(data, *, element_codes: set[str] | None = None, default_element_code: str = "",
                max_bytes: int = MAX_BYTES, config=None) -> ImportResult:
    """Read GIFT text (``::title:: stem {=right ~wrong}``, ``{T}``, ``{~%50%a ~%50%b ~%-100%c}``).

    Parameters
    ----------
    data : bytes, str, path or binary file
        The GIFT file (UTF-8, or GB18030 as Chinese Windows tools save it). A ``str`` is taken as
        the text itself, not a path.
    element_codes, default_element_code, max_bytes, config
        As for :func:`import_moodle_xml`.

    Returns
    -------
    ImportResult
        ``row_or_ref`` is the line number where the question starts.

    Raises
    ------
    InterchangeError
        Not decodable as text, or too large.
    """
    if isinstance(data, str):
        text = data
        if len(text) > max_bytes:
            load_input(text.encode("utf-8"), max_bytes)
    else:
        raw = load_input(data, max_bytes)
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None or "\x00" in text:
            raise InterchangeError("interchange.not_text", "GIFT 文件不是 UTF-8 或 GB18030 文本。",
                                   "The GIFT file is not UTF-8 or GB18030 text.")
    result = ImportResult()
    for line, comments, block in _gift_blocks(text):
        fields = _gift_question(line, block)
        if fields is None:
            continue
        if isinstance(fields, RowError):
            result.errors.append(fields)
            continue
        _finish(result, line, fields, _meta(comments, element_codes), element_codes=element_codes,
                default_element_code=default_element_code, config=config)
    return result
