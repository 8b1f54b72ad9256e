"""examsvc: the certification service (institutions, sessions, delivery, grading, certificates)."""

from examsvc.app import create_app

__all__ = ["create_app"]
