"""``examsvc certificates issue --session ID`` and ``examsvc certificates export``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.db import unit_of_work
from examsvc.errors import ServiceError
from examsvc.institutions.models import Institution


@click.group("certificates", help="Certificates (职业技能等级证书): issue and export for upload.")
def certificates_group() -> None:
    pass


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _service_error(exc: ServiceError) -> str:
    return f"{exc.field}: {exc.message_en}" if exc.field else exc.message_en


def _user(session, username: str | None):
    if username is None:
        return "cli"
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user {username}", param_hint="--user")
    return user


@certificates_group.command("issue")
@click.option("--session", "session_id", required=True, type=int, help="exam session id (its results confirmed)")
@click.option("--user", "username", default=None, help="the institution admin issuing (default: recorded as cli)")
@with_appcontext
def issue_command(session_id: int, username: str | None) -> None:
    """Issue every pending certificate of a session, all or nothing."""
    from examsvc.certificates.service import CannotIssue, issue_for_session
    from examsvc.sessions.service import get_session_row

    try:
        with unit_of_work() as session:
            actor = _user(session, username)
            issued = issue_for_session(session, get_session_row(session, session_id), actor)
            numbers = [c.number for c in issued]
    except CannotIssue as exc:
        for problem in exc.problems:
            click.echo(f"  {problem.subject}: {problem.field}: {problem.message_en}", err=True)
        _fail(f"{len(exc.problems)} problem(s): nothing issued")
    except ServiceError as exc:
        _fail(_service_error(exc) + "; nothing issued")
    click.echo(f"issued {len(numbers)} certificate(s): {numbers[0]} … {numbers[-1]}")


@certificates_group.command("export")
@click.option("--institution", "institution_code", default=None, help="institution code (default: every institution)")
@click.option("--from", "issued_from", default=None, type=click.DateTime(["%Y-%m-%d"]), help="first day, YYYY-MM-DD")
@click.option("--to", "issued_to", default=None, type=click.DateTime(["%Y-%m-%d"]), help="last day, YYYY-MM-DD")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="write nothing when any record has a problem")
@click.option("--national", is_flag=True, help="the national upload: data the region accepted, full ID numbers "
              "(needs --user, the region's regulator)")
@click.option("--user", "username", default=None, help="the regulator exporting (required with --national)")
@with_appcontext
def export_command(institution_code: str | None, issued_from, issued_to, fmt: str, output: Path, strict: bool,
                   national: bool, username: str | None) -> None:
    """Check and export certificate data (ID numbers masked; --national: the region's upload, full)."""
    from examsvc.certificates.export import export_csv, export_xlsx, record_export
    from examsvc.certificates.register import masked_export, national_upload

    start: date | None = issued_from.date() if issued_from else None
    end: date | None = issued_to.date() if issued_to else None
    if national and (username is None or institution_code):
        raise click.UsageError("--national needs --user (the region's regulator) and takes no --institution")
    with unit_of_work() as session:
        actor = _user(session, username)
        ids = None
        if institution_code:
            institution = session.scalar(select(Institution).where(Institution.code == institution_code.upper()))
            if institution is None:
                raise click.BadParameter(f"no institution {institution_code}", param_hint="--institution")
            ids = {institution.id}
        try:
            report = (national_upload(session, actor, issued_from=start, issued_to=end) if national
                      else masked_export(session, ids, issued_from=start, issued_to=end))
        except ServiceError as exc:
            _fail(_service_error(exc))
        for problem in report.problems:
            click.echo(f"  {problem.subject}: {problem.field}: {problem.message_en}", err=True)
        if strict and report.problems:
            _fail(f"{report.held_back} record(s) with problems: nothing written (--strict)")
        output.write_bytes(export_csv(report) if fmt == "csv" else export_xlsx(report))
        record_export(session, actor, report, fmt, ids, start, end, full_ids=national)
    click.echo(f"{output}: {report.issued} certificate(s), {report.revoked} revocation(s); "
               f"{report.held_back} held back of {report.checked} checked")
