"""``examsvc grading score`` and ``examsvc results publish|confirm``."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.auth import Permission, require_permission
from examsvc.db import unit_of_work
from examsvc.errors import ServiceError
from examsvc.sessions.models import ExamSession


@click.group("grading", help="Grading: automatic scoring of theory sessions.")
def grading_group() -> None:
    pass


@click.group("results", help="Results: publication for the notice period (公示) and confirmation.")
def results_group() -> None:
    pass


def _run(session_id: int, username: str | None, action: Callable[[Any, ExamSession, Any], str]) -> None:
    """Run ``action(db, exam_session, actor)`` in one unit of work; one line on refusal, nothing written."""
    try:
        with unit_of_work() as session:
            exam_session = session.get(ExamSession, session_id)
            if exam_session is None:
                raise click.BadParameter(f"no exam session {session_id}", param_hint="--session")
            actor: Any = "cli"
            if username is not None:
                actor = session.scalar(select(User).where(User.username == username))
                if actor is None:
                    raise click.BadParameter(f"no user {username}", param_hint="--user")
                require_permission(actor, Permission.INSTITUTION_MANAGE, exam_session.institution_id)
            message = action(session, exam_session, actor)
    except ServiceError as exc:
        click.echo(f"Error: {exc.field}: {exc.message_en}" if exc.field else f"Error: {exc.message_en}", err=True)
        sys.exit(1)
    click.echo(message)


@grading_group.command("score")
@click.option("--session", "session_id", required=True, type=int, help="exam session id")
@click.option("--user", "username", default=None, help="the institution admin scoring (default: recorded as cli)")
@with_appcontext
def score_command(session_id: int, username: str | None) -> None:
    """Score a closed theory session against its locked forms (absent candidates score 0)."""
    from examsvc.grading.service import score_session

    _run(session_id, username, lambda db, s, actor: f"session {s.id}: {score_session(db, s, actor)} candidates scored")


@results_group.command("publish")
@click.option("--session", "session_id", required=True, type=int, help="exam session id")
@click.option("--user", "username", required=True, help="the institution admin publishing")
@click.option("--notice-days", default=None, type=int, help="notice period (default: RESULT_NOTICE_DAYS)")
@with_appcontext
def publish_command(session_id: int, username: str, notice_days: int | None) -> None:
    """Publish a scored session's results for the notice period."""
    from examsvc.grading.results import publish_results

    def action(db: Any, exam_session: ExamSession, actor: Any) -> str:
        publication = publish_results(db, exam_session, actor, notice_days)
        return f"session {exam_session.id}: results published until {publication.notice_until}"

    _run(session_id, username, action)


@results_group.command("confirm")
@click.option("--session", "session_id", required=True, type=int, help="exam session id")
@click.option("--user", "username", required=True, help="the institution admin confirming")
@with_appcontext
def confirm_command(session_id: int, username: str) -> None:
    """Confirm results after the notice period; prints the pass records created."""
    from examsvc.grading.results import confirm_results

    def action(db: Any, exam_session: ExamSession, actor: Any) -> str:
        records = confirm_results(db, exam_session, actor)
        return f"session {exam_session.id}: results confirmed, {len(records)} pass record(s)"

    _run(session_id, username, action)
