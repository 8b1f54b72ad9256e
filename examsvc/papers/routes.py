"""The papers' pages (试卷与组卷): the list, the assemble form, a run's progress and outcome, a
paper's report with lock / retire / discard, the printable paper and, apart from it, the answer
key, each as an HTML print page and as a PDF; for a skill or review paper the task book (任务书)
and, apart from it, the score sheets (评分记录表), as PDFs.

Handlers parse the form, call the service inside ``unit_of_work`` and render; a
:class:`ServiceError` re-renders the page with the message and the field it names. Who may see
what is decided by :func:`examsvc.auth.require_permission` with the paper's institution and by
the service's ``require_content_access`` / ``require_key_access``.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Flask, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from examsvc import clock
from examsvc.clock import local_time
from examsvc.app import current_locale
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission, permission_required, require_permission
from examsvc.bank.models import BlueprintVersion
from examsvc.bank.routes import rich, type_names
from examsvc.bank.service import blueprint_of
from examsvc.db import get_session, unit_of_work
from examsvc.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.jobs.worker import kick
from examsvc.papers import printing, service, task_printing
from examsvc.papers.chart import information_chart
from examsvc.papers.models import Paper

bp = Blueprint("papers", __name__, url_prefix="/papers")

#: The overrides the assemble form offers (names as in ``itembank.assembly.OVERRIDE_KEYS``).
OVERRIDE_FIELDS = ("seed", "time_limit", "target_difficulty", "difficulty_tolerance", "max_overlap")
#: Ticked boxes of the assemble form that become ``True`` overrides (task draws of skill papers).
OVERRIDE_FLAGS = ("allow_overlap",)
_WHOLE = {"seed", "max_overlap"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _actor() -> Any:
    return current_user._get_current_object()


def _zh() -> bool:
    return current_locale().startswith("zh")


def localised(obj: Any) -> str:
    """A message (error, or a stored reason dict) in the page's language."""
    if isinstance(obj, Mapping):
        return obj.get("message", "") if _zh() or not obj.get("message_en") else obj["message_en"]
    return obj.message if _zh() or not getattr(obj, "message_en", "") else obj.message_en


def field_label(field: str | None) -> str:
    names = {"institution_id": _("Institution"), "institution": _("Institution"),
             "blueprint_version_id": _("Blueprint version"), "forms": _("Number of parallel forms"),
             "seed": _("Random seed"), "time_limit": _("Solver time limit (seconds)"),
             "target_difficulty": _("Target difficulty"), "difficulty_tolerance": _("Difficulty tolerance"),
             "max_overlap": _("Items two forms may share"), "overrides": _("Overrides"),
             "confirm": _("Confirmation"), "reason": _("Reason"), "status": _("Status"), "paper_id": _("Paper"),
             "type_counts": _("Items per type"), "max_items_per_element": _("Items per element"),
             "min_element_coverage": _("Element coverage"),
             "allow_overlap": _("Task sets may share tasks")}
    return names.get(field or "", field or "")


def status_names() -> dict[str, str]:
    return {"draft": _("Draft"), "locked": _("Locked"), "used": _("Used"), "retired": _("Retired"),
            "queued": _("Queued"), "running": _("Assembling"), "done": _("Done"),
            "infeasible": _("The bank falls short"), "failed": _("Failed")}


@bp.context_processor
def _papers_globals() -> dict[str, Any]:
    return {"field_label": field_label, "localised": localised, "status_names": status_names(),
            "local_time": local_time, "type_names": type_names(), "rich": rich, "printing": printing,
            "can_assemble": has_permission(current_user, Permission.INSTITUTION_MANAGE)}


def _paper(paper_id: int, permission: Permission = Permission.INSTITUTION_VIEW) -> Paper:
    """The paper, once the user holds ``permission`` in its institution (404 before 403)."""
    paper = service.get_paper(get_session(), paper_id)
    if permission is Permission.INSTITUTION_MANAGE:
        service.require_manage(_actor(), paper.institution_id)
    else:
        service.require_view(get_session(), _actor(), paper.institution_id)
    return paper


# --- list -------------------------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.INSTITUTION_VIEW)
def list_papers() -> Any:
    session = get_session()
    status = request.args.get("status") or None
    return render_template("papers/list.html", papers=service.list_papers(session, current_user, status=status),
                           runs=service.list_runs(session, current_user), status=status)


