"""Exam sessions (认定场次): rooms, the locked forms they use, staff, and registered candidates."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class SessionStatus(str, enum.Enum):
    PLANNED = "planned"  # being prepared: rooms, forms, staff, candidates
    OPEN = "open"        # staff rules hold; candidates may check in and sit
    CLOSED = "closed"    # over; every attempt is closed


class StaffRole(str, enum.Enum):
    INVIGILATOR = "invigilator"
    EXAMINER = "examiner"
    INTERNAL_SUPERVISOR = "internal_supervisor"  # 内部质量督导员 (seed Art. 26)


class ExamSession(Base):
    __tablename__ = "exam_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprints.id"))
    title: Mapped[str] = mapped_column(String(200))
    # Where it is held (盟市, seed Art. 12). NULL only for sessions planned before places were kept,
    # by region-level institutions: such a session must be given its place before it can open.
    league_city: Mapped[str | None] = mapped_column(String(32))
    exam_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)  # earliest sign-in
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)    # latest start of an attempt
    duration_minutes: Mapped[int]
    languages: Mapped[list[str]] = mapped_column(JSON)           # ["zh"] or ["zh", "mn"]
    auto_check_in: Mapped[bool] = mapped_column(default=False)
    layout: Mapped[str] = mapped_column(String(16), default="paged")  # paged | scrolling
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded when used: the exam room's hot paths read a session without its rooms, papers or staff.
    rooms: Mapped[list["SessionRoom"]] = relationship(back_populates="session", order_by="SessionRoom.id",
                                                      cascade="all, delete-orphan")
    papers: Mapped[list["SessionPaper"]] = relationship(order_by="SessionPaper.id", cascade="all, delete-orphan")
    staff: Mapped[list["StaffAssignment"]] = relationship(order_by="StaffAssignment.id", cascade="all, delete-orphan")


class SessionRoom(Base):
    __tablename__ = "session_rooms"
    __table_args__ = (UniqueConstraint("session_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int]

    session: Mapped[ExamSession] = relationship(back_populates="rooms")


class SessionPaper(Base):
    """A locked form offered in the session; forms rotate across seats."""

    __tablename__ = "session_papers"
    __table_args__ = (UniqueConstraint("session_id", "paper_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"))


class StaffAssignment(Base):
    __tablename__ = "staff_assignments"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("session_rooms.id"))


class Candidate(Base):
    """A registered candidate (参评人员) of one session; the identity number is kept protected."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("session_id", "ticket_number"), UniqueConstraint("session_id", "id_digest"),
                      UniqueConstraint("room_id", "seat"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(24))   # resident_id | passport | other
    id_cipher: Mapped[str] = mapped_column(Text)
    id_digest: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str | None] = mapped_column(String(8))
    employer: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    exam_language: Mapped[str] = mapped_column(String(8), default="zh")
    ticket_number: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("session_rooms.id"))
    seat: Mapped[int | None]
    password_hash: Mapped[str | None] = mapped_column(String(255))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """The invigilators' incident log (考场记录)."""

    __tablename__ = "session_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("session_rooms.id"))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))   # note | pause | resume | extra_time | terminate | check_in
    text: Mapped[str] = mapped_column(Text, default="")
