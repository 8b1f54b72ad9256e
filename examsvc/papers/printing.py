"""The printable paper (试卷) and, apart from it, its answer key (参考答案): one structure for the
HTML print page and the PDF.

A paper prints in sections by item type (一、判断题 二、单项选择题 三、多项选择题), numbered straight
through, with points per section. The structure for the paper carries no keys and no explanations
at all, so no template can show them by mistake; the key is built only on request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from examsvc import pdf
from examsvc.app import current_locale
from examsvc.bank.models import BlueprintVersion
from examsvc.bank.service import blueprint_of
from examsvc.papers.models import Paper
from examsvc.papers.service import paper_versions
from itembank.items import plain_text
from itembank.levels import Level, parse_level

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ZH_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class PrintItem:
    number: int
    item_type: str
    stem: str                                  # rich text as stored (sanitised on the way in)
    options: tuple[tuple[str, str], ...]       # (letter, rich text)
    points: float
    key: tuple[str, ...] = ()                  # empty unless the key was asked for


@dataclass(frozen=True)
class PrintSection:
    index: int
    item_type: str
    items: tuple[PrintItem, ...]

    @property
    def first(self) -> int:
        return self.items[0].number

    @property
    def last(self) -> int:
        return self.items[-1].number

    @property
    def points_each(self) -> float | None:
        points = {i.points for i in self.items}
        return points.pop() if len(points) == 1 else None

    @property
    def total(self) -> float:
        return sum(i.points for i in self.items)


@dataclass(frozen=True)
class PrintablePaper:
    paper_id: int
    title: str
    form_label: str
    status: str
    occupation_code: str
    occupation_name: str
    level: Level
    duration_minutes: int
    total_points: float
    snapshot_hash: str | None
    sections: tuple[PrintSection, ...]
    with_key: bool
    mc_scoring: str = "all_or_nothing"


def printable_paper(session: Session, paper: Paper, *, with_key: bool = False) -> PrintablePaper:
    """The paper as it prints; keys (from the paper's snapshot) only with ``with_key``."""
    versions = paper_versions(session, paper)
    blueprint = blueprint_of(session.get(BlueprintVersion, paper.blueprint_version_id))
    sections: list[PrintSection] = []
    run: list[PrintItem] = []
    for number, slot in enumerate(paper.items, start=1):
        variant = versions[slot.item_version_id].content.get("zh") or {}
        item = PrintItem(number=number, item_type=slot.item_type, stem=variant.get("stem", ""),
                         options=tuple((str(letter), text) for letter, text in variant.get("options", ())),
                         points=slot.points, key=tuple(slot.key) if with_key else ())
        if run and run[-1].item_type != item.item_type:
            sections.append(PrintSection(len(sections), run[-1].item_type, tuple(run)))
            run = []
        run.append(item)
    if run:
        sections.append(PrintSection(len(sections), run[-1].item_type, tuple(run)))
    return PrintablePaper(
        paper_id=paper.id, title=paper.title, form_label=paper.form_label, status=paper.status,
        occupation_code=blueprint.occupation_code, occupation_name=blueprint.occupation_name,
        level=blueprint.level, duration_minutes=paper.duration_minutes, total_points=paper.total_points,
        snapshot_hash=paper.snapshot_hash, sections=tuple(sections), with_key=with_key,
        mc_scoring=blueprint.paper.multiple_choice_scoring)


# --- words shared by the HTML page and the PDF ------------------------------------------------

def _zh() -> bool:
    return current_locale().startswith("zh")


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def level_text(level: Level) -> str:
    return level.name_zh if _zh() else level.name_en


def section_numeral(section: PrintSection) -> str:
    """一, 二, 三 … in Chinese; 1, 2, 3 … otherwise."""
    if _zh() and section.index < len(ZH_NUMERALS):
        return ZH_NUMERALS[section.index]
    return str(section.index + 1)


def section_heading(section: PrintSection) -> str:
    names = {"true_false": _("True/false questions"), "single_choice": _("Single-choice questions"),
             "multiple_choice": _("Multiple-choice questions")}
    name = names.get(section.item_type, section.item_type)
    return f"{section_numeral(section)}{'、' if _zh() else '. '}{name}"


def section_instruction(section: PrintSection, mc_scoring: str = "all_or_nothing") -> str:
    how = {"true_false": _("Mark each statement √ if it is right or × if it is wrong, in the brackets."),
           "single_choice": _("Choose the one right answer and write its letter in the brackets."),
           "multiple_choice": _("Choose two or more right answers and write their letters in the brackets.")
           }.get(section.item_type, "")
    if section.item_type == "multiple_choice" and mc_scoring == "all_or_nothing":
        how += " " + _("A wrong or missing letter scores nothing.")
    values = {"first": section.first, "last": section.last, "total": number(section.total)}
    if section.points_each is not None:
        points = _("Questions %(first)s to %(last)s. %(how)s %(each)s point(s) each, %(total)s points in all.",
                   how=how, each=number(section.points_each), **values)
    else:
        points = _("Questions %(first)s to %(last)s. %(how)s %(total)s points in all.", how=how, **values)
    return f"（{points}）" if _zh() else f"({points})"


def key_text(item: PrintItem) -> str:
    if item.item_type == "true_false":
        return "√" if list(item.key) == ["T"] else "×"
    return "".join(item.key)


def header_line(doc: PrintablePaper) -> str:
    return _("Occupation: %(occupation)s (%(code)s) · Level: %(level)s · Time: %(minutes)s minutes · "
             "Total: %(points)s points", occupation=doc.occupation_name, code=doc.occupation_code,
             level=level_text(doc.level), minutes=doc.duration_minutes, points=number(doc.total_points))


def status_notice(doc: PrintablePaper) -> str:
    """A line that keeps an unlocked or retired paper from passing for the real one."""
    if doc.status == "draft":
        return _("DRAFT: this paper is not locked and may still be discarded.")
    if doc.status == "retired":
        return _("RETIRED: this paper is no longer used.")
    return ""


def notes(doc: PrintablePaper) -> list[str]:
    return [_("Time allowed: %(minutes)s minutes.", minutes=doc.duration_minutes),
            _("Write your name, admission ticket number and organisation on the lines above first."),
            _("Read the instructions of each part and write your answers where they ask."),
            _("Do not scribble on the paper or write anything unrelated in the name area.")]


def pdf_text(html: str) -> str:
    """Plain text of stored rich text for the PDF; each image becomes a placeholder."""
    return plain_text(_IMG.sub(" " + _("[image]") + " ", html or ""))


# --- PDF ----------------------------------------------------------------------------------------

GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, HexColor("#52606d")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("BACKGROUND", (0, 0), (0, -1), HexColor("#eef2f6"))])


