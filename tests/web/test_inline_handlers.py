"""Inline event handlers call the window's functions by their full name.

Inside an inline handler (``onsubmit="..."``) names resolve on the element and its form first, so
a form field named ``confirm`` made ``confirm(...)`` "not a function" and the dialog never came
(结束考试/终止考试). The browser test of the console proves one such form; this keeps every template
from bringing the trap back.
"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(['"])(.*?)\1""", re.S)
BARE = re.compile(r"(?<![\w.$])(confirm|alert|prompt)\s*\(")


def test_no_inline_handler_calls_a_bare_confirm_alert_or_prompt():
    offending = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for match in HANDLER.finditer(template.read_text(encoding="utf-8")):
            if BARE.search(match.group(2)):
                offending.append(f"{template.relative_to(TEMPLATES)}: {match.group(0).strip()[:80]}")
    assert not offending, offending


def test_the_check_finds_the_trap():
    assert BARE.search("return confirm('x');") and not BARE.search("return window.confirm('x');")
