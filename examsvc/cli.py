"""The ``examsvc`` command: database, users, demo, serving, audit.

Every command that can fail on bad input prints one clear message naming the problem and exits
non-zero, having written nothing.
"""

from __future__ import annotations

import sys


import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError

from examsvc.errors import ConfigError, ServiceError


#: The database of the app the command runs with (password hidden), for error messages.
_database: dict[str, str] = {}


def _create_app() -> Flask:
    from examsvc import create_app

    app = create_app()
    _database["url"] = database_label(app)
    return app


def database_label(app: Flask) -> str:
    """The app's database URL with the password hidden: fit for a terminal or a CI log."""
    return app.extensions["examsvc.engine"].url.render_as_string(hide_password=True)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             help="examsvc: exam bank and assessment delivery for vocational skill level certification.")
def cli() -> None:
    pass


def _register_area_commands() -> None:
    from examsvc.bank.cli import blueprints_group, items_group

    from examsvc.papers.cli import papers_group
    from examsvc.analysis.cli import analyse_command
    from examsvc.grading.cli import grading_group, results_group
    from examsvc.certificates.cli import certificates_group
    from examsvc.archives.cli import archive_group
    from examsvc.supervision.cli import supervision_group
    from examsvc.notifications.cli import notifications_group

    cli.add_command(blueprints_group)
    cli.add_command(items_group)
    cli.add_command(papers_group)
    cli.add_command(analyse_command)
    cli.add_command(grading_group)
    cli.add_command(results_group)
    cli.add_command(certificates_group)
    cli.add_command(archive_group)
    cli.add_command(supervision_group)
    cli.add_command(notifications_group)


_register_area_commands()


def main() -> None:
    try:
        cli.main(prog_name="examsvc")
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except OperationalError as exc:  # the database went away, or never was there
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        click.echo(f"Error: cannot use the database {_database.get('url', '')}: {reason}", err=True)
        sys.exit(2)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


# --- database -------------------------------------------------------------------------------

