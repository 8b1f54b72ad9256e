"""``examsvc supervision credit``, ``examsvc supervision overdue`` and ``examsvc supervision verify-draw ID``:
credit grades and how often they want an institution inspected (Art. 39), and re-running a recorded
random draw (Art. 37-38) from its seed, candidates and weights."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from examsvc.db import get_session
from examsvc.supervision import credit, draws
from examsvc.supervision.people_models import Draw


@click.group("supervision", help="Supervision: credit grades, institutions overdue for inspection, draw checks.")
def supervision_group() -> None:
    pass


def _line(c: credit.Credit) -> str:
    return (f"{c.institution_id}\t{c.institution_name}\t{c.grade}\t{c.score:.0f}\t{c.inspections_per_year}/year\t"
            f"weight {c.draw_weight}\tlast {c.last_inspected or 'never'}\tdue {c.next_due}"
            + (f"\t{c.overdue_days} days overdue" if c.overdue_days else ""))


@supervision_group.command("credit")
@with_appcontext
def credit_command() -> None:
    """Every active institution's credit grade, inspections per year, draw weight and next due date."""
    for row in credit.credit_table(get_session(), current_app.config):
        click.echo(_line(row))


@supervision_group.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of lines")
@with_appcontext
def overdue_command(as_json: bool) -> None:
    """Institutions past the inspection their grade's frequency called for, longest overdue first."""
    rows = credit.overdue(get_session(), current_app.config)
    if as_json:
        click.echo(json.dumps([{"institution_id": c.institution_id, "institution_name": c.institution_name,
                                "grade": c.grade, "inspections_per_year": c.inspections_per_year,
                                "last_inspected": c.last_inspected.isoformat() if c.last_inspected else None,
                                "next_due": c.next_due.isoformat(), "overdue_days": c.overdue_days}
                               for c in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No institution is overdue for inspection.")
    for row in rows:
        click.echo(_line(row))


@supervision_group.command("verify-draw")
@click.argument("draw_id", type=int)
@with_appcontext
def verify_draw_command(draw_id: int) -> None:
    """Re-run a recorded draw from its seed, candidates (and weights); exit 1 if the result differs."""
    row = get_session().get(Draw, draw_id)
    if row is None:
        click.echo(f"Error: no draw {draw_id}", err=True)
        sys.exit(1)
    again = draws.rerun_draw(row)
    click.echo(f"draw {row.id} ({row.kind}, {row.algorithm}) seed {row.seed!r} over {row.candidates}"
               + (f" weights {row.weights}" if row.weights is not None else "") + f" k={row.k}")
    if again != list(row.result):
        click.echo(f"FAILED: re-run gives {again}, recorded {row.result}", err=True)
        sys.exit(1)
    click.echo(f"reproduced: {row.result}")
