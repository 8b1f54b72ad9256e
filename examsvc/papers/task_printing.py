"""The printed documents of a skill or review paper, from its task snapshots:

- the task book (考核试题/任务书) for candidates: each task with its time, points, workstation and
  equipment, materials, and the veto items (否决项) they must know; never the rubric;
- the score sheets (评分记录表) for examiners: one page per task with its rubric lines (评分要素,
  配分, 评分标准), blanks for the result, deduction and score, the veto items to tick, and lines for
  the examiners' and the chief's signatures.

Both share the paper header of :mod:`examsvc.papers.printing` and are rendered with
:mod:`examsvc.pdf` (A4, CJK font).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table
from sqlalchemy.orm import Session

from examsvc import pdf
from examsvc.bank.models import BlueprintVersion
from examsvc.bank.service import blueprint_of
from examsvc.papers.models import Paper
from examsvc.papers.printing import GRID, header_flow, number, page_footer
from examsvc.papers.skill import paper_tasks
from itembank.blueprint import SkillTask
from itembank.levels import Level

BLANK = "＿" * 8


@dataclass(frozen=True)
class TaskDocument:
    """A skill or review paper as it prints (same header fields as ``printing.PrintablePaper``)."""

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
    tasks: tuple[SkillTask, ...]
    module_names: dict[str, str]


def task_document(session: Session, paper: Paper) -> TaskDocument:
    blueprint = blueprint_of(session.get(BlueprintVersion, paper.blueprint_version_id))
    return TaskDocument(
        paper_id=paper.id, title=paper.title, form_label=paper.form_label, status=paper.status,
        occupation_code=blueprint.occupation_code, occupation_name=blueprint.occupation_name,
        level=blueprint.level, duration_minutes=paper.duration_minutes, total_points=paper.total_points,
        snapshot_hash=paper.snapshot_hash, tasks=tuple(paper_tasks(session, paper)),
        module_names={m.code: m.name for m in blueprint.paper.skill_modules})


def task_heading(doc: TaskDocument, number_: int, task: SkillTask) -> str:
    module = doc.module_names.get(task.module)
    text = _("Task %(n)s: %(code)s %(title)s", n=number_, code=task.code, title=task.title)
    return f"{text}（{task.module} {module}）" if module else text


def task_terms(task: SkillTask) -> str:
    return _("%(points)s points · %(minutes)s minutes", points=number(task.points), minutes=task.time_minutes)


def _listing(title: str, lines: tuple[str, ...], s) -> list[Flowable]:
    if not lines:
        return []
    return [pdf.paragraph(title, s["body"])] + [pdf.paragraph(f"{n}. {line}", s["option"])
                                                for n, line in enumerate(lines, start=1)]


def task_book_pdf(doc: TaskDocument) -> bytes:
    """The candidates' task book: header, candidate lines, notes, then each task without rubric."""
    s = pdf.styles()
    flow = header_flow(doc, s, _("Task book for candidates"))
    flow += [pdf.paragraph(_("Name: %(line)s  Admission ticket: %(line)s  Workstation: %(line)s", line=BLANK),
                           s["body"]), Spacer(1, 3 * mm), pdf.paragraph(_("Notes"), s["heading"])]
    notes = [_("Time allowed: %(minutes)s minutes in all; each task states its own time.",
               minutes=doc.duration_minutes),
             _("Check the materials and equipment listed for each task at your workstation before you start."),
             _("A veto item (safety breach) stops the task at once and scores it zero.")]
    flow += [pdf.paragraph(f"{n}. {text}", s["small"]) for n, text in enumerate(notes, start=1)]
    for n, task in enumerate(doc.tasks, start=1):
        block = [pdf.paragraph(task_heading(doc, n, task), s["heading"]), pdf.paragraph(task_terms(task), s["small"])]
        block += _listing(_("Workstation and equipment"), task.equipment, s)
        block += _listing(_("Materials, tools and gauges"), task.materials, s)
        block += _listing(_("Veto items: any of these scores the task zero"), task.vetoes, s)
        flow.append(KeepTogether(block))
    return pdf.render(flow, title=doc.title, footer=page_footer(doc, _("Task book")))


def _rubric_table(task: SkillTask, s) -> Table:
    head = [_("No."), _("Scoring element"), _("Points"), _("Scoring standard"), _("Result"), _("Deduction"),
            _("Score")]
    rows = [[pdf.paragraph(text, s["cell"]) for text in head]]
    for n, criterion in enumerate(task.rubric, start=1):
        rows.append([pdf.paragraph(str(n), s["cell"]), pdf.paragraph(criterion.description, s["body"]),
                     pdf.paragraph(number(criterion.points), s["cell"]),
                     pdf.paragraph(criterion.deduction_rule, s["small"]), "", "", ""])
    rows.append([pdf.paragraph(_("Total"), s["cell"]), "", pdf.paragraph(number(task.points), s["cell"]), "", "",
                 "", ""])
    width = pdf.PAGE_SIZE[0] - 2 * pdf.MARGIN
    table = Table(rows, colWidths=[10 * mm, 48 * mm, 13 * mm, width - 121 * mm, 18 * mm, 16 * mm, 16 * mm],
                  repeatRows=1)
    table.setStyle(GRID)
    return table


def _veto_table(task: SkillTask, s) -> list[Flowable]:
    if not task.vetoes:
        return []
    rows = [[pdf.paragraph(_("Veto item"), s["cell"]), pdf.paragraph(_("Occurred"), s["cell"])]]
    rows += [[pdf.paragraph(veto, s["body"]), pdf.paragraph(_("□ yes  □ no"), s["cell"])] for veto in task.vetoes]
    width = pdf.PAGE_SIZE[0] - 2 * pdf.MARGIN
    table = Table(rows, colWidths=[width - 40 * mm, 40 * mm])
    table.setStyle(GRID)
    return [Spacer(1, 3 * mm), pdf.paragraph(_("Veto items: if any occurred, the task scores zero."), s["body"]),
            table]


def score_sheets_pdf(doc: TaskDocument) -> bytes:
    """The examiners' score sheets: one page per task, rubric lines with blanks, vetoes, signatures."""
    s = pdf.styles()
    flow: list[Flowable] = []
    for n, task in enumerate(doc.tasks, start=1):
        if n > 1:
            flow.append(PageBreak())
        flow += header_flow(doc, s, _("Score sheet"))
        flow += [pdf.paragraph(task_heading(doc, n, task), s["heading"]), pdf.paragraph(task_terms(task), s["small"]),
                 pdf.paragraph(_("Name: %(line)s  Admission ticket: %(line)s  Workstation: %(line)s", line=BLANK),
                               s["body"]), Spacer(1, 2 * mm), _rubric_table(task, s)]
        flow += _veto_table(task, s)
        flow += [Spacer(1, 6 * mm),
                 pdf.paragraph(_("Examiner: %(line)s  Date: %(line)s", line=BLANK), s["body"]), Spacer(1, 4 * mm),
                 pdf.paragraph(_("Chief examiner: %(line)s  Date: %(line)s", line=BLANK), s["body"])]
    return pdf.render(flow, title=doc.title, footer=page_footer(doc, _("Score sheets")))
