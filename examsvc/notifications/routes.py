"""The signed-in user's notifications page, and the unread badge of the navigation bar.

Any signed-in user, whatever the role, has the page (listed as such in the permission matrix); it
only ever shows the user's own notifications.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from examsvc.app import current_locale
from examsvc.clock import local_time
from examsvc.db import get_session, unit_of_work
from examsvc.notifications import service

bp = Blueprint("notifications", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_badge)


def _badge() -> dict[str, Any]:
    def unread_notifications() -> int:
        """Counted only when a page's navigation bar asks, for a signed-in user."""
        if not current_user.is_authenticated:
            return 0
        try:
            return service.unread_count(get_session(), current_user.id)
        except SQLAlchemyError:  # an error page after a failed query: the badge must not fail it again
            return 0

    return {"unread_notifications": unread_notifications}


def signed_in_only() -> Any:
    """None for a signed-in user; otherwise the answer asking to sign in."""
    if current_user.is_authenticated:
        return None
    from examsvc.accounts.routes import login_needed_response

    return login_needed_response()


@bp.route("/notifications")
def list_notifications() -> Any:
    refused = signed_in_only()
    if refused is not None:
        return refused
    unread_only = request.args.get("unread") in ("1", "true")
    session = get_session()
    return render_template("notifications/list.html",
                           notifications=service.list_for_user(session, current_user.id, unread_only),
                           unread=service.unread_count(session, current_user.id), unread_only=unread_only,
                           zh=current_locale().startswith("zh"), local_time=local_time)


@bp.route("/notifications/read-all", methods=["POST"])
def read_all() -> Any:
    refused = signed_in_only()
    if refused is not None:
        return refused
    with unit_of_work() as session:
        count = service.mark_all_read(session, current_user._get_current_object())
    flash(_("%(count)d notification(s) marked read.", count=count))
    return redirect(url_for("notifications.list_notifications"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def read_one(notification_id: int) -> Any:
    """Mark one read; back to the list."""
    refused = signed_in_only()
    if refused is not None:
        return refused
    with unit_of_work() as session:
        service.mark_read(session, current_user._get_current_object(), notification_id)
    return redirect(url_for("notifications.list_notifications"))
