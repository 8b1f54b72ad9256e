"""``examsvc notifications list --user USERNAME [--unread]``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.clock import local_time
from examsvc.db import get_session
from examsvc.notifications import service


@click.group("notifications", help="Notifications to the parties (通知).")
def notifications_group() -> None:
    pass


@notifications_group.command("list")
@click.option("--user", "username", required=True, help="whose notifications")
@click.option("--unread", is_flag=True, help="only the unread ones")
@with_appcontext
def list_command(username: str, unread: bool) -> None:
    """Print a user's notifications, newest first (Chinese text)."""
    session = get_session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user {username}", param_hint="--user")
    found = service.list_for_user(session, user.id, unread)
    click.echo(f"{username}: {service.unread_count(session, user.id)} unread, {len(found)} shown")
    for n in found:
        mark = "*" if n.read_at is None else " "
        click.echo(f"{mark} [{n.id}] {local_time(n.created_at):%Y-%m-%d %H:%M} {n.kind}: {n.subject_zh}")
        for line in n.body_zh.splitlines():
            click.echo(f"      {line}")
        if n.link:
            click.echo(f"      -> {n.link}")
