"""The public verification page (证书查验): open to everyone, no sign-in, rate limited.

``GET /verify`` shows the form (number and holder's name), ``POST /verify`` looks up, and
``GET /verify/<number>?n=<tag>`` is what the certificate's QR code opens. A malformed number, a
forged QR link or too many look-ups are answered with the reason and change nothing but the
client's look-up counter.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext as _

from examsvc.app import current_locale
from examsvc.auth import client_address
from examsvc.certificates.numbers import parse_number
from examsvc.certificates.verification import Verification, count_lookup, verify
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ServiceError

bp = Blueprint("verify", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def lookup(number: str, *, name: str | None = None, tag: str | None = None) -> Verification:
    """Count the look-up against the client's limit (committed on its own), then verify."""
    config = current_app.config
    with unit_of_work() as session:
        count_lookup(session, client_address(), limit=config["VERIFY_RATE_LIMIT"],
                     window_seconds=config["VERIFY_RATE_WINDOW_SECONDS"])
    return verify(get_session(), number, name=name, tag=tag)


def _page(result: Verification | None = None, error: ServiceError | None = None, status: int = 200,
          number: str = "", name: str = "") -> Any:
    zh = current_locale().startswith("zh")
    message = None if error is None else (error.message if zh else error.message_en)
    response = render_template("certificates/verify.html", result=result, error=error, message=message,
                               number=number, name=name, zh=zh,
                               outcome_names={"valid": _("Valid"), "void": _("Void"), "not_found": _("Not found")})
    return response, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/verify")
def verify_form() -> Any:
    return _page()


@bp.route("/verify", methods=["POST"])
def verify_lookup() -> Any:
    number, name = request.form.get("number", ""), request.form.get("name", "")
    try:
        result = lookup(number, name=name)
    except ServiceError as exc:
        return _page(error=exc, status=exc.status, number=number, name=name)
    return _page(result, number=result.number, name=name)


@bp.route("/verify/<number>")
def verify_link(number: str) -> Any:
    tag = request.args.get("n", "")
    if not tag:  # a bare link: check the number's form, then ask for the holder's name
        try:
            number = parse_number(number).number
        except ServiceError as exc:
            return _page(error=exc, status=exc.status, number=number)
        return _page(number=number)
    try:
        result = lookup(number, tag=tag)
    except ServiceError as exc:
        return _page(error=exc, status=exc.status, number=number)
    return _page(result, number=result.number)
