"""Reference data held in the database: the occupations the platform may certify."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from examsvc.db import Base


class Occupation(Base):
    """A skill occupation of the National Occupational Classification, categories 3-6 (seed Art. 6)."""

    __tablename__ = "occupations"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    major_category: Mapped[int]
    levels: Mapped[str] = mapped_column(String(64))  # "5|4|3|2|1": levels the national standard sets
