"""The `examsvc` command: one clear message and a non-zero exit on bad input, nothing half-written.

Most tests run the real entry point (`examsvc.cli.main`) in-process for speed, with
EXAMSVC_DATABASE_URL and EXAMSVC_INSTANCE_PATH pointing at temporary places; a few run the
installed console script to prove the packaging.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from examsvc import create_app
from examsvc.accounts.models import RoleGrant, User
from examsvc.audit.models import AuditEvent
from examsvc.audit.service import verify_chain
from examsvc.auth import Role
from examsvc.cli import main
from examsvc.config import DEFAULTS, ENV_PREFIX
from examsvc.institutions.models import Institution
from tests.conftest import PASSWORD, count_rows

UNREACHABLE = "postgresql+psycopg://examsvc:s3cret-pw@127.0.0.1:1/nothing_listens_here"
SCRIPT = Path(sys.executable).with_name("examsvc")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def one_clear_error(self) -> str:
        """The error output is one line starting with 'Error:' (no traceback)."""
        assert self.code != 0, self.out
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), self.err
        return lines[0]


@pytest.fixture
def examsvc(monkeypatch, capsys, tmp_path):
    """Run ``examsvc ARGS`` in-process against ``database_url`` (None: the instance's SQLite file)."""
    for name in DEFAULTS:
        monkeypatch.delenv(ENV_PREFIX + name, raising=False)
    monkeypatch.setenv("EXAMSVC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "")         # FlaskGroup sets it; restored afterwards

    def run(*args: str, database_url: str | None = None, env: dict[str, str] | None = None) -> Result:
        if database_url:
            monkeypatch.setenv("EXAMSVC_DATABASE_URL", database_url)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["examsvc", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def run_script(*args: str, env: dict[str, str], cwd: Path) -> Result:
    """The installed console script, in a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX) and not k.startswith("FLASK_")}
    done = subprocess.run([str(SCRIPT), *args], env={**clean, **env}, cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- db upgrade -----------------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_and_hides_the_password(examsvc, empty_database_url):
    url = empty_database_url
    if url.startswith("postgresql"):
        url = make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)  # trust: ignored
    result = examsvc("db", "upgrade", database_url=url)
    assert result.code == 0, result.err
    assert result.out.startswith("Database at head")
    assert "s3cret-pw" not in result.out + result.err
    assert {"users", "audit_events", "institutions", "alembic_version"} <= table_names(empty_database_url)
    current = examsvc("db", "current", database_url=url)
    assert current.code == 0 and current.out.strip() not in ("", "(empty database)")


def test_db_upgrade_loads_the_occupation_catalogue(examsvc, empty_database_url):
    """A fresh database accepts filing applications and blueprints: the catalogue comes with the schema."""
    from itembank.occupations import default_occupations

    expected = len(list(default_occupations()))
    for _ in range(2):  # a second upgrade updates the catalogue in place
        result = examsvc("db", "upgrade", database_url=empty_database_url)
        assert result.code == 0, result.err
        assert f"Occupation catalogue: {expected} occupations" in result.out
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT code, name FROM occupations")).all()
    finally:
        engine.dispose()
    assert len(rows) == expected and ("6-18-01-01", "车工") in rows


def test_db_upgrade_of_an_unreachable_database_is_one_clear_error(examsvc):
    result = examsvc("db", "upgrade", database_url=UNREACHABLE, env={"EXAMSVC_DATABASE_CONNECT_TIMEOUT": "2"})
    line = result.one_clear_error()
    assert result.code == 2 and "cannot connect to the database" in line and "127.0.0.1:1" in line
    assert "s3cret-pw" not in result.err


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("EXAMSVC_LOGIN_MAX_FAILURES", "five", "EXAMSVC_LOGIN_MAX_FAILURES='five' is malformed"),
    ("EXAMSVC_DATABASE_URI", "sqlite://", "EXAMSVC_DATABASE_URI is not a setting"),
    ("EXAMSVC_DATABASE_URL", "nosuchdialect://x/y", "DATABASE_URL 'nosuchdialect://x/y' is not usable"),
])
def test_malformed_configuration_is_one_clear_error(examsvc, variable, value, named):
    result = examsvc("db", "upgrade", env={variable: value})
    assert result.code == 2 and named in result.one_clear_error()


def test_a_broken_instance_config_file_is_one_clear_error(examsvc, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("LOGIN_MAX_FAILURES = (\n", encoding="utf-8")
    result = examsvc("db", "upgrade")
    assert result.code == 2 and "config.py:1" in result.one_clear_error()
    assert not (tmp_path / "instance" / "examsvc.sqlite3").exists()


# --- create-user ------------------------------------------------------------------------------------

def test_create_user_with_scoped_and_global_roles(examsvc, database_url, session, world):
    result = examsvc("create-user", "--username", "zhao", "--name", "赵机构", "--password", PASSWORD,
                     "--role", f"institution_admin@{world['A'].code.lower()}", "--role", "item_writer",
                     database_url=database_url)
    assert result.code == 0, result.err
    assert "Created user zhao" in result.out
    user = session.scalar(select(User).where(User.username == "zhao"))
    assert user.display_name == "赵机构"
    assert {(g.role, g.institution_id) for g in user.grants} == {("institution_admin", world["A"].id),
                                                                  ("item_writer", None)}
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.actor == "cli"


def test_create_user_gives_a_regulator_its_league_city(examsvc, database_url, session, world):
    result = examsvc("create-user", "--username", "hao", "--name", "郝监管", "--password", PASSWORD,
                     "--role", "regulator@包头市", database_url=database_url)
    assert result.code == 0, result.err
    user = session.scalar(select(User).where(User.username == "hao"))
    assert [(g.role, g.institution_id, g.jurisdiction) for g in user.grants] == [("regulator", None, "包头市")]


@pytest.mark.parametrize(("arguments", "named"), [
    (["--username", "taken"], "username: username taken is already taken"),
    (["--role", "regulator@火星市"], "the jurisdiction is 自治区 or a league/city"),
    (["--username", "x"], "username: username must be"),
    (["--password", "short"], "password: password must have at least 8 characters"),
    (["--role", "wizard"], "roles: unknown role 'wizard'"),
    (["--role", "invigilator"], "institution: role invigilator needs an institution"),
    (["--role", "invigilator@S999999999999"], "no institution with code S999999999999"),
    (["--role", "item_writer", "--role", "examiner@S999999999999"], "no institution with code S999999999999"),
])
def test_create_user_refuses_bad_input_and_writes_nothing(examsvc, database_url, session, world, arguments, named):
    from tests.conftest import make_user

    make_user(session, "taken", "candidate")
    before = (count_rows(session, User), count_rows(session, RoleGrant), count_rows(session, AuditEvent))
    defaults = {"--username": "newcomer", "--name": "新人", "--password": PASSWORD}
    given = dict(zip(arguments[::2], arguments[1::2]))
    options = [part for key, value in {**defaults, **given}.items() if key != "--role" for part in (key, value)]
    roles = [part for key, value in zip(arguments[::2], arguments[1::2]) if key == "--role" for part in (key, value)]
    result = examsvc("create-user", *options, *(roles or ["--role", "candidate"]), database_url=database_url)
    assert result.code == 1 and named in result.one_clear_error()
    session.expire_all()
    assert (count_rows(session, User), count_rows(session, RoleGrant), count_rows(session, AuditEvent)) == before


def test_commands_on_an_unreachable_database_give_one_clear_error(examsvc):
    env = {"EXAMSVC_DATABASE_CONNECT_TIMEOUT": "2"}
    for args in (["create-user", "--username", "zhao", "--name", "赵", "--password", PASSWORD, "--role", "regulator"],
                 ["audit", "verify"], ["demo", "--no-serve"]):
        result = examsvc(*args, database_url=UNREACHABLE, env=env)
        line = result.one_clear_error()
        assert "127.0.0.1:1" in line, (args, line)
        assert "s3cret-pw" not in result.err


# --- audit verify ------------------------------------------------------------------------------------

def test_audit_verify_reports_an_intact_chain_and_names_a_broken_event(examsvc, database_url, session, world):
    head = verify_chain(session).head_hash
    events = count_rows(session, AuditEvent)
    intact = examsvc("audit", "verify", database_url=database_url)
    assert intact.code == 0 and intact.out.strip() == f"audit chain intact: {events} events, head {head}"
    assert examsvc("audit", "verify", "--expect-head", head, database_url=database_url).code == 0
    session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    session.commit()
    broken = examsvc("audit", "verify", database_url=database_url)
    assert broken.code == 1
    assert "audit chain broken (event seq 2" in broken.one_clear_error()
    assert "event 2 was changed after it was written" in broken.err


def test_audit_verify_with_a_stale_head_reports_cut_off_events(examsvc, database_url, session, world):
    head = verify_chain(session).head_hash
    session.execute(text("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"))
    session.commit()
    result = examsvc("audit", "verify", "--expect-head", head, database_url=database_url)
    assert result.code == 1 and "cut off" in result.one_clear_error()


# --- demo ---------------------------------------------------------------------------------------------

def _demo_state(url: str) -> tuple:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40})
    sessionmaker = app.extensions["examsvc.sessionmaker"]
    with sessionmaker() as session:
        state = (count_rows(session, User), count_rows(session, Institution), verify_chain(session).head_hash,
                 sorted(session.scalars(select(RoleGrant.role).distinct())))
    app.extensions["examsvc.engine"].dispose()
    return state


def test_demo_fills_an_empty_database_once(examsvc, empty_database_url):
    first = examsvc("demo", "--no-serve", database_url=empty_database_url)
    assert first.code == 0, first.err
    assert "Demo accounts" in first.out
    users, institutions, head, roles = _demo_state(empty_database_url)
    assert set(roles) == {role.value for role in Role}               # an account per role
    assert institutions >= 1
    for role in Role:
        assert role.value in first.out
    second = examsvc("demo", "--no-serve", database_url=empty_database_url)
    assert second.code == 1 and "already holds data" in second.one_clear_error()
    assert _demo_state(empty_database_url) == (users, institutions, head, roles)


def test_demo_creates_a_missing_instance_folder_even_with_a_configured_key(examsvc, tmp_path):
    result = examsvc("demo", "--no-serve", env={"EXAMSVC_SECRET_KEY": "k" * 40})
    assert result.code == 0, result.err
    assert (tmp_path / "instance" / "examsvc.sqlite3").exists()


def test_the_installed_script_reports_malformed_configuration_in_one_line(tmp_path):
    """The console script is installed and wired to the same entry point (demo runs are above)."""
    env = {"EXAMSVC_INSTANCE_PATH": str(tmp_path / "instance"), "EXAMSVC_LOGIN_LOCK_MINUTES": "a quarter hour"}
    result = run_script("db", "upgrade", env=env, cwd=tmp_path)
    assert result.code == 2
    assert "EXAMSVC_LOGIN_LOCK_MINUTES='a quarter hour' is malformed" in result.one_clear_error()
