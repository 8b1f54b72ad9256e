"""``examsvc blueprints …`` and ``examsvc items …``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.bank.models import ExamBlueprint
from examsvc.db import unit_of_work
from examsvc.errors import ServiceError
from itembank.blueprint import BLUEPRINT_SUFFIXES, BlueprintError
from itembank.levels import parse_level

FORMATS_BY_SUFFIX = {".xlsx": "excel", ".zip": "qti", ".xml": "moodle_xml", ".gift": "gift", ".txt": "gift"}


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def find_blueprint(session, spec: str) -> ExamBlueprint:
    """A blueprint by id, or by ``OCCUPATION/LEVEL/COMPONENT`` such as ``4-03-02-01/4/theory``."""
    if spec.isdecimal():
        row = session.get(ExamBlueprint, int(spec))
    else:
        parts = spec.split("/")
        if len(parts) != 3:
            raise click.BadParameter("use an id or OCCUPATION/LEVEL/COMPONENT, e.g. 4-03-02-01/4/theory",
                                     param_hint="--blueprint")
        try:
            level = parse_level(parts[1]).value
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--blueprint") from None
        row = session.scalar(select(ExamBlueprint).where(ExamBlueprint.occupation_code == parts[0],
                                                          ExamBlueprint.level == level,
                                                          ExamBlueprint.component == parts[2]))
    if row is None:
        raise click.BadParameter(f"no blueprint {spec}; load it with `examsvc blueprints load`", param_hint="--blueprint")
    return row


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user {username}", param_hint="--user")
    return user


@click.group("blueprints", help="Exam blueprints (鉴定要素细目表).")
def blueprints_group() -> None:
    pass


@blueprints_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def load_command(paths: tuple[Path, ...]) -> None:
    """Load or revise blueprints from files or folders; all of them or none."""
    from examsvc.bank.service import load_blueprint_file

    files = [p for path in paths for p in (sorted(path.iterdir()) if path.is_dir() else [path])
             if p.suffix.lower() in BLUEPRINT_SUFFIXES]
    if not files:
        _fail("no .toml/.yaml/.yml blueprint files given")
    problems: list[str] = []
    results = []
    with unit_of_work() as session:
        for path in files:
            try:
                results.append((path, *load_blueprint_file(session, path, "cli")))
            except BlueprintError as exc:
                problems.extend(f"{p.file}: {p.path or '(file)'}: [{p.rule}] {p.message_en}" for p in exc.errors)
        if problems:
            session.rollback()
            for line in problems:
                click.echo(line, err=True)
            _fail(f"{len(problems)} problem(s); nothing was loaded")
    for path, version, created in results:
        state = f"new version {version.number}" if created else f"unchanged (version {version.number})"
        click.echo(f"{path.name}: blueprint {version.blueprint_id} {state}")


@click.group("items", help="Items of the bank: import and export.")
def items_group() -> None:
    pass


@items_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--blueprint", "blueprint_spec", required=True, help="id or OCCUPATION/LEVEL/COMPONENT")
@click.option("--user", "username", required=True, help="the item writer the items are imported as")
@click.option("--format", "fmt", type=click.Choice(["excel", "qti", "moodle_xml", "gift"]), default=None,
              help="default: from the file's suffix")
@click.option("--element", "default_element_code", default="", help="element code for formats that carry none")
@click.option("--valid-rows-only", is_flag=True, help="import the valid rows even when other rows have errors")
@with_appcontext
def import_command(file: Path, blueprint_spec: str, username: str, fmt: str | None, default_element_code: str,
                   valid_rows_only: bool) -> None:
    """Validate FILE row by row and import it (nothing is imported while a row has an error)."""
    from examsvc.bank.imports import confirm_import, validate_import

    fmt = fmt or FORMATS_BY_SUFFIX.get(file.suffix.lower())
    if fmt is None:
        raise click.BadParameter(f"cannot tell the format of {file.name}; pass --format", param_hint="--format")
    try:
        with unit_of_work() as session:
            blueprint = find_blueprint(session, blueprint_spec)
            user = _user(session, username)
            job = validate_import(session, blueprint, fmt, file.name, file.read_bytes(), user, default_element_code)
            for error in job.report["errors"]:
                click.echo(f"row {error['row']}, {error['column']}: {error['message_en']}", err=True)
            if job.rows_invalid and not valid_rows_only:
                session.rollback()
                _fail(f"{job.rows_invalid} row(s) have errors; nothing imported (fix them, or --valid-rows-only)")
            count = confirm_import(session, job, user, valid_rows_only=valid_rows_only)
    except ServiceError as exc:
        _fail(f"{exc.field}: {exc.message_en}" if exc.field else exc.message_en)
    click.echo(f"imported {count} item(s) into blueprint {blueprint.id} as submitted versions (job {job.id})")


@items_group.command("export")
@click.option("--blueprint", "blueprint_spec", required=True, help="id or OCCUPATION/LEVEL/COMPONENT")
@click.option("--format", "fmt", type=click.Choice(["excel", "qti"]), required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--all-versions", is_flag=True, help="latest version of every item, not only approved ones")
@with_appcontext
def export_command(blueprint_spec: str, fmt: str, output: Path, all_versions: bool) -> None:
    """Write the bank of a blueprint as Excel or a QTI 2.1 package."""
    from examsvc.bank.service import export_bank

    with unit_of_work() as session:
        _blueprint, data = export_bank(session, find_blueprint(session, blueprint_spec).id, fmt, "cli",
                                       approved_only=not all_versions)
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(data)} bytes)")
