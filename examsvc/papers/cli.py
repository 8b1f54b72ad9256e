"""``examsvc papers assemble``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.bank.cli import find_blueprint
from examsvc.db import unit_of_work
from examsvc.errors import ServiceError
from examsvc.institutions.models import Institution


@click.group("papers", help="Papers (试卷): assembly from a blueprint.")
def papers_group() -> None:
    pass


@papers_group.command("assemble")
@click.option("--blueprint", "blueprint_spec", required=True, help="id or OCCUPATION/LEVEL/COMPONENT")
@click.option("--institution", "institution_code", required=True, help="institution code, e.g. S000015000001")
@click.option("--user", "username", required=True, help="the institution admin assembling")
@click.option("--forms", default=1, show_default=True, type=int)
@click.option("--seed", default=None, type=int, help="makes the result reproducible")
@click.option("--time-limit", default=None, type=float, help="seconds for the solver (theory papers)")
@click.option("--allow-overlap", is_flag=True, default=False,
              help="skill/review papers: task sets may share tasks when a module's pool is too small")
def assemble_command(blueprint_spec: str, institution_code: str, username: str, forms: int, seed: int | None,
                     time_limit: float | None, allow_overlap: bool) -> None:
    """Assemble parallel forms of the blueprint's latest version as draft papers: items from the
    bank for a theory blueprint, task sets from the module pools for a skill or review one."""
    _assemble(blueprint_spec, institution_code, username, forms, seed, time_limit, allow_overlap)


@with_appcontext
def _assemble(blueprint_spec, institution_code, username, forms, seed, time_limit, allow_overlap) -> None:
    from examsvc.jobs.service import run_pending
    from examsvc.papers.service import get_run, start_assembly

    overrides = {k: v for k, v in (("seed", seed), ("time_limit", time_limit),
                                   ("allow_overlap", allow_overlap or None)) if v is not None}
    try:
        with unit_of_work() as session:
            blueprint = find_blueprint(session, blueprint_spec)
            institution = session.scalar(select(Institution).where(Institution.code == institution_code.upper()))
            if institution is None:
                raise click.BadParameter(f"no institution {institution_code}", param_hint="--institution")
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise click.BadParameter(f"no user {username}", param_hint="--user")
            from examsvc.auth import Permission, require_permission

            require_permission(user, Permission.INSTITUTION_MANAGE, institution.id)
            run_id = start_assembly(session, institution=institution, blueprint_version=blueprint.latest,
                                    forms=forms, overrides=overrides, actor=user).id
    except ServiceError as exc:
        click.echo(f"Error: {exc.field}: {exc.message_en}" if exc.field else f"Error: {exc.message_en}", err=True)
        sys.exit(1)
    run_pending(kinds={"papers.assemble"})
    with unit_of_work() as session:
        run = get_run(session, run_id)
        if run.status != "done":
            for reason in (run.outcome or {}).get("reasons", []):
                click.echo(f"  {reason['message_en']}", err=True)
            click.echo(f"Error: the bank or task pools cannot satisfy the blueprint (run {run.id}); "
                       f"no paper created", err=True)
            sys.exit(1)
        for paper in run.papers:
            click.echo(_paper_line(paper))
        click.echo(f"run {run.id}: {run.outcome['status']} in {run.outcome['seconds']} s, seed {run.outcome['seed']}")


def _paper_line(paper) -> str:
    report = paper.report
    if report.get("kind") == "tasks":
        codes = ", ".join(task["code"] for task in report["task_list"])
        return (f"paper {paper.id} form {paper.form_label}: {report['tasks']} tasks ({codes}), "
                f"{report['points']:g} points, {report['time_minutes']} min")
    return (f"paper {paper.id} form {paper.form_label}: {report['items']} items, "
            f"difficulty {report['difficulty']['mean']}, {report['elements_covered']} elements")
