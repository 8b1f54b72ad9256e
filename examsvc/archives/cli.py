"""``examsvc archive export --session ID --output DIR_OR_ZIP`` and ``examsvc archive verify PATH``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from examsvc.archives.package import export_session_archive, verify_package, write_package
from examsvc.db import unit_of_work
from examsvc.errors import ServiceError


@click.group("archive", help="Session archives (档案): export a verifiable package, verify one.")
def archive_group() -> None:
    pass


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@archive_group.command("export")
@click.option("--session", "session_id", required=True, type=int, help="exam session id")
@click.option("--output", required=True, type=click.Path(path_type=Path),
              help="a directory (created, must be empty) or a file ending in .zip")
@with_appcontext
def export_command(session_id: int, output: Path) -> None:
    """Write the session's complete archive with its manifest of SHA-256 hashes."""
    if output.suffix.lower() != ".zip" and output.exists() and (not output.is_dir() or any(output.iterdir())):
        _fail(f"--output {output}: not an empty directory")
    try:
        with unit_of_work() as session:
            files = export_session_archive(session, session_id, "cli")
            write_package(files, output)
    except ServiceError as exc:
        _fail(exc.message_en)
    except OSError as exc:
        _fail(f"--output {output}: {exc}")
    click.echo(f"Archive of session {session_id}: {len(files) - 1} files and manifest.json written to {output}")


@archive_group.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def verify_command(path: Path) -> None:
    """Recompute every hash; name each changed, missing or extra file (exit 1 if any)."""
    report = verify_package(path)
    if not report.ok:
        for name, problem in report.problems:
            click.echo(f"FAILED {name}: {problem}", err=True)
        sys.exit(1)
    manifest = report.manifest
    click.echo(f"archive intact: session {manifest.get('session_id')}, {report.files} files, "
               f"manifest hash {manifest.get('manifest_hash')}")