@cli.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head), then load the occupation catalogue.

    The catalogue (职业目录) is reference data that filing, blueprints and sessions need: without it a
    fresh database accepts no filing application and no blueprint, so it is loaded (inserted or
    updated from itembank's catalogue) by the same command that creates the schema.
    """
    from examsvc.db import unit_of_work
    from examsvc.migrate import upgrade
    from examsvc.reference.service import load_occupations

    try:
        upgrade(current_app, revision)
    except ConfigError as exc:
        fail(str(exc), 2)
    click.echo(f"Database at {revision}: {database_label(current_app)}")
    if revision == "head":
        with unit_of_work() as session:
            count = load_occupations(session, actor="system")
        click.echo(f"Occupation catalogue: {count} occupations")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's migration revision."""
    from examsvc.migrate import current_revision

    click.echo(current_revision(current_app) or "(empty database)")


# --- users ----------------------------------------------------------------------------------

@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Display name (姓名)")
@click.option("--role", "roles", multiple=True, required=True,
              help="role, or role@INSTITUTION_CODE for a role scoped to one institution, or "
                   "regulator@JURISDICTION (自治区 or a league/city; default 自治区); repeatable")
@click.password_option(help="Password (asked for when omitted)")
@with_appcontext
def create_user_command(username: str, display_name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user account with one or more roles."""
    from sqlalchemy import select

    from examsvc.accounts.service import create_user
    from examsvc.db import unit_of_work
    from examsvc.institutions.jurisdiction import JURISDICTIONS
    from examsvc.institutions.models import Institution

    try:
        with unit_of_work() as session:
            grants: list[tuple[str, int | None]] = []
            jurisdiction = None
            for spec in roles:
                role, _, code = spec.partition("@")
                institution_id = None
                if role == "regulator" and code:
                    if code not in JURISDICTIONS:
                        raise ServiceError(f"辖区 {code} 无效", f"--role {spec}: the jurisdiction is 自治区 or a "
                                           "league/city", field="role")
                    jurisdiction = code
                elif code:
                    institution_id = session.scalar(select(Institution.id).where(Institution.code == code.upper()))
                    if institution_id is None:
                        raise ServiceError(f"机构 {code} 不存在", f"--role {spec}: no institution with code {code}",
                                           field="role")
                grants.append((role, institution_id))
            create_user(session, username=username, password=password, display_name=display_name, roles=grants,
                        jurisdiction=jurisdiction, actor="cli")
    except ServiceError as exc:
        fail(f"{exc.field}: {exc.message_en}" if exc.field else exc.message_en)
    click.echo(f"Created user {username} with roles {', '.join(roles)}")


# --- demo -----------------------------------------------------------------------------------

@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create the instance database with demo data, print the accounts, and serve it."""
    from examsvc.demo import DEMO_PASSWORD, DemoError, load_demo

    try:
        accounts = load_demo(current_app)
    except DemoError as exc:
        fail(str(exc))
    click.echo(f"Demo database: {database_label(current_app)}")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for username, role, where in accounts:
        click.echo(f"  {username:<14} {role:<20} {where}")
    for line in current_app.extensions.get("examsvc.demo_notes", ()):
        click.echo(line)
    if not no_serve:
        _serve_development(host, port)


def _serve_development(host: str, port: int) -> None:
    """werkzeug's server started directly (``app.run()`` under the Flask CLI returns at once)."""
    from examsvc.serve import adopt_public_base_url, is_loopback, run_dev_server

    app = current_app._get_current_object()
    adopt_public_base_url(app, host, port)
    if is_loopback(host):
        # Plain HTTP on loopback: an HTTPS-only session cookie would never come back, so no sign-in
        # would hold. Anywhere else the setting stands (put TLS in front, or use `examsvc serve`).
        app.config["SESSION_COOKIE_SECURE"] = False
    try:
        run_dev_server(app, host, port, announce=click.echo)
    except OSError as exc:  # the port is taken, or the address is not this computer's
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 2)


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Development server on an existing database, until Ctrl+C (plain HTTP; loopback by default)."""
    from examsvc.migrate import current_revision

    if current_revision(current_app) is None:
        fail(f"the database {database_label(current_app)} is empty: fill it with `examsvc demo` "
             "or create the schema with `examsvc db upgrade` first")
    click.echo(f"Database: {database_label(current_app)}")
    _serve_development(host, port)


# --- serve ----------------------------------------------------------------------------------

@cli.command("serve")
@click.option("--bind", default=None, help="address:port (default: SERVE_BIND)")
@click.option("--workers", default=None, type=int, help="worker processes (default: SERVE_WORKERS)")
@with_appcontext
def serve_command(bind: str | None, workers: int | None) -> None:
    """Serve in production with gunicorn: stateless workers on one database."""
    from examsvc.serve import run_gunicorn

    config = current_app.config
    run_gunicorn(bind or config["SERVE_BIND"], workers or config["SERVE_WORKERS"], threads=config["SERVE_THREADS"],
                 access_log=config["SERVE_ACCESS_LOG"] or None)


@cli.command("worker")
@click.option("--poll", default=None, type=float, help="seconds between looks for work (default: JOBS_POLL_SECONDS)")
@with_appcontext
def worker_command(poll: float | None) -> None:
    """Run background jobs (assembly, analysis) until stopped."""
    from examsvc.jobs.worker import run_forever

    click.echo("examsvc worker: waiting for jobs (Ctrl+C to stop)")
    run_forever(poll or current_app.config["JOBS_POLL_SECONDS"])


# --- audit ----------------------------------------------------------------------------------

@cli.group("audit", help="The audit trail.")
def audit_group() -> None:
    pass


@audit_group.command("verify")
@click.option("--expect-head", default=None, help="head hash noted from an earlier run (detects cut-off events)")
@with_appcontext
def audit_verify(expect_head: str | None) -> None:
    """Walk the hash chain and name the first broken event."""
    from examsvc.audit.service import verify_chain
    from examsvc.db import get_session

    report = verify_chain(get_session(), expect_head=expect_head)
    if not report.ok:
        where = f" (event seq {report.broken_seq}, row id {report.broken_id})" if report.broken_seq else ""
        fail(f"audit chain broken{where}: {report.problem}")
    click.echo(f"audit chain intact: {report.events} events, head {report.head_hash}")


