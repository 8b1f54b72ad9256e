"""Configuration: defaults < instance/config.py < EXAMSVC_* variables < the create_app argument."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from examsvc import create_app
from examsvc.config import DEFAULTS, ENV_PREFIX
from examsvc.errors import ConfigError


@pytest.fixture(autouse=True)
def no_settings_in_environment(monkeypatch):
    """The developer's own EXAMSVC_* settings must not leak into these tests."""
    for name in [*DEFAULTS, "INSTANCE_PATH"]:
        monkeypatch.delenv(ENV_PREFIX + name, raising=False)


@pytest.fixture
def instance(tmp_path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


def write_config(instance: Path, text: str) -> None:
    (instance / "config.py").write_text(text, encoding="utf-8")


def test_documented_defaults_apply_when_nothing_is_configured(instance):
    app = create_app({"INSTANCE_PATH": str(instance)})
    for name, (default, _description) in DEFAULTS.items():
        if default is not None:
            assert app.config[name] == default, name
    assert app.config["LOGIN_MAX_FAILURES"] == 5 and app.config["LOGIN_LOCK_MINUTES"] == 15
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'examsvc.sqlite3'}"
    assert app.instance_path == str(instance)


def test_each_source_overrides_the_one_before(instance, monkeypatch):
    write_config(instance, "LOGIN_MAX_FAILURES = 7\nLOGIN_LOCK_MINUTES = 20\nAPI_TOKEN_DAYS = 10\n")
    monkeypatch.setenv("EXAMSVC_LOGIN_LOCK_MINUTES", "25")
    monkeypatch.setenv("EXAMSVC_API_TOKEN_DAYS", "11")
    app = create_app({"INSTANCE_PATH": str(instance), "API_TOKEN_DAYS": 12})
    assert app.config["LOGIN_MAX_FAILURES"] == 7      # instance file over the default
    assert app.config["LOGIN_LOCK_MINUTES"] == 25     # environment over the instance file
    assert app.config["API_TOKEN_DAYS"] == 12         # argument over the environment
    assert app.config["SERVE_WORKERS"] == DEFAULTS["SERVE_WORKERS"][0]


def test_environment_values_take_the_type_of_the_default(instance, monkeypatch):
    monkeypatch.setenv("EXAMSVC_SESSION_COOKIE_SECURE", "off")
    monkeypatch.setenv("EXAMSVC_LANGUAGES", '["zh_CN"]')
    monkeypatch.setenv("EXAMSVC_PROXY_COUNT", "1")
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["LANGUAGES"] == ["zh_CN"]
    assert app.config["PROXY_COUNT"] == 1


