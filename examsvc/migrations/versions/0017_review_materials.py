"""review materials (综合评审材料)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_review_materials_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_review_materials_session_id_exam_sessions')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_review_materials_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_materials'))
    )
    with op.batch_alter_table('review_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_materials_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_materials_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_materials_session_id'))
        batch_op.drop_index(batch_op.f('ix_review_materials_candidate_id'))

    op.drop_table('review_materials')
