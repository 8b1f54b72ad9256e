"""Sign-in and sign-out pages, and the loaders that tell flask-login who is asking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user

from examsvc.accounts.models import User
from examsvc.accounts.service import authenticate, user_for_token
from examsvc.clock import local_time
from examsvc.db import get_session, unit_of_work

bp = Blueprint("accounts", __name__)
class _LoginManager(LoginManager):  # type: ignore[misc]
    def _session_protection_failed(self) -> bool:
        # "strong" protection wipes a session whose client fingerprint changed. Only a session that
        # holds a login is worth protecting: applied to an anonymous one (a CSRF token, a candidate's
        # exam) it also refused every bearer-token request sent with such a cookie.
        if "_user_id" not in session:
            return False
        return bool(super()._session_protection_failed())


login_manager = _LoginManager()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if request.headers.get("Authorization", "").startswith("Bearer "):
        # A token request is exempt from CSRF, so it is that token's user or nobody: never the
        # session cookie's (flask-login asks this loader before the request loader).
        return None
    user = get_session().get(User, int(user_id)) if user_id.isdecimal() else None
    return user if user is not None and user.active else None


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return user_for_token(get_session(), header[len("Bearer "):].strip())
    return None


def login_needed_response() -> Any:
    if request.path.startswith("/api/"):
        from examsvc.web import error_response

        return error_response(401, "unauthenticated", "请先登录", "authentication required")
    return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link borrow our login page.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("accounts/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    error = None
    if not username.strip() or not password:
        error = _("Enter your username and password.")
    else:
        with unit_of_work() as db_session:
            outcome = authenticate(db_session, username, password,
                                   max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                   lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        if outcome.ok:
            login_user(outcome.user)
            session.permanent = True  # PERMANENT_SESSION_LIFETIME bounds a login
            return redirect(_safe_next(request.form.get("next")))
        if outcome.reason == "locked":
            error = _("This account is locked after too many failed sign-ins. Try again after %(until)s.",
                      until=local_time(outcome.locked_until).strftime("%H:%M"))
        elif outcome.reason == "inactive":
            error = _("This account is disabled.")
        else:
            error = _("Wrong username or password.")
    return render_template("accounts/login.html", error=error, next=request.form.get("next", ""),
                           username=username), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        from examsvc.audit.service import record

        with unit_of_work() as db_session:
            user = db_session.get(User, current_user.id)
            record(db_session, user, "logout", user, {})
    logout_user()
    flash(_("You have signed out."))
    return redirect(url_for("accounts.login"))
