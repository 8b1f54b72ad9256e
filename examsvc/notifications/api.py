"""JSON API of the caller's own notifications under ``/api/v1/notifications`` (any signed-in user).

Another user's notification is answered 404, as a missing one is.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from examsvc.app import current_locale
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ServiceError
from examsvc.notifications import service

bp = Blueprint("api_notifications", __name__, url_prefix="/notifications",
               description="Notifications to the signed-in user")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    institution_id = fields.Integer(allow_none=True)
    subject = fields.String(metadata={"description": "in the request's language (Chinese first)"})
    body = fields.String()
    subject_zh = fields.String()
    subject_en = fields.String()
    body_zh = fields.String()
    body_en = fields.String()
    link = fields.String(allow_none=True)
    source_kind = fields.String()
    source_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationListSchema(Schema):
    unread = fields.Integer()
    notifications = fields.List(fields.Nested(NotificationSchema))


class ListQuery(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "1: only unread ones"})


class ReadAllSchema(Schema):
    marked = fields.Integer()


def _signed_in() -> Any:
    if not current_user.is_authenticated:
        raise ServiceError("请先登录", "authentication required", code="unauthenticated").with_status(401)
    return current_user._get_current_object()


def _dump(notification: Any) -> dict[str, Any]:
    zh = current_locale().startswith("zh")
    data = {column.name: getattr(notification, column.name) for column in notification.__table__.columns}
    data.update(subject=notification.subject(zh), body=notification.body(zh))
    return data


@bp.route("")
class Notifications(MethodView):
    @bp.arguments(ListQuery, location="query")
    @bp.response(200, NotificationListSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """The caller's notifications, newest first, with the unread count."""
        user = _signed_in()
        session = get_session()
        return {"unread": service.unread_count(session, user.id),
                "notifications": [_dump(n) for n in service.list_for_user(session, user.id, query["unread"])]}


@bp.route("/<int:notification_id>/read")
class NotificationRead(MethodView):
    @bp.response(200, NotificationSchema)
    def post(self, notification_id: int) -> Any:
        """Mark one of the caller's notifications read (404 for anyone else's)."""
        user = _signed_in()
        with unit_of_work() as session:
            notification = service.mark_read(session, user, notification_id)
            return _dump(notification)


@bp.route("/read-all")
class NotificationsReadAll(MethodView):
    @bp.response(200, ReadAllSchema)
    def post(self) -> Any:
        """Mark every unread notification of the caller read."""
        user = _signed_in()
        with unit_of_work() as session:
            return {"marked": service.mark_all_read(session, user)}
