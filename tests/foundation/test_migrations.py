"""Alembic is the only way the schema is made: upgrade head on an empty database equals the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import examsvc.models  # noqa: F401  (the whole schema)
from examsvc import create_app
from examsvc.db import Base
from examsvc.errors import ConfigError
from examsvc.migrate import alembic_config, current_revision, upgrade
from tests.conftest import test_config


def head_revision(app) -> str:
    return ScriptDirectory.from_config(alembic_config(app)).get_current_head()


def schema_drift(app) -> list:
    with app.extensions["examsvc.engine"].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


@pytest.fixture
def fresh_app(empty_database_url, tmp_path):
    app = create_app(test_config(empty_database_url, tmp_path / "instance"))
    yield app
    app.extensions["examsvc.engine"].dispose()


def test_upgrade_head_on_an_empty_database_creates_the_models_without_drift(fresh_app):
    assert current_revision(fresh_app) is None
    upgrade(fresh_app)
    assert current_revision(fresh_app) == head_revision(fresh_app)
    tables = set(inspect(fresh_app.extensions["examsvc.engine"]).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_drift(fresh_app) == []


def test_migrations_go_down_to_empty_and_up_again(fresh_app):
    upgrade(fresh_app)
    command.downgrade(alembic_config(fresh_app), "base")
    engine = fresh_app.extensions["examsvc.engine"]
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(fresh_app)
    upgrade(fresh_app)  # a second upgrade at head changes nothing
    assert current_revision(fresh_app) == head_revision(fresh_app)
    assert schema_drift(fresh_app) == []


def test_the_shared_test_database_is_at_head(app):
    assert current_revision(app) == head_revision(app)
    assert schema_drift(app) == []


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing_listens_here",
    "sqlite:////nonexistent-directory/examsvc.sqlite3",
])
def test_upgrade_of_an_unreachable_database_is_one_clear_error(url, tmp_path):
    app = create_app({**test_config(url, tmp_path / "instance"), "DATABASE_CONNECT_TIMEOUT": 2})
    with pytest.raises(ConfigError) as caught:
        upgrade(app)
    message = str(caught.value)
    assert message.startswith("cannot connect to the database ")
    assert "\n" not in message
