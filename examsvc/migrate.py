"""Alembic, driven from the app: the only way the schema is created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flask import Flask

from examsvc.db import check_connection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = app.extensions["examsvc.engine"]
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Migrate the app's database to ``revision``; a database that cannot be reached is a ConfigError."""
    engine = app.extensions["examsvc.engine"]
    check_connection(engine)
    command.upgrade(alembic_config(app), revision)


def current_revision(app: Flask) -> str | None:
    with app.extensions["examsvc.engine"].connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
