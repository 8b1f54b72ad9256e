"""``examsvc analyse``: analyse confirmed sessions in the database, or a response file.

``examsvc analyse --session 12 [--session 13]`` runs an analysis over the sessions (one blueprint,
results confirmed) in this process and prints where to read it. ``examsvc analyse FILE.csv`` needs
no database: a CSV with a header row (item names) and one examinee per row holding either scored
answers (0/1) or raw option codes with ``--key``; ``--missing`` names the code of no answer (scored
0 and reported as an option of its own); ``--json`` prints the library's whole report.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from itembank.errors import ItemBankError

IRT_CHOICES = ("rasch", "2pl", "3pl", "none")


@click.command("analyse")
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--session", "session_ids", multiple=True, type=int,
              help="an exam session to analyse (repeat for several sessions of one blueprint)")
@click.option("--key", default=None, help="keys of the items, comma-separated (raw option codes in the file)")
@click.option("--missing", "missing_codes", multiple=True, help="code of a missing answer (repeatable); blank cells always are")
@click.option("--model", default="2pl", show_default=True, type=click.Choice(IRT_CHOICES), help="IRT model for a file")
@click.option("--json", "as_json", is_flag=True, help="print every statistic, distractor table and flag as one JSON document")
def analyse_command(csv_file: Path | None, session_ids: tuple[int, ...], key: str | None,
                    missing_codes: tuple[str, ...], model: str, as_json: bool) -> None:
    """Item and test analysis of exam sessions (--session ID) or of a response file (FILE.csv)."""
    from examsvc.cli import fail

    if bool(csv_file) == bool(session_ids):
        fail("give either a CSV file or --session ID (not both)", 2)
    if session_ids:
        if key or missing_codes:
            fail("--key and --missing are for a CSV file; a session's keys come from its papers", 2)
        _analyse_sessions(list(session_ids), as_json)
    else:
        _analyse_file(csv_file, key, missing_codes, None if model == "none" else model, as_json)


def _analyse_file(path: Path, key: str | None, missing_codes: tuple[str, ...], model: str | None,
                  as_json: bool) -> None:
    from examsvc.cli import fail
    from itembank.psychometrics import analyse, read_response_csv

    if not path.exists():
        fail(f"{path}: no such file", 2)
    minimums = _minimums()
    try:
        table = read_response_csv(path)
        cells = table.cells
        if key is not None:
            keys = [k.strip() for k in key.split(",")]
            report = analyse(cells, key=keys, item_names=table.item_names, missing_code=list(missing_codes) or "",
                             irt_model=model, minimums=minimums)
        else:
            if missing_codes:
                cells = np.where(np.isin(cells, list(missing_codes)), "", cells)
            report = analyse(cells, item_names=table.item_names, irt_model=model, minimums=minimums)
    except ItemBankError as exc:
        fail(f"{getattr(exc, 'field', '') or path}: {getattr(exc, 'message_en', exc)}")
        return
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, allow_nan=False, indent=1))
        return
    _print_report(report)


def _minimums():
    """The smallest samples of the settings (``ANALYSIS_MIN_N_*``; their defaults outside an app)."""
    from flask import current_app, has_app_context

    from examsvc.analysis.compute import minimums_from
    from examsvc.cli import fail
    from examsvc.config import DEFAULTS
    from examsvc.errors import ServiceError

    config = current_app.config if has_app_context() else {name: value for name, (value, _) in DEFAULTS.items()}
    try:
        return minimums_from(config)
    except ServiceError as exc:
        fail(f"{exc.field}: {exc.message_en}", 2)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _print_report(report) -> None:
    c = report.classical
    click.echo(f"{c.n_examinees} examinees, {c.n_items} items; alpha {_fmt(c.alpha)}, SEM {_fmt(c.sem, 2)}; "
               f"mean score {_fmt(c.score.mean, 2)} (SD {_fmt(c.score.sd, 2)})")
    if report.irt is not None:
        click.echo(f"IRT {report.irt.model}: log-likelihood {_fmt(report.irt.loglik, 3)}, "
                   f"{'converged' if report.irt.converged else 'NOT converged'}")
    click.echo(f"{'item':<12}{'p':>8}{'r_ir':>8}{'D':>8}{'a':>8}{'b':>8}  flags")
    flags: dict[int, list[str]] = {}
    for flag in report.flags:
        flags.setdefault(flag.item_index, []).append(flag.code)
    for j, name in enumerate(c.item_names):
        a = report.irt.a[j] if report.irt is not None and hasattr(report.irt, "b") else None
        b = report.irt.b[j] if report.irt is not None and hasattr(report.irt, "b") else None
        click.echo(f"{name[:11]:<12}{_fmt(c.facility[j]):>8}{_fmt(c.item_rest[j]):>8}"
                   f"{_fmt(c.discrimination_index[j]):>8}{_fmt(a, 2):>8}{_fmt(b, 2):>8}  {','.join(flags.get(j, []))}")
    for note in report.all_notes():
        click.echo(f"note: {note['message_en']}", err=True)


def _analyse_sessions(session_ids: list[int], as_json: bool) -> None:
    from flask.cli import ScriptInfo

    from examsvc.analysis import service
    from examsvc.cli import fail
    from examsvc.db import unit_of_work
    from examsvc.errors import ServiceError
    from examsvc.jobs.service import run_job

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        try:
            with unit_of_work() as session:
                run = service.start_analysis(session, session_ids, "cli", trigger="cli")
                run_id, job_id = run.id, run.job_id
        except ServiceError as exc:
            fail(f"{exc.field}: {exc.message_en}" if exc.field else exc.message_en)
            return
        _claim(job_id)
        run_job(job_id)
        with unit_of_work() as session:
            session.expire_all()  # the job ran in a session of its own
            run = service.get_run(session, run_id)
            state = service.run_state(session, run)
            if state.status != "done":
                fail(f"analysis run {run_id} failed: {state.error}")
            statistics = service.run_statistics(session, run_id)
            if as_json:
                from examsvc.analysis.api import AnalysisRunSchema, ItemStatisticSchema

                click.echo(json.dumps({"run": AnalysisRunSchema().dump(run),
                                       "items": ItemStatisticSchema(many=True).dump(statistics)},
                                      ensure_ascii=False, indent=1, default=str))
                return
            flagged = sum(1 for s in statistics if s.flags)
            click.echo(f"analysis run {run_id}: {run.n_examinees} candidates, {run.n_items} item versions, "
                       f"{flagged} flagged; see /analysis/runs/{run_id}")
            for form in (run.summary or {}).get("forms", []):
                for note in form.get("notes", []):
                    if note.get("code") == "sample.too_small":
                        click.echo(f"form {form.get('form_label')}: {note['message_en']}")


def _claim(job_id: int) -> None:
    """Mark the job running here, so a worker polling the same database leaves it alone."""
    from sqlalchemy import update

    from examsvc import clock
    from examsvc.db import unit_of_work
    from examsvc.jobs.models import Job

    with unit_of_work() as session:
        now = clock.now()
        session.execute(update(Job).where(Job.id == job_id).values(status="running", started_at=now, heartbeat_at=now,
                                                                   worker="cli"))
