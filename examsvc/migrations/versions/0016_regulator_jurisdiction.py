"""regulator jurisdiction

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 13:30:00
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jurisdiction', sa.String(length=32), nullable=True))
    # Regulators created before jurisdictions existed were the region's.
    op.execute("UPDATE role_grants SET jurisdiction = '自治区' WHERE role = 'regulator'")


def downgrade() -> None:
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_column('jurisdiction')
