"""Move rich text between the library's HTML strings and XHTML elements inside an XML document.

QTI embeds item text as XHTML elements in its own namespace, while :class:`ItemContent` holds
sanitised HTML strings. :func:`append_html` parses such a string into child nodes of an element;
:func:`inner_html` serialises an element's content back. For sanitised input the round trip gives
the same HTML after :func:`itembank.items.sanitize_html`, with one exception: an ``img`` without
``alt`` gets ``alt=""`` (QTI requires it), which reads back as an ``alt`` that is empty and is
dropped again.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from xml.etree.ElementTree import Element, SubElement

_VOID = frozenset({"br", "img", "hr", "col", "area", "input", "wbr"})
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_DEPTH = 200


def xml_text(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (C0 controls except tab, LF, CR)."""
    return _XML_ILLEGAL.sub("", text)


class _Builder(HTMLParser):
    def __init__(self, parent: Element, ns: str):
        super().__init__(convert_charrefs=True)
        self.ns = ns
        self.stack = [parent]
        self.last: Element | None = None  # node whose tail receives following text

    def _add_text(self, text: str) -> None:
        text = xml_text(text)
        if self.last is not None:
            self.last.tail = (self.last.tail or "") + text
        else:
            top = self.stack[-1]
            top.text = (top.text or "") + text

    def handle_starttag(self, tag, attrs):
        attrib = {k: xml_text(v or "") for k, v in attrs if re.fullmatch(r"[A-Za-z_][\w.-]*", k)}
        if tag == "img":
            attrib.setdefault("alt", "")
        node = SubElement(self.stack[-1], f"{{{self.ns}}}{tag}" if self.ns else tag, attrib)
        if tag in _VOID or len(self.stack) >= MAX_DEPTH:
            self.last = node
        else:
            self.stack.append(node)
            self.last = None

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and local(self.stack[-1].tag) == tag and len(self.stack) > 1:
            self.last = self.stack.pop()

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if local(self.stack[depth].tag) == tag:
                self.last = self.stack[depth]
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self._add_text(data)


def append_html(parent: Element, fragment: str, ns: str = "") -> Element:
    """Parse an HTML fragment into children (and text) of ``parent``.

    The new elements are in namespace ``ns``, or unqualified when it is empty (for a document
    whose root declares the namespace as its default with an ``xmlns`` attribute).
    """
    builder = _Builder(parent, ns)
    builder.feed(fragment or "")
    builder.close()
    return parent


def local(tag) -> str:
    """Local name of an ElementTree tag (``"{ns}p"`` -> ``"p"``); ``""`` for comments and PIs."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _serialise(node: Element, out: list[str], depth: int) -> None:
    name = local(node.tag)
    if name and depth < MAX_DEPTH:
        attrs = "".join(
            f' {local(k)}="{html.escape(v, quote=True)}"'
            for k, v in node.attrib.items()
            if not (local(k) == "alt" and v == "" and name == "img")
        )
        out.append(f"<{name}{attrs}>")
        if name not in _VOID:
            _inner(node, out, depth + 1)
            out.append(f"</{name}>")
    if node.tail:
        out.append(html.escape(node.tail, quote=False))


def _inner(node: Element, out: list[str], depth: int) -> None:
    if node.text:
        out.append(html.escape(node.text, quote=False))
    for child in node:
        _serialise(child, out, depth)


def inner_html(node: Element | None, skip=()) -> str:
    """HTML of an element's content (not its own tag), leaving out children listed in ``skip``."""
    if node is None:
        return ""
    out: list[str] = []
    if node.text:
        out.append(html.escape(node.text, quote=False))
    for child in node:
        if child in skip:
            if child.tail:
                out.append(html.escape(child.tail, quote=False))
            continue
        _serialise(child, out, 0)
    return "".join(out)
