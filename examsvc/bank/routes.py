"""The item bank's pages (题库): the item list, the editor with live findings, the review queue,
version history and diff, coverage per blueprint, import and export, enemy groups and images.

Handlers parse the form, call one service function inside ``unit_of_work`` and render. A
:class:`ServiceError` re-renders the same form with the message, the field it names and the
user's input; the unit of work has rolled everything back by then.
"""

from __future__ import annotations

import difflib
import io
import re
from typing import Any, Mapping

from flask import (
    Blueprint, Flask, abort, current_app, flash, g, jsonify, make_response, redirect, render_template, request,
    send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from examsvc.app import current_locale
from examsvc.auth import Permission, has_permission, permission_required
from examsvc.bank import imports, service
from examsvc.bank.coverage import coverage
from examsvc.bank.models import ExamBlueprint, Item
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from itembank.blueprint import BlueprintError
from itembank.items import plain_text, sanitize_html
from itembank.spec import Finding, SpecConfig

bp = Blueprint("bank", __name__, url_prefix="/bank")

LETTERS = "ABCDE"
IMPORT_FORMATS = ("excel", "qti", "moodle_xml", "gift")
EXPORT_MEDIA_TYPES = {"excel": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
                      "qti": ("application/zip", "zip")}
_ASSET_SRC = re.compile(r'src="asset:([0-9a-f]{64})"')
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MONGOLIAN = re.compile(r"[\u1800-\u18af]")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _actor() -> Any:
    return current_user._get_current_object()


def _zh() -> bool:
    return current_locale().startswith("zh")


# --- form <-> content -----------------------------------------------------------------------

def _variant_fields(form: Mapping[str, str], lang: str) -> dict[str, Any]:
    options = [(letter, (form.get(f"{lang}.options.{letter}") or "").strip()) for letter in LETTERS]
    while options and not options[-1][1]:
        options.pop()  # unused trailing option boxes; a gap before a filled one stays and is reported
    return {"stem": (form.get(f"{lang}.stem") or "").strip(), "options": options,
            "explanation": (form.get(f"{lang}.explanation") or "").strip()}


def _minutes(text: str) -> int:
    if not text:
        return 0
    if not text.isdecimal():
        raise ValidationFailed("考核时间应为分钟数（整数）", "time must be a whole number of minutes",
                               field="skill.time_minutes")
    return int(text)


def _rubric(text: str) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate((ln.strip() for ln in text.splitlines()), start=1):
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3:
            raise ValidationFailed(f"评分标准第 {number} 行应为 代码|描述|分值|扣分说明",
                                   f"rubric line {number} must be code|description|points|deduction",
                                   field="skill.rubric")
        rows.append({"code": parts[0], "description": parts[1], "points": parts[2],
                     "deduction": "|".join(parts[3:])})
    return rows


def content_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """``build_content`` arguments from the editor's flat field names (``zh.options.B`` ...).

    The same names are the ``field`` of findings and errors, so a message finds its input.
    """
    item_type = (form.get("type") or "").strip()
    fields: dict[str, Any] = {
        "type": item_type, "element_code": (form.get("element_code") or "").strip(),
        "key": (form.get("key") or "").strip(), "zh": _variant_fields(form, "zh"),
        "difficulty_estimate": (form.get("difficulty_estimate") or "").strip() or None,
        "source": (form.get("source") or "").strip(),
    }
    mn = _variant_fields(form, "mn")
    if mn["stem"] or mn["options"] or mn["explanation"]:
        fields["mn"] = mn
    if item_type == "skill_task":
        fields["key"] = None
        fields["skill"] = {"materials": (form.get("skill.materials") or "").strip(),
                           "time_minutes": _minutes((form.get("skill.time_minutes") or "").strip()),
                           "rubric": _rubric(form.get("skill.rubric") or "")}
    return fields


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def form_from_content(content: Mapping[str, Any]) -> dict[str, str]:
    """The editor's fields filled from a stored (canonical) content dict."""
    form = {"type": content["type"], "element_code": content.get("element_code", ""),
            "key": "".join(content.get("key") or ()), "difficulty_estimate": _number_text(content.get("difficulty_estimate")),
            "source": content.get("source", "")}
    for lang in ("zh", "mn"):
        variant = content.get(lang) or {}
        form[f"{lang}.stem"] = variant.get("stem", "")
        form[f"{lang}.explanation"] = variant.get("explanation", "")
        for letter, text in variant.get("options", ()):
            form[f"{lang}.options.{letter}"] = text
    skill = content.get("skill")
    if skill:
        form["skill.materials"] = skill.get("materials", "")
        form["skill.time_minutes"] = str(skill.get("time_minutes") or "")
        form["skill.rubric"] = "\n".join(
            "|".join([r["code"], r["description"], _number_text(r["points"]), r.get("deduction", "")]).rstrip("|")
            for r in skill.get("rubric", ()))
    return form


# --- what templates use ---------------------------------------------------------------------

def type_names() -> dict[str, str]:
    return {"true_false": _("True/false"), "single_choice": _("Single choice"),
            "multiple_choice": _("Multiple choice"), "skill_task": _("Skill task")}


def status_names() -> dict[str, str]:
    return {"draft": _("Draft"), "submitted": _("Submitted"), "approved": _("Approved"),
            "returned": _("Returned"), "superseded": _("Superseded"), "retired": _("Retired")}


def field_label(field: str | None) -> str:
    """A content field name (``zh.options.B``, ``skill.rubric.2.points``) in the user's words."""
    if not field:
        return ""
    if field.startswith("mn.") or field == "mn":
        return _("Mongolian: %(field)s", field=field_label("zh" + field[2:]))
    parts = field.split(".")
    if parts[:2] == ["zh", "options"] and len(parts) == 3:
        return _("Option %(letter)s", letter=parts[2])
    names = {
        "type": _("Item type"), "element_code": _("Element"), "key": _("Key"), "zh": _("Chinese text"),
        "zh.stem": _("Stem"), "zh.options": _("Options"), "zh.explanation": _("Explanation"),
        "difficulty_estimate": _("Difficulty"), "source": _("Source"), "skill": _("Skill task"),
        "skill.materials": _("Materials"), "skill.time_minutes": _("Time (minutes)"), "skill.rubric": _("Rubric"),
        "content": _("Item content"), "status": _("Status"), "decision": _("Decision"), "comments": _("Comments"),
        "reason": _("Reason"), "item_ids": _("Item numbers"), "image": _("Image"), "file": _("File"),
        "format": _("Format"), "blueprint_id": _("Blueprint"), "valid_rows_only": _("Import the valid rows"),
        "job": _("Import"), "version": _("Version"), "item": _("Item"), "page": _("Page"), "language": _("Language"),
    }
    if field in names:
        return names[field]
    if parts[0] == "skill":
        return names["skill.rubric"]
    return names.get(parts[0], field)


def localised(obj: Any) -> str:
    """The message of a finding, error or problem in the page's language."""
    return obj.message if _zh() or not getattr(obj, "message_en", "") else obj.message_en


def rich(html: str | None) -> Markup:
    """Stored rich text for the page: sanitised again (it was on the way in; this is defence in
    depth) and with ``asset:<sha256>`` image sources pointing at the asset route."""
    safe = sanitize_html(html or "")
    return Markup(_ASSET_SRC.sub(lambda m: f'src="{url_for("bank.asset", sha256=m.group(1))}"', safe))


def has_mongolian(text: str | None) -> bool:
    return bool(text and _MONGOLIAN.search(text))


def inline_diff(old: Any, new: Any) -> Markup:
    """Character-level changes of the text of two values, as escaped ``<del>``/``<ins>`` runs."""
    a, b = _diff_text(old), _diff_text(new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape(a[i1:i2]))
            continue
        if i2 > i1:
            out.append(Markup("<del>%s</del>") % a[i1:i2])
        if j2 > j1:
            out.append(Markup("<ins>%s</ins>") % b[j1:j2])
    return Markup("").join(out)


def _diff_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "".join(str(v) for v in value)
    return plain_text(value) if isinstance(value, str) else _number_text(value) if isinstance(value, float) else str(value)


def element_names(blueprint: ExamBlueprint) -> dict[str, str]:
    """Element code -> name of a blueprint's latest version, once per request."""
    cache = g.setdefault("bank_element_names", {})
    if blueprint.id not in cache:
        cache[blueprint.id] = {e.code: e.name for e in service.blueprint_of(blueprint.latest).elements()}
    return cache[blueprint.id]


def may_edit(item: Item) -> bool:
    """Whether the current user gets an edit link (the service decides for real)."""
    latest = item.latest
    if item.retired_at is not None or latest.status in ("submitted", "superseded"):
        return False
    return latest.status != "draft" or latest.author_id == current_user.id


@bp.context_processor
def _bank_globals() -> dict[str, Any]:
    return {"type_names": type_names(), "status_names": status_names(), "field_label": field_label,
            "localised": localised, "rich": rich, "has_mongolian": has_mongolian, "inline_diff": inline_diff,
            "element_names": element_names, "plain_text": plain_text, "may_edit": may_edit,
            "may_retire": service.may_retire,
            "can_write": has_permission(current_user, Permission.BANK_WRITE),
            "can_review": has_permission(current_user, Permission.BANK_REVIEW)}


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"rule": finding.rule, "severity": finding.severity, "field": finding.field,
            "field_label": field_label(finding.field), "message": localised(finding)}


