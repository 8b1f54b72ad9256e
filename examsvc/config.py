"""Configuration: defaults, then ``instance/config.py``, then ``EXAMSVC_*`` variables, then the
argument given to :func:`examsvc.create_app` (tests).

Each later source overrides an earlier one. Rules with numbers that the domain marks configurable
live here with their documented default (see README, "Configuration").
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from examsvc.errors import ConfigError

ENV_PREFIX = "EXAMSVC_"

#: name -> (default, description). The README's configuration table is generated from this.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "DATABASE_URL": (None, "SQLAlchemy URL; default: SQLite file instance/examsvc.sqlite3"),
    "SECRET_KEY": (None, "session signing key; generated into instance/secret_key when unset"),
    "DATA_KEY": (None, "key for identity numbers at rest; generated into instance/data_key when unset"),
    "LOGIN_MAX_FAILURES": (5, "failed logins in a row that lock an account"),
    "LOGIN_LOCK_MINUTES": (15, "how long a locked account stays locked"),
    "SESSION_COOKIE_SECURE": (True, "send the session cookie over HTTPS only"),
    "SESSION_COOKIE_HTTPONLY": (True, "hide the session cookie from scripts"),
    "SESSION_COOKIE_SAMESITE": ("Lax", "SameSite attribute of the session cookie"),
    "PERMANENT_SESSION_LIFETIME": (8 * 3600, "seconds a login lasts"),
    "PROXY_COUNT": (0, "reverse proxies in front of the app (for the client address in audit)"),
    "SERVE_BIND": ("127.0.0.1:8000", "address gunicorn binds in `examsvc serve`"),
    "SERVE_WORKERS": (4, "gunicorn worker processes in `examsvc serve`"),
    "SERVE_THREADS": (4, "threads per gunicorn worker in `examsvc serve`"),
    "SERVE_ACCESS_LOG": ("", "where `examsvc serve` writes its access log: a file, `-` for standard output, empty for none"),
    "TIMEZONE": ("Asia/Shanghai", "time zone in which pages show times (deadlines are kept in UTC)"),
    "BABEL_DEFAULT_LOCALE": ("zh_CN", "UI language when the user chose none"),
    "LANGUAGES": (["zh_CN", "en"], "UI languages offered"),
    "API_TOKEN_DAYS": (30, "lifetime of an API token"),
    "DATABASE_CONNECT_TIMEOUT": (5, "seconds to wait for the database at start-up"),
    "MAX_REQUEST_BYTES": (25_000_000, "largest request body accepted (uploads included)"),
    "JOBS_EAGER": (False, "run background jobs at once, in the request (tests)"),
    "JOBS_WORKER_THREAD": (True, "run background jobs in a thread of each app process"),
    "JOBS_POLL_SECONDS": (1.0, "how often an idle job runner looks for work"),
    "JOBS_STALE_SECONDS": (300, "a running job without a heartbeat for this long is run again"),
    "INVIGILATORS_PER_ROOM_MIN": (2, "invigilators each exam room needs at least"),
    "CANDIDATES_PER_INVIGILATOR_MAX": (15, "candidates one invigilator may watch at most"),
    "RESULT_NOTICE_DAYS": (5, "days results stay published (公示) before they can be confirmed"),
    "EXAMINERS_PER_TASK": (3, "examiners who score each skill task of each candidate (odd, at least 3)"),
    "EXAMINER_AGGREGATE": ("mean", "how examiners' totals of a task combine: mean or median"),
    "EXAMINER_SPREAD_MAX": (10.0, "largest spread of examiners' totals per 100 task points before a chief examiner resolves"),
    "EXAMINER_ROTATION_MAX_SESSIONS": (12, "sessions of one institution an examiner may score per calendar year (轮换)"),
    "REVIEW_MATERIAL_MAX_BYTES": (20_000_000, "largest review material file (综合评审材料: PDF, DOCX, JPEG, PNG) a candidate may hand in"),
    "REVIEW_MATERIAL_MAX_FILES": (10, "review material files one candidate may hand in for one review session"),
    "ANALYSIS_MIN_N": (100, "responses an item version needs before assembly uses its observed difficulty instead of the writer's estimate"),
    "ANALYSIS_IRT_MODEL": ("2pl", "IRT model of item analysis: rasch, 2pl, 3pl, or none"),
    "ANALYSIS_DIF_MIN_GROUP": (100, "candidates a group needs before item analysis compares it for DIF (language, gender, institution)"),
    "ANALYSIS_FACILITY_MIN": (0.2, "item analysis flags an item answered right by fewer than this share as too hard"),
    "ANALYSIS_FACILITY_MAX": (0.9, "item analysis flags an item answered right by more than this share as too easy"),
    "ANALYSIS_DISCRIMINATION_MIN": (0.2, "item analysis flags an item-rest correlation below this as low discrimination (below 0: negative)"),
    "ANALYSIS_MISKEY_DISTRACTOR_MIN_R": (0.1, "option-rest correlation of a distractor that, with a key below the next setting, flags a probable miskey"),
    "ANALYSIS_MISKEY_KEY_MAX_R": (0.05, "option-rest correlation of the key below which a positive distractor flags a probable miskey"),
    "ANALYSIS_MISSING_RATE_MAX": (0.1, "item analysis flags an item left unanswered by more than this share"),
    "ANALYSIS_FIT_MIN": (0.7, "item analysis flags an infit or outfit mean square below this as poor fit"),
    "ANALYSIS_FIT_MAX": (1.3, "item analysis flags an infit or outfit mean square above this as poor fit"),
    "ANALYSIS_MIN_N_CLASSICAL_FLAGS": (30, "candidates a form needs before item analysis reports reliability (KR-20, alpha, SEM) and flags items; below it says the sample is too small"),
    "ANALYSIS_MIN_N_RASCH": (100, "candidates a form needs before item analysis fits the Rasch model"),
    "ANALYSIS_MIN_N_2PL": (200, "candidates a form needs before item analysis fits the 2PL model"),
    "ANALYSIS_MIN_N_3PL": (500, "candidates a form needs before item analysis fits the 3PL model"),
    "ASSEMBLY_EXCLUDE_RECENT_SESSIONS": (0, "assembly leaves out items used in this many latest sessions of the blueprint (0: off)"),
    "BANK_APPROVALS_NEEDED": (1, "reviewers' approvals that make an item version approved"),
    "PUBLIC_BASE_URL": ("http://127.0.0.1:5000", "address the public reaches this service at (certificate QR codes)"),
    "VERIFY_RATE_LIMIT": (30, "certificate look-ups one client address may make per window"),
    "VERIFY_RATE_WINDOW_SECONDS": (600, "length of the verification rate-limit window"),
    "ARCHIVE_RETENTION_YEARS": (5, "years a session's electronic records are kept before they may be deleted (at least 5, seed Art. 30)"),
    "ARCHIVE_PAPER_RETENTION_YEARS": (3, "years paper records are kept (at least 3, seed Art. 30)"),
    "CREDIT_WINDOW_DAYS": (365, "days of supervisors' findings an institution's credit grade counts (Art. 39)"),
    "CREDIT_PROBLEM_POINTS": (5.0, "credit points (of 100) an institution loses per checklist item found a problem"),
    "CREDIT_SERIOUS_ITEMS": (['identity', 'paper_security'], "checklist items whose problems cost CREDIT_SERIOUS_POINTS instead"),
    "CREDIT_SERIOUS_POINTS": (15.0, "credit points lost per problem with a serious checklist item"),
    "CREDIT_GRADE_MINIMUMS": ([90, 75, 60], "lowest credit scores of grades A, B and C (below: D)"),
    "CREDIT_INSPECTIONS_PER_YEAR": ([1, 2, 4, 12], "routine inspections per year of an institution graded A, B, C, D"),
    "CREDIT_DRAW_WEIGHTS": ([1, 2, 4, 8], "weights (whole numbers, non-decreasing) of grades A, B, C, D in an inspection draw weighted by credit: lower credit, likelier drawn"),
}


def _coerce(name: str, raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the default."""
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true/false")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            value = json.loads(raw)
            if not isinstance(value, list):
                raise ValueError("expected a JSON list")
            return value
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is malformed: {exc}") from None
    return raw


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``EXAMSVC_*`` variables; unknown names are refused (typos must not pass)."""
    values: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key in _NOT_SETTINGS:
            continue
        name = key[len(ENV_PREFIX):]
        if name not in DEFAULTS:
            known = ", ".join(ENV_PREFIX + k for k in DEFAULTS)
            raise ConfigError(f"{key} is not a setting; known settings: {known}")
        values[name] = _coerce(name, raw, DEFAULTS[name][0])
    return values


# Variables with the prefix that steer tooling rather than the app.
_NOT_SETTINGS = {"EXAMSVC_TEST_DATABASE_URL", "EXAMSVC_REQUIRE_POSTGRES", "EXAMSVC_REQUIRE_BROWSER",
                 "EXAMSVC_INSTANCE_PATH"}


def from_instance_file(path: Path) -> dict[str, Any]:
    """Upper-case names of ``instance/config.py``; a syntax error is a ConfigError naming the line."""
    if not path.exists():
        return {}
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, namespace)  # noqa: S102 - the operator's own config file
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # an error while running the file
        raise ConfigError(f"{path}: {type(exc).__name__}: {exc}") from None
    return {k: v for k, v in namespace.items() if k.isupper()}


def load(instance_path: Path, overrides: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Merge the four sources in order and fill the derived defaults."""
    settings: dict[str, Any] = {name: default for name, (default, _) in DEFAULTS.items()}
    settings.update(from_instance_file(instance_path / "config.py"))
    settings.update(from_environment(environ))
    settings.update(overrides or {})
    if not settings.get("DATABASE_URL"):
        instance_path.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
        settings["DATABASE_URL"] = f"sqlite:///{instance_path / 'examsvc.sqlite3'}"
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = instance_secret_key(instance_path)
    for name, (default, _) in DEFAULTS.items():
        value = settings[name]
        if default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int)
        ):
            raise ConfigError(f"setting {name} must be {type(default).__name__}, got {value!r}")
    return settings


def instance_secret_key(instance_path: Path) -> str:
    """Read, or create on first run, the instance's secret key (file mode 0600, never committed)."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        key = key_file.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise ConfigError(f"{key_file} holds a key shorter than 32 characters")
        return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return instance_secret_key(instance_path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
