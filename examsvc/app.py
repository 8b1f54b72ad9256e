"""The application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from examsvc import config as config_module
from examsvc import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()
babel = Babel()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, ``instance/config.py``, ``EXAMSVC_*`` variables, then ``config``.

    Raises :class:`examsvc.errors.ConfigError` with one clear message when a setting is malformed.
    """
    # The argument comes last in the precedence, so it also wins over EXAMSVC_INSTANCE_PATH.
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("EXAMSVC_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(config_module.load(Path(app.instance_path), config, os.environ))
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _csrf_unless_token below
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        API_TITLE="examsvc",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_NAME="examsvc_session",
        MAX_CONTENT_LENGTH=app.config["MAX_REQUEST_BYTES"],  # a 50 MB upload is refused before it is read
    )
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    from examsvc import api, web
    from examsvc.accounts import admin_routes
    from examsvc.accounts import routes as account_routes
    from examsvc.analysis import routes as analysis_routes
    from examsvc.audit import routes as audit_routes
    from examsvc.bank import routes as bank_routes
    from examsvc.certificates import routes as certificate_routes
    from examsvc.delivery import routes as exam_routes
    from examsvc.grading import routes as grading_routes
    from examsvc.institutions import routes as institution_routes
    from examsvc.institutions import filing_routes
    from examsvc.papers import routes as paper_routes
    from examsvc.supervision import routes as supervision_routes
    from examsvc.supervision import people_routes
    from examsvc.archives import routes as archive_routes
    from examsvc.sessions import routes as session_routes
    from examsvc.notifications import routes as notification_routes

    account_routes.init_app(app)
    web.init_app(app)
    audit_routes.init_app(app)
    institution_routes.init_app(app)
    filing_routes.init_app(app)
    admin_routes.init_app(app)
    bank_routes.init_app(app)
    paper_routes.init_app(app)
    session_routes.init_app(app)
    exam_routes.init_app(app)
    grading_routes.init_app(app)
    certificate_routes.init_app(app)
    supervision_routes.init_app(app)
    people_routes.init_app(app)
    archive_routes.init_app(app)
    analysis_routes.init_app(app)
    notification_routes.init_app(app)
    api.init_app(app)

    @app.before_request
    def _csrf_unless_token() -> None:
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return  # token requests carry no ambient credentials to forge
        if request.endpoint == "api_tokens.Tokens":
            return  # authenticated by the credentials in its body, and it sets no cookie
        csrf.protect()

    from examsvc.auth import enforce_declared_permission

    app.before_request(enforce_declared_permission)
    if app.config["JOBS_WORKER_THREAD"] and not app.config.get("TESTING"):
        from examsvc.jobs.worker import start_on_first_request

        start_on_first_request(app)  # serving processes only, not CLI commands
    return app


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(languages) if request else None
    # Chinese first: only a browser that asks for English and not Chinese gets English.
    return best if best == "en" and "zh" not in str(request.accept_languages) else current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale else "zh_CN"


__all__ = ["create_app", "current_locale"]