# --- items ----------------------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.BANK_READ)
def list_items() -> Any:
    args = request.args
    filters = {"blueprint_id": args.get("blueprint_id", type=int), "element": args.get("element", "").strip() or None,
               "type": args.get("type") or None, "status": args.get("status") or None,
               "author_id": args.get("author_id", type=int), "language": args.get("language") or None}
    session = get_session()
    error, page, status = None, None, 200
    try:
        page = service.list_items(session, **filters, page=args.get("page", 1, type=int))
    except ServiceError as exc:
        error, status = exc, exc.status
    active = {k: v for k, v in filters.items() if v is not None}
    chosen = session.get(ExamBlueprint, filters["blueprint_id"]) if filters["blueprint_id"] else None
    return render_template(
        "bank/items.html", page=page, filters=filters, error=error, blueprints=service.list_blueprints(session),
        authors=service.list_authors(session), chosen_blueprint=chosen,
        page_url=lambda n: url_for("bank.list_items", **active, page=n)), status


def _chooser(error: ServiceError | None = None, status: int = 200) -> Any:
    return render_template("bank/choose_blueprint.html", blueprints=service.list_blueprints(get_session()),
                           error=error), status


def _editor(blueprint_id: int | None, item_id: int | None, form: Mapping[str, str],
            error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    item = service.get_item(session, item_id) if item_id is not None else None
    blueprint = item.blueprint if item else session.get(ExamBlueprint, blueprint_id) if blueprint_id else None
    if blueprint is None:
        return _chooser(error or NotFound("请选择考核蓝图", "choose a blueprint", field="blueprint_id"),
                        status if error else 404 if blueprint_id else 200)
    return render_template("bank/edit.html", blueprint=blueprint, item=item, form=form, error=error,
                           model=service.blueprint_of(blueprint.latest)), status


@bp.route("/items/new")
@permission_required(Permission.BANK_WRITE)
def new_item() -> Any:
    blueprint_id = request.args.get("blueprint_id", type=int)
    if blueprint_id is None:
        return _chooser()
    return _editor(blueprint_id, None, {"type": request.args.get("type", "single_choice"),
                                        "element_code": request.args.get("element", "")})


@bp.route("/items", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def create_item() -> Any:
    form = request.form
    blueprint_id = form.get("blueprint_id", type=int)
    try:
        if blueprint_id is None:
            raise ValidationFailed("请选择考核蓝图", "choose a blueprint", field="blueprint_id")
        fields = content_fields(form)
        with unit_of_work() as session:
            item = service.create_item(session, blueprint_id=blueprint_id, content=fields, author=_actor())
    except ServiceError as exc:
        return _editor(blueprint_id, None, form, exc, exc.status)
    flash(_("Item %(id)s saved as a draft. Its findings are below.", id=item.id))
    return redirect(url_for("bank.show_item", item_id=item.id))


def _item_page(item_id: int, error: ServiceError | None = None, acknowledged: Any = (), status: int = 200) -> Any:
    detail = service.item_detail(get_session(), item_id)
    return render_template("bank/item.html", detail=detail, item=detail.item, error=error,
                           acknowledged=set(acknowledged)), status


@bp.route("/items/<int:item_id>")
@permission_required(Permission.BANK_READ)
def show_item(item_id: int) -> Any:
    return _item_page(item_id)


@bp.route("/items/<int:item_id>/edit")
@permission_required(Permission.BANK_WRITE)
def edit_item(item_id: int) -> Any:
    item = service.get_item(get_session(), item_id)
    return _editor(None, item_id, form_from_content(item.latest.content))


@bp.route("/items/<int:item_id>/edit", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def save_item(item_id: int) -> Any:
    try:
        fields = content_fields(request.form)
        with unit_of_work() as session:
            version = service.save_item(session, service.get_item(session, item_id), fields, _actor())
    except NotFound:
        raise
    except ServiceError as exc:
        return _editor(None, item_id, request.form, exc, exc.status)
    flash(_("Version %(n)s saved as a draft. Its findings are below.", n=version.number))
    return redirect(url_for("bank.show_item", item_id=item_id))


@bp.route("/items/<int:item_id>/submit", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def submit_item(item_id: int) -> Any:
    acknowledged = request.form.getlist("acknowledged")
    try:
        with unit_of_work() as session:
            item = service.get_item(session, item_id)
            service.submit_version(session, item.latest, _actor(), acknowledged)
    except NotFound:
        raise
    except ServiceError as exc:
        return _item_page(item_id, exc, acknowledged, exc.status)
    flash(_("Version %(n)s submitted for review.", n=item.latest.number))
    return redirect(url_for("bank.show_item", item_id=item_id))


@bp.route("/items/<int:item_id>/retire", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def retire_item(item_id: int) -> Any:
    try:
        with unit_of_work() as session:
            service.retire_item(session, service.get_item(session, item_id), _actor(), request.form.get("reason", ""))
    except NotFound:
        raise
    except ServiceError as exc:
        return _item_page(item_id, exc, status=exc.status)
    flash(_("Item %(id)s retired: no new paper will use it.", id=item_id))
    return redirect(url_for("bank.show_item", item_id=item_id))


@bp.route("/items/<int:item_id>/diff")
@permission_required(Permission.BANK_READ)
def diff_item(item_id: int) -> Any:
    diff = service.version_diff(get_session(), item_id, request.args.get("from", type=int),
                                request.args.get("to", type=int))
    return render_template("bank/diff.html", diff=diff, item=diff.item)


@bp.route("/check", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def check() -> Any:
    """The editor's live findings: the form as JSON in, findings as JSON out."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        error = ValidationFailed("请求应为 JSON 对象", "the body must be a JSON object", field="content")
        return jsonify(error.to_dict(current_locale())), 400
    form = {k: str(v) for k, v in data.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    try:
        blueprint_id = int(form.get("blueprint_id", ""))
    except ValueError:
        error = ValidationFailed("请选择考核蓝图", "choose a blueprint", field="blueprint_id")
        return jsonify(error.to_dict(current_locale())), 400
    try:
        findings = service.check_content(get_session(), blueprint_id, content_fields(form))
    except NotFound as exc:
        return jsonify(exc.to_dict(current_locale())), exc.status
    except ServiceError as exc:  # the form itself (rubric lines, minutes) is malformed
        findings = [Finding(exc.code, "error", exc.field or "content", exc.message, exc.message_en)]
    return jsonify(findings=[_finding_json(f) for f in findings],
                   errors=sum(f.severity == "error" for f in findings),
                   warnings=sum(f.severity == "warning" for f in findings))


# --- review ---------------------------------------------------------------------------------

def _queue_page(error: ServiceError | None = None, error_version: int | None = None, comments: str = "",
                status: int = 200) -> Any:
    queue = service.review_queue(get_session(), _actor(), blueprint_id=request.args.get("blueprint_id", type=int))
    return render_template("bank/queue.html", queue=queue, error=error, error_version=error_version,
                           comments=comments), status


@bp.route("/review")
@permission_required(Permission.BANK_REVIEW)
def review_queue() -> Any:
    return _queue_page()


@bp.route("/versions/<int:version_id>/review", methods=["POST"])
@permission_required(Permission.BANK_REVIEW)
def review_version(version_id: int) -> Any:
    decision = request.form.get("decision", "")
    comments = request.form.get("comments", "")
    try:
        with unit_of_work() as session:
            version = service.review_version(session, service.get_version(session, version_id), _actor(), decision,
                                             comments, approvals_needed=current_app.config["BANK_APPROVALS_NEEDED"])
    except NotFound:
        raise
    except ServiceError as exc:
        return _queue_page(exc, version_id, comments, exc.status)
    messages = {"approved": _("Item %(id)s version %(n)s approved."),
                "returned": _("Item %(id)s version %(n)s returned to its writer."),
                "submitted": _("Your approval of item %(id)s version %(n)s is recorded; it needs more approvals.")}
    flash(messages.get(version.status, messages["submitted"]) % {"id": version.item_id, "n": version.number})
    return redirect(url_for("bank.review_queue"))


# --- blueprints, coverage, export -----------------------------------------------------------

def _blueprints_page(error: ServiceError | None = None, problems: Any = None, status: int = 200) -> Any:
    return render_template("bank/blueprints.html", blueprints=service.list_blueprints(get_session()),
                           error=error, problems=problems or []), status


@bp.route("/blueprints")
@permission_required(Permission.BANK_READ)
def list_blueprints() -> Any:
    return _blueprints_page()


@bp.route("/blueprints", methods=["POST"])
@permission_required(Permission.BANK_REVIEW)
def upload_blueprint() -> Any:
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("请选择蓝图文件（.toml 或 .yaml）", "choose a blueprint file (.toml or .yaml)",
                                   field="file")
        data = upload.read(service.MAX_BLUEPRINT_BYTES + 1)
        with unit_of_work() as session:
            version, created = service.upload_blueprint(session, upload.filename, data, _actor())
    except BlueprintError as exc:
        return _blueprints_page(problems=exc.errors, status=422)
    except ServiceError as exc:
        return _blueprints_page(exc, status=exc.status)
    if created:
        flash(_("%(title)s stored as version %(n)s.", title=version.blueprint.title, n=version.number))
    else:
        flash(_("%(title)s is unchanged (version %(n)s).", title=version.blueprint.title, n=version.number))
    return redirect(url_for("bank.list_blueprints"))


def _key_balance_rows(report: Any, config: SpecConfig) -> list[dict[str, Any]]:
    """Key shares per item type, each marked when outside the spec's band (once there are enough items)."""
    bands = {"single_choice": (config.key_share_min, config.key_share_max),
             "true_false": (config.true_false_share_min, config.true_false_share_max)}
    rows = []
    for item_type, balance in report.key_balance.items():
        band = bands.get(item_type)
        judged = band is not None and balance.total >= config.key_balance_min_items
        rows.append({"type": item_type, "total": balance.total, "band": band, "judged": judged,
                     "letters": [(letter, balance.counts[letter], balance.shares[letter],
                                  judged and not band[0] <= balance.shares[letter] <= band[1])
                                 for letter in balance.counts]})
    return rows


@bp.route("/blueprints/<int:blueprint_id>/coverage")
@permission_required(Permission.BANK_READ)
def coverage_page(blueprint_id: int) -> Any:
    session = get_session()
    blueprint = service.get_blueprint(session, blueprint_id)
    config = SpecConfig()
    result = coverage(session, blueprint, config)
    pairs = [(pair, int(pair.first), int(pair.second)) for pair in result.report.near_duplicates]
    grouped = service.enemy_pairs(session, {i for _pair, a, b in pairs for i in (a, b)})
    rows = result.rows()
    return render_template(
        "bank/coverage.html", blueprint=blueprint, result=result, report=result.report, rows=rows,
        short_count=sum(1 for row in rows if row[4]), key_rows=_key_balance_rows(result.report, config), config=config,
        duplicates=[(pair, a, b, frozenset((a, b)) in grouped) for pair, a, b in pairs],
        spread_low=any(f.rule == "difficulty-spread" for f in result.report.findings))


@bp.route("/blueprints/<int:blueprint_id>/export")
@permission_required(Permission.BANK_READ)
def export_items(blueprint_id: int) -> Any:
    fmt = request.args.get("format", "excel")
    approved_only = request.args.get("versions", "approved") != "latest"
    with unit_of_work() as session:
        blueprint, data = service.export_bank(session, blueprint_id, fmt, _actor(), approved_only=approved_only)
    media_type, suffix = EXPORT_MEDIA_TYPES[fmt]
    name = f"{blueprint.occupation_code}_L{blueprint.level}_{blueprint.component}_{'approved' if approved_only else 'latest'}.{suffix}"
    return send_file(io.BytesIO(data), mimetype=media_type, as_attachment=True, download_name=name)


@bp.route("/template.xlsx")
@permission_required(Permission.BANK_READ)
def blank_template() -> Any:
    from itembank.interchange.excel import blank_template as template

    return send_file(io.BytesIO(template()), mimetype=EXPORT_MEDIA_TYPES["excel"][0], as_attachment=True,
                     download_name="试题导入模板.xlsx")


# --- import ---------------------------------------------------------------------------------

def _import_form(form: Mapping[str, str] | None = None, error: ServiceError | None = None, status: int = 200) -> Any:
    return render_template("bank/import.html", blueprints=service.list_blueprints(get_session()),
                           formats=IMPORT_FORMATS, form=form or {}, error=error), status


@bp.route("/import")
@permission_required(Permission.BANK_WRITE)
def import_form() -> Any:
    return _import_form({"blueprint_id": request.args.get("blueprint_id", "")})


@bp.route("/import", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def upload_import() -> Any:
    form = request.form
    upload = request.files.get("file")
    blueprint_id = form.get("blueprint_id", type=int)
    try:
        if blueprint_id is None:
            raise ValidationFailed("请选择考核蓝图", "choose a blueprint", field="blueprint_id")
        if upload is None or not upload.filename:
            raise ValidationFailed("请选择要导入的文件", "choose a file to import", field="file")
        data = upload.read(imports.MAX_UPLOAD_BYTES + 1)
        with unit_of_work() as session:
            job = imports.validate_import(session, service.get_blueprint(session, blueprint_id), form.get("format", ""),
                                          upload.filename, data, _actor(), form.get("default_element_code", "").strip())
    except ServiceError as exc:
        return _import_form(form, exc, exc.status)
    return redirect(url_for("bank.import_job", job_id=job.id))


def _job_page(job_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    job = imports.get_job(session, job_id)
    return render_template("bank/import_job.html", job=job, blueprint=service.get_blueprint(session, job.blueprint_id),
                           error=error), status


@bp.route("/import/<int:job_id>")
@permission_required(Permission.BANK_WRITE)
def import_job(job_id: int) -> Any:
    return _job_page(job_id)


@bp.route("/import/<int:job_id>/confirm", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def confirm_import(job_id: int) -> Any:
    valid_rows_only = request.form.get("valid_rows_only") == "1"
    try:
        with unit_of_work() as session:
            count = imports.confirm_import(session, imports.get_job(session, job_id), _actor(),
                                           valid_rows_only=valid_rows_only)
    except NotFound:
        raise
    except ServiceError as exc:
        return _job_page(job_id, exc, exc.status)
    flash(_("%(n)s items imported and submitted for review.", n=count))
    return redirect(url_for("bank.import_job", job_id=job_id))


# --- enemy groups ---------------------------------------------------------------------------

def _item_ids(text: str) -> list[int]:
    parts = [p for p in re.split(r"[\s,，、;；]+", text.strip()) if p]
    if not all(p.isdecimal() for p in parts):
        raise ValidationFailed("试题编号应为数字，用逗号或空格分隔", "item numbers are digits separated by commas or spaces",
                               field="item_ids")
    return [int(p) for p in parts]


def _enemy_page(error: ServiceError | None = None, form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    return render_template("bank/enemy_groups.html", groups=service.list_enemy_groups(get_session()),
                           error=error, form=form or {}), status


@bp.route("/enemy-groups")
@permission_required(Permission.BANK_READ)
def enemy_groups() -> Any:
    return _enemy_page(form={"item_ids": request.args.get("item_ids", "")})


@bp.route("/enemy-groups", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def create_enemy_group() -> Any:
    form = request.form
    try:
        ids = _item_ids(form.get("item_ids", ""))
        with unit_of_work() as session:
            group = service.create_enemy_group(session, ids, form.get("name", ""), form.get("reason", ""), _actor())
    except ServiceError as exc:
        return _enemy_page(exc, form, exc.status)
    flash(_("Enemy group %(name)s created: items %(ids)s never share a paper.", name=group.name,
            ids="、".join(str(m.item_id) for m in group.members)))
    back = form.get("coverage_of", type=int)
    return redirect(url_for("bank.coverage_page", blueprint_id=back) if back else url_for("bank.enemy_groups"))


# --- images ---------------------------------------------------------------------------------

def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.route("/assets", methods=["POST"])
@permission_required(Permission.BANK_WRITE)
def upload_asset() -> Any:
    upload = request.files.get("image")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("请选择图片文件", "choose an image file", field="image")
        data = upload.read(service.MAX_IMAGE_BYTES + 1)
        with unit_of_work() as session:
            reference = service.store_asset(session, data, _actor())
    except ServiceError as exc:
        if _wants_json():
            return jsonify(exc.to_dict(current_locale())), exc.status
        return render_template("bank/asset.html", error=exc), exc.status
    digest = reference.removeprefix("asset:")
    snippet = f'<img src="{reference}" alt="">'
    if _wants_json():
        return jsonify(reference=reference, url=url_for("bank.asset", sha256=digest), html=snippet), 201
    return render_template("bank/asset.html", reference=reference, digest=digest, snippet=snippet)


@bp.route("/assets/<sha256>")
@permission_required(Permission.BANK_READ)
def asset(sha256: str) -> Any:
    if not _SHA256.fullmatch(sha256):
        abort(404)
    stored = service.get_item_asset(get_session(), sha256)  # never a candidate's photo
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.media_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # the URL names the content
    response.set_etag(stored.sha256)
    return response.make_conditional(request)

