"""The audit trail page: recent events and the chain check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template, request

from examsvc.audit.service import recent_events, verify_chain
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session

bp = Blueprint("audit", __name__, url_prefix="/audit")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/")
@permission_required(Permission.AUDIT_VIEW)
def list_events() -> Any:
    session = get_session()
    before = request.args.get("before", type=int)
    events = recent_events(session, limit=100, before_seq=before)
    report = verify_chain(session) if request.args.get("verify") else None
    return render_template("audit/list.html", events=events, report=report)
