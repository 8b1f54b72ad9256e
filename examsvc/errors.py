"""The service's one error hierarchy; :mod:`examsvc.app` maps it to HTTP once.

Every error names the field (or object) it is about and carries a Chinese message (shown first)
and an English one.
"""

from __future__ import annotations

from itembank.errors import InvalidValue


class ServiceError(Exception):
    """Base of the domain errors that the web layer turns into responses."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, message_en: str | None = None, *, field: str | None = None,
                 code: str | None = None):
        super().__init__(message_en or message)
        self.message = message
        self.message_en = message_en or message
        self.field = field
        if code:
            self.code = code

    def with_status(self, status: int) -> "ServiceError":
        """The same error answered with another HTTP status (e.g. 401 for bad credentials)."""
        self.status = status
        return self

    @classmethod
    def from_invalid_value(cls, exc: InvalidValue) -> "ServiceError":
        return cls(exc.message, exc.message_en, field=exc.field, code=exc.code)

    def to_dict(self, locale: str = "zh") -> dict:
        return {
            "code": self.code,
            "message": self.message if locale.startswith("zh") else self.message_en,
            "field": self.field,
        }


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class ConfigError(Exception):
    """Configuration that cannot work; raised at start-up with one clear message."""