def header_flow(doc: PrintablePaper, s: dict[str, Any], subtitle: str) -> list[Flowable]:
    flow: list[Flowable] = [pdf.paragraph(doc.title, s["title"]), pdf.paragraph(subtitle, s["subtitle"])]
    notice = status_notice(doc)
    if notice:
        flow.append(pdf.paragraph(notice, s["subtitle"]))
    flow.append(pdf.paragraph(header_line(doc), s["subtitle"]))
    return flow


def page_footer(doc: PrintablePaper, what: str):
    return lambda page: _("%(title)s · %(what)s · page %(page)s", title=doc.title, what=what, page=page)


def paper_pdf(doc: PrintablePaper) -> bytes:
    """The printable paper as an A4 PDF: header, name lines, score table, notes, sections."""
    s = pdf.styles()
    flow = header_flow(doc, s, _("Theory knowledge examination paper"))
    blank = "＿" * 8
    flow.append(pdf.paragraph(_("Name: %(line)s  Admission ticket: %(line)s  Organisation: %(line)s",
                                line=blank), s["body"]))
    flow.append(Spacer(1, 3 * mm))
    heads = [section_numeral(section) for section in doc.sections]
    table = Table([[pdf.paragraph(t, s["cell"]) for t in [_("Part"), *heads, _("Total")]],
                   [pdf.paragraph(_("Score"), s["cell"])] + [""] * (len(heads) + 1),
                   [pdf.paragraph(_("Marker"), s["cell"])] + [""] * (len(heads) + 1)],
                  colWidths=[22 * mm] + [20 * mm] * (len(heads) + 1), rowHeights=[None, 9 * mm, 9 * mm])
    table.setStyle(GRID)
    flow += [table, Spacer(1, 3 * mm), pdf.paragraph(_("Notes"), s["heading"])]
    flow += [pdf.paragraph(f"{n}. {text}", s["small"]) for n, text in enumerate(notes(doc), start=1)]
    for section in doc.sections:
        flow += [pdf.paragraph(section_heading(section), s["heading"]),
                 pdf.paragraph(section_instruction(section, doc.mc_scoring), s["small"])]
        for item in section.items:
            mark = "（　）" if item.item_type == "true_false" else ""
            block = [pdf.paragraph(f"{item.number}. {mark}{pdf_text(item.stem)}", s["item"])]
            block += [pdf.paragraph(f"{letter}. {pdf_text(text)}", s["option"]) for letter, text in item.options]
            flow.append(KeepTogether(block))
    return pdf.render(flow, title=doc.title, footer=page_footer(doc, _("Paper")))


def key_pdf(doc: PrintablePaper) -> bytes:
    """The answer key as an A4 PDF: per section, question numbers over their keys, ten a row."""
    if not doc.with_key:
        raise ValueError("key_pdf needs a PrintablePaper built with_key=True")
    s = pdf.styles()
    flow = header_flow(doc, s, _("Answer key"))
    if doc.snapshot_hash:
        flow.append(pdf.paragraph(_("Snapshot %(hash)s", hash=doc.snapshot_hash), s["small"]))
    width = (pdf.PAGE_SIZE[0] - 2 * pdf.MARGIN - 22 * mm) / 10
    for section in doc.sections:
        flow += [pdf.paragraph(section_heading(section), s["heading"])]
        rows = []
        for start in range(0, len(section.items), 10):
            chunk = section.items[start:start + 10]
            pad = [""] * (10 - len(chunk))
            rows.append([pdf.paragraph(_("Question"), s["cell"])]
                        + [pdf.paragraph(str(i.number), s["cell"]) for i in chunk] + pad)
            rows.append([pdf.paragraph(_("Answer"), s["cell"])]
                        + [pdf.paragraph(key_text(i), s["cell"]) for i in chunk] + pad)
        table = Table(rows, colWidths=[22 * mm] + [width] * 10)
        table.setStyle(GRID)
        flow.append(table)
    return pdf.render(flow, title=doc.title, footer=page_footer(doc, _("Answer key")))