def test_environment_selects_the_database(instance, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    monkeypatch.setenv("EXAMSVC_DATABASE_URL", url)
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["DATABASE_URL"] == url
    assert app.extensions["examsvc.engine"].url.database == str(tmp_path / "elsewhere.sqlite3")


def test_instance_path_from_the_environment_and_the_argument_wins(instance, tmp_path, monkeypatch):
    from_env = tmp_path / "from-env"
    from_env.mkdir()
    write_config(from_env, "LOGIN_MAX_FAILURES = 9\n")
    monkeypatch.setenv("EXAMSVC_INSTANCE_PATH", str(from_env))
    assert create_app().instance_path == str(from_env)
    assert create_app().config["LOGIN_MAX_FAILURES"] == 9
    # Tests pass their own instance folder: a developer's exported one must not leak in.
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.instance_path == str(instance)
    assert app.config["LOGIN_MAX_FAILURES"] == 5


# --- malformed configuration: one clear message naming the problem ---------------------------------

@pytest.mark.parametrize(("variable", "value", "named"), [
    ("EXAMSVC_LOGIN_MAX_FAILURES", "five", "EXAMSVC_LOGIN_MAX_FAILURES='five'"),
    ("EXAMSVC_SESSION_COOKIE_SECURE", "maybe", "EXAMSVC_SESSION_COOKIE_SECURE='maybe'"),
    ("EXAMSVC_LANGUAGES", "zh_CN,en", "EXAMSVC_LANGUAGES='zh_CN,en'"),
    ("EXAMSVC_LANGUAGES", '"zh_CN"', "EXAMSVC_LANGUAGES"),
    ("EXAMSVC_LOGIN_MAX_FAILURE", "3", "EXAMSVC_LOGIN_MAX_FAILURE is not a setting"),
])
def test_malformed_environment_is_refused_naming_the_variable(instance, monkeypatch, variable, value, named):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        create_app({"INSTANCE_PATH": str(instance)})
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


@pytest.mark.parametrize("variable", ["EXAMSVC_REQUIRE_POSTGRES", "EXAMSVC_REQUIRE_BROWSER",
                                      "EXAMSVC_TEST_DATABASE_URL"])
def test_variables_that_steer_the_test_suite_are_not_taken_for_settings(instance, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")  # .ci/run exports them around the app's own tests
    assert variable.removeprefix("EXAMSVC_") not in create_app({"INSTANCE_PATH": str(instance)}).config


def test_instance_file_with_a_syntax_error_is_refused_naming_file_and_line(instance):
    write_config(instance, "LOGIN_MAX_FAILURES = 5\nLOGIN_LOCK_MINUTES = = 3\n")
    with pytest.raises(ConfigError) as caught:
        create_app({"INSTANCE_PATH": str(instance)})
    assert str(caught.value).startswith(f"{instance / 'config.py'}:2:")


def test_instance_file_that_fails_when_run_is_refused_naming_the_error(instance):
    write_config(instance, "LOGIN_MAX_FAILURES = int('five')\n")
    with pytest.raises(ConfigError) as caught:
        create_app({"INSTANCE_PATH": str(instance)})
    assert str(caught.value) == f"{instance / 'config.py'}: ValueError: invalid literal for int() with base 10: 'five'"


@pytest.mark.parametrize(("source", "setting"), [
    ("file", 'LOGIN_LOCK_MINUTES = "15"\n'),
    ("file", "SESSION_COOKIE_SECURE = 1\n"),
    ("argument", {"LOGIN_LOCK_MINUTES": "15"}),
])
def test_a_setting_of_the_wrong_type_is_refused_naming_it(instance, source, setting):
    overrides = {"INSTANCE_PATH": str(instance)}
    if source == "file":
        write_config(instance, setting)
    else:
        overrides.update(setting)
    with pytest.raises(ConfigError, match=r"^setting (LOGIN_LOCK_MINUTES|SESSION_COOKIE_SECURE) must be"):
        create_app(overrides)


@pytest.mark.parametrize("url", ["not a database url", "nosuchdialect://host/db"])
def test_an_unusable_database_url_is_refused_at_start(instance, url):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL .* is not usable"):
        create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": url})


# --- the secret key ---------------------------------------------------------------------------------

def test_secret_key_is_generated_private_on_first_run_and_reused(tmp_path):
    instance = tmp_path / "new-instance"          # not there yet: the first run creates it
    first = create_app({"INSTANCE_PATH": str(instance)})
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="ascii")
    assert len(key) >= 32 and first.secret_key == key
    second = create_app({"INSTANCE_PATH": str(instance)})
    assert second.secret_key == key
    assert key_file.read_text(encoding="ascii") == key


def test_secret_key_files_differ_between_instances(tmp_path):
    one = create_app({"INSTANCE_PATH": str(tmp_path / "one")}).secret_key
    two = create_app({"INSTANCE_PATH": str(tmp_path / "two")}).secret_key
    assert one != two


def test_a_configured_secret_key_writes_no_file(instance, monkeypatch):
    monkeypatch.setenv("EXAMSVC_SECRET_KEY", "k" * 40)
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.secret_key == "k" * 40
    assert not (instance / "secret_key").exists()


def test_a_short_secret_key_file_is_refused(instance):
    (instance / "secret_key").write_text("too-short", encoding="ascii")
    with pytest.raises(ConfigError, match="shorter than 32 characters"):
        create_app({"INSTANCE_PATH": str(instance)})


def test_cookie_flags_are_secure_by_default(instance):
    config = create_app({"INSTANCE_PATH": str(instance)}).config
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