# --- assemble ---------------------------------------------------------------------------------

def _number(form: Mapping[str, str], name: str, whole: bool) -> int | float | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        raise ValidationFailed(f"应填写{'整数' if whole else '数字'}，而不是“{text}”",
                               f"enter a {'whole number' if whole else 'number'}, not {text!r}", field=name) from None


def assembly_request(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's fields as ``request_assembly`` arguments; empty overrides keep the blueprint's value."""
    values = {}
    for name in ("institution_id", "blueprint_version_id", "forms"):
        value = _number(form, name, whole=True)
        if value is None:
            raise ValidationFailed("此项必填", "this field is required", field=name)
        values[name] = value
    overrides = {name: value for name in OVERRIDE_FIELDS
                 if (value := _number(form, name, whole=name in _WHOLE)) is not None}
    overrides.update({name: True for name in OVERRIDE_FLAGS if form.get(name) == "1"})
    return {**values, "overrides": overrides}


def _assemble_page(form: Mapping[str, str], error: ServiceError | None = None, status: int = 200) -> Any:
    choices = service.assembly_choices(get_session(), current_user, clock.now().date())
    chosen = form.get("institution_id", type=int)
    current = next((c for c in choices if c.institution.id == chosen), choices[0] if choices else None)
    models = {v.id: blueprint_of(v) for c in choices for b in c.blueprints for v in b.versions[:1]}
    return render_template("papers/assemble.html", choices=choices, current=current, form=form, error=error,
                           models=models, max_forms=service.MAX_FORMS), status


@bp.route("/assemble")
@permission_required(Permission.INSTITUTION_MANAGE)
def assemble_form() -> Any:
    return _assemble_page(request.args)


@bp.route("/assemble", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def assemble() -> Any:
    try:
        fields = assembly_request(request.form)
        require_permission(current_user, Permission.INSTITUTION_MANAGE, fields["institution_id"])
        with unit_of_work() as session:
            run = service.request_assembly(session, **fields, actor=_actor())
    except Forbidden:
        raise
    except ServiceError as exc:
        return _assemble_page(request.form, exc, exc.status)
    kick()
    return redirect(url_for("papers.show_run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def show_run(run_id: int) -> Any:
    session = get_session()
    run = service.get_run(session, run_id)
    service.require_view(session, _actor(), run.institution_id)
    version = session.get(BlueprintVersion, run.blueprint_version_id)
    return render_template("papers/run.html", run=run, state=service.run_state(session, run), version=version)


# --- one paper --------------------------------------------------------------------------------

def _paper_page(paper_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    paper = _paper(paper_id)
    session = get_session()
    version = session.get(BlueprintVersion, paper.blueprint_version_id)
    return render_template(
        "papers/paper.html", paper=paper, report=paper.report, version=version, error=error,
        chart=information_chart(paper.report.get("information")),
        can_manage=has_permission(current_user, Permission.INSTITUTION_MANAGE, paper.institution_id),
        can_read=_allowed(service.require_content_access, paper),
        can_key=_allowed(service.require_key_access, paper)), status


def _allowed(check: Any, paper: Paper) -> bool:
    try:
        check(current_user, paper)
    except Forbidden:
        return False
    return True


@bp.route("/<int:paper_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def show_paper(paper_id: int) -> Any:
    return _paper_page(paper_id)


def _confirmed(what: str) -> None:
    if request.form.get("confirm") != "1":
        raise ValidationFailed(f"请勾选确认后再{what}", "tick the box to confirm", field="confirm")


def _change(paper_id: int, action: Any, done: str) -> Any:
    """Run ``action(session, paper)`` in a unit of work and go where it says (default: the paper);
    on a refusal, the paper page says why."""
    try:
        with unit_of_work() as session:
            target = action(session, _paper(paper_id, Permission.INSTITUTION_MANAGE))
    except (NotFound, Forbidden):
        raise
    except ServiceError as exc:
        return _paper_page(paper_id, exc, exc.status)
    flash(done)
    return redirect(target or url_for("papers.show_paper", paper_id=paper_id))


@bp.route("/<int:paper_id>/lock", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def lock_paper(paper_id: int) -> Any:
    def lock(session: Any, paper: Paper) -> None:
        _confirmed("锁定")
        service.lock_paper(session, paper, _actor())

    return _change(paper_id, lock, _("The paper is locked: it will not change again."))


@bp.route("/<int:paper_id>/retire", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def retire_paper(paper_id: int) -> Any:
    def retire(session: Any, paper: Paper) -> None:
        service.retire_paper(session, paper, _actor(), request.form.get("reason", ""))

    return _change(paper_id, retire, _("The paper is retired: no session will use it."))


@bp.route("/<int:paper_id>/discard", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def discard_paper(paper_id: int) -> Any:
    def discard(session: Any, paper: Paper) -> str:
        _confirmed("删除")
        run_id = paper.run_id
        service.discard_draft(session, paper, _actor())
        return url_for("papers.show_run", run_id=run_id)

    return _change(paper_id, discard, _("The draft paper was discarded."))


# --- printable paper and answer key --------------------------------------------------------------

def _printable(paper_id: int, *, key: bool, fmt: str) -> printing.PrintablePaper:
    """The paper for printing, after the access check; who opened it is on the audit trail."""
    with unit_of_work() as session:
        paper = service.get_paper(session, paper_id)
        (service.require_key_access if key else service.require_content_access)(current_user, paper)
        record(session, _actor(), "paper.key_open" if key else "paper.print", paper, {"format": fmt})
        return printing.printable_paper(session, paper, with_key=key)


def _pdf_response(data: bytes, name: str) -> Any:
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename=\"{name}\""
    response.headers["Cache-Control"] = "no-store"  # exam material stays out of shared caches
    return response


@bp.route("/<int:paper_id>/print")
@permission_required(Permission.INSTITUTION_VIEW)
def print_paper(paper_id: int) -> Any:
    response = make_response(render_template("papers/print.html", doc=_printable(paper_id, key=False, fmt="html")))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:paper_id>/print.pdf")
@permission_required(Permission.INSTITUTION_VIEW)
def print_pdf(paper_id: int) -> Any:
    doc = _printable(paper_id, key=False, fmt="pdf")
    return _pdf_response(printing.paper_pdf(doc), f"paper-{paper_id}-{doc.form_label}.pdf")


@bp.route("/<int:paper_id>/key")
@permission_required(Permission.INSTITUTION_VIEW)
def key_page(paper_id: int) -> Any:
    response = make_response(render_template("papers/key.html", doc=_printable(paper_id, key=True, fmt="html")))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:paper_id>/key.pdf")
@permission_required(Permission.INSTITUTION_VIEW)
def key_pdf(paper_id: int) -> Any:
    doc = _printable(paper_id, key=True, fmt="pdf")
    return _pdf_response(printing.key_pdf(doc), f"paper-{paper_id}-{doc.form_label}-key.pdf")



# --- task book and score sheets of a skill or review paper ------------------------------------

def _task_document(paper_id: int, *, sheets: bool) -> task_printing.TaskDocument:
    """The skill paper for printing, after the access check (score sheets hold the rubric: as the
    key); who opened it is on the audit trail."""
    with unit_of_work() as session:
        paper = service.get_paper(session, paper_id)
        (service.require_key_access if sheets else service.require_content_access)(current_user, paper)
        if not paper.tasks:
            raise NotFound("该试卷没有操作技能试题", "the paper has no tasks (it is a theory paper)", field="paper_id")
        record(session, _actor(), "paper.score_sheets" if sheets else "paper.task_book", paper, {"format": "pdf"})
        return task_printing.task_document(session, paper)


@bp.route("/<int:paper_id>/task-book.pdf")
@permission_required(Permission.INSTITUTION_VIEW)
def task_book_pdf(paper_id: int) -> Any:
    doc = _task_document(paper_id, sheets=False)
    return _pdf_response(task_printing.task_book_pdf(doc), f"paper-{paper_id}-{doc.form_label}-tasks.pdf")


@bp.route("/<int:paper_id>/score-sheets.pdf")
@permission_required(Permission.INSTITUTION_VIEW)
def score_sheets_pdf(paper_id: int) -> Any:
    doc = _task_document(paper_id, sheets=True)
    return _pdf_response(task_printing.score_sheets_pdf(doc), f"paper-{paper_id}-{doc.form_label}-score-sheets.pdf")
