"""Archive pages: download a session's archive package (institution admins of its institution,
regulators), and an upload form where regulators verify a package.

The certificate data batch pages (:mod:`examsvc.certificates.batch_routes`) are registered here too.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Flask, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from examsvc.archives.package import export_session_archive, verify_package, zip_bytes
from examsvc.auth import Permission, permission_required, require_permission
from examsvc.db import get_session, unit_of_work
from examsvc.sessions.service import get_session_row

bp = Blueprint("archives", __name__, url_prefix="/archives")


def init_app(app: Flask) -> None:
    from examsvc.certificates import batch_routes

    app.register_blueprint(bp)
    batch_routes.init_app(app)


def archive_download(session_id: int, permission: Permission) -> Any:
    """The zip of the session's package, once the user holds ``permission`` in its institution."""
    exam_session = get_session_row(get_session(), session_id)
    require_permission(current_user, permission, exam_session.institution_id)
    with unit_of_work() as session:
        files = export_session_archive(session, session_id, current_user._get_current_object())
    return send_file(io.BytesIO(zip_bytes(files)), mimetype="application/zip", as_attachment=True,
                     download_name=f"archive-session-{session_id}.zip")


@bp.route("/sessions/<int:session_id>.zip")
@permission_required(Permission.INSTITUTION_MANAGE)
def download(session_id: int) -> Any:
    return archive_download(session_id, Permission.INSTITUTION_MANAGE)


@bp.route("/regulator/sessions/<int:session_id>.zip")
@permission_required(Permission.REGULATE)
def regulator_download(session_id: int) -> Any:
    return archive_download(session_id, Permission.REGULATE)


@bp.route("/verify", methods=["GET", "POST"])
@permission_required(Permission.REGULATE)
def verify_form() -> Any:
    report, error = None, None
    if request.method == "POST":
        upload = request.files.get("package")
        if upload is None or not upload.filename:
            error = _("Choose an archive package (.zip) to verify.")
        else:
            report = verify_package(upload.read())
    return render_template("archives/verify.html", report=report, error=error), 422 if error else 200
