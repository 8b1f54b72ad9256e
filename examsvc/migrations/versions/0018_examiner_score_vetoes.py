"""veto items (否决项) an examiner marked on a task, and the note that goes with them

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('examiner_scores') as batch:
        batch.add_column(sa.Column('vetoes', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('veto_note', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('examiner_scores') as batch:
        batch.drop_column('veto_note')
        batch.drop_column('vetoes')
