"""PDF documents with reportlab: A4 pages, a Chinese font that travels with the file, paragraphs
that wrap Chinese text. Shared by papers (试卷, 参考答案) and, later, certificates.

The font: an embeddable TrueType CJK font found on the machine (a subset is embedded, so the PDF
prints the same anywhere). reportlab cannot embed CFF-outline fonts (the ``.otf``/``.ttc`` of
Noto CJK / Source Han), so only TrueType-outline files are tried. Without one, the built-in CID
font ``STSong-Light`` is used: nothing is embedded and the reader supplies a Song typeface (Adobe
Reader's Asian font pack; most viewers substitute one).
"""

from __future__ import annotations

import logging
import os
import threading
from io import BytesIO
from typing import Callable, Iterable
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

log = logging.getLogger(__name__)

PAGE_SIZE = A4
MARGIN = 18 * mm
FONT_NAME = "examsvc-cjk"
CID_FALLBACK = "STSong-Light"

#: TrueType-outline CJK fonts worth trying, in order: (path, index in a collection). Debian and
#: Ubuntu packages first (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-arphic-uming/ukai,
#: fonts-droid-fallback), then the usual Windows and macOS files.
TRUETYPE_CJK_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("/System/Library/Fonts/Supplemental/Songti.ttc", 0),
)

_lock = threading.Lock()
_chosen: list[str] = []


def cjk_font_name(candidates: Iterable[tuple[str, int]] | None = None) -> str:
    """Register a CJK font with reportlab once per process and return its name.

    The first file of ``candidates`` (default :data:`TRUETYPE_CJK_FONTS`) that exists and loads as
    TrueType is registered as ``examsvc-cjk`` and embedded (subset) in every PDF; a file with CFF
    outlines or that fails to load is skipped. Without one, reportlab's CID font
    ``STSong-Light`` is registered and returned. Which one was chosen is logged.
    """
    if _chosen and candidates is None:
        return _chosen[0]
    with _lock:
        if _chosen and candidates is None:
            return _chosen[0]
        name = _register(TRUETYPE_CJK_FONTS if candidates is None else tuple(candidates))
        if candidates is None:
            _chosen.append(name)
        return name


def _register(candidates: tuple[tuple[str, int], ...]) -> str:
    for path, index in candidates:
        if not os.path.isfile(path):
            continue
        try:
            font = TTFont(FONT_NAME, path, subfontIndex=index)
        except (TTFError, OSError, ValueError) as exc:  # CFF outlines, a damaged file, no such index
            log.warning("PDF font %s (index %s) is not usable: %s", path, index, exc)
            continue
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(font)
        log.info("PDF font: embedding TrueType %s (index %s)", path, index)
        return FONT_NAME
    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    log.warning("PDF font: no TrueType CJK font found; using the built-in CID font %s (not embedded). "
                "Install fonts-wqy-microhei for an embedded font.", CID_FALLBACK)
    return CID_FALLBACK


def styles(base_size: float = 10.5) -> dict[str, ParagraphStyle]:
    """Paragraph styles in the CJK font, wrapping by character (``wordWrap="CJK"``)."""
    font = cjk_font_name()

    def style(name: str, size: float, **extra) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=round(size * 1.55, 1),
                              wordWrap="CJK", **extra)

    return {
        "title": style("title", base_size + 6, alignment=1, spaceAfter=2 * mm),
        "subtitle": style("subtitle", base_size + 1, alignment=1, spaceAfter=2 * mm),
        "heading": style("heading", base_size + 1.5, spaceBefore=4 * mm, spaceAfter=1.5 * mm),
        "body": style("body", base_size),
        "item": style("item", base_size, spaceBefore=1.5 * mm, leftIndent=6 * mm, firstLineIndent=-6 * mm),
        "option": style("option", base_size, leftIndent=10 * mm),
        "small": style("small", base_size - 1.5, textColor=HexColor("#52606d")),
        "cell": style("cell", base_size - 0.5, alignment=1),
    }


def markup(text: str) -> str:
    """``text`` made safe for a reportlab Paragraph (which parses a small XML): escaped, with
    line breaks kept."""
    return escape(text).replace("\n", "<br/>")


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain ``text`` (never markup) in ``style``."""
    return Paragraph(markup(text), style)


def render(flowables: list[Flowable], *, title: str, footer: Callable[[int], str] | None = None,
           author: str = "examsvc") -> bytes:
    """An A4 PDF of ``flowables``; ``footer(page_number)`` is printed centred at each page's foot."""
    buffer = BytesIO()
    font = cjk_font_name()

    def on_page(canvas, document) -> None:
        if footer is None:
            return
        canvas.saveState()
        canvas.setFont(font, 8.5)
        canvas.drawCentredString(PAGE_SIZE[0] / 2, 10 * mm, footer(document.page))
        canvas.restoreState()

    document = SimpleDocTemplate(buffer, pagesize=PAGE_SIZE, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN, bottomMargin=MARGIN, title=title, author=author,
                                 creator="examsvc")
    document.build(list(flowables), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
