"""Alembic environment: runs against the engine handed over by :mod:`examsvc.migrate`."""

from alembic import context

import examsvc.models  # noqa: F401  (fills the metadata)
from examsvc.db import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
