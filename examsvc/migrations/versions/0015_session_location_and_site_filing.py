"""session location and site filing

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 13:30:00

Exam sessions get the league/city where they are held (seed Art. 12), checked against the
institution's own league/city or its site filings. Existing sessions of league/city institutions
take their institution's league/city; those of region-level institutions stay NULL (nobody recorded
where they were held), which is why the column is nullable.

Supervision draws get ``weights``: the per-candidate weights of a draw weighted by credit grade
(Art. 39); NULL for the plain, unweighted draws recorded before (and after).
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('league_city', sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE exam_sessions SET league_city = (SELECT institutions.league_city FROM institutions "
        "WHERE institutions.id = exam_sessions.institution_id AND institutions.tier = 'league_city')"
    )
    with op.batch_alter_table('supervision_draws', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weights', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('supervision_draws', schema=None) as batch_op:
        batch_op.drop_column('weights')
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.drop_column('league_city')
