"""analysis runs and item statistics

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:45:00.000000
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('session_ids', sa.JSON(), nullable=False),
    sa.Column('institution_ids', sa.JSON(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('n_examinees', sa.Integer(), nullable=False),
    sa.Column('n_items', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprints.id'], name=op.f('fk_analysis_runs_blueprint_id_exam_blueprints')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_analysis_runs_created_by_users')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_analysis_runs_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_runs'))
    )
    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_runs_blueprint_id'), ['blueprint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analysis_runs_status'), ['status'], unique=False)

    op.create_table('analysis_run_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_analysis_run_sessions_run_id_analysis_runs')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_analysis_run_sessions_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_run_sessions')),
    sa.UniqueConstraint('run_id', 'session_id', name=op.f('uq_analysis_run_sessions_run_id_session_id'))
    )
    with op.batch_alter_table('analysis_run_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_run_sessions_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analysis_run_sessions_session_id'), ['session_id'], unique=False)

    op.create_table('item_statistics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('n_missing', sa.Integer(), nullable=False),
    sa.Column('facility', sa.Double(), nullable=True),
    sa.Column('discrimination', sa.Double(), nullable=True),
    sa.Column('point_biserial', sa.Double(), nullable=True),
    sa.Column('discrimination_index', sa.Double(), nullable=True),
    sa.Column('irt_model', sa.String(length=8), nullable=True),
    sa.Column('irt_a', sa.Double(), nullable=True),
    sa.Column('irt_a_se', sa.Double(), nullable=True),
    sa.Column('irt_b', sa.Double(), nullable=True),
    sa.Column('irt_b_se', sa.Double(), nullable=True),
    sa.Column('irt_c', sa.Double(), nullable=True),
    sa.Column('irt_c_se', sa.Double(), nullable=True),
    sa.Column('infit', sa.Double(), nullable=True),
    sa.Column('outfit', sa.Double(), nullable=True),
    sa.Column('dif', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('distractors', sa.JSON(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_statistics_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_item_statistics_item_version_id_item_versions')),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_item_statistics_run_id_analysis_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_statistics')),
    sa.UniqueConstraint('run_id', 'item_version_id', name=op.f('uq_item_statistics_run_id_item_version_id'))
    )
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_statistics_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_statistics_item_version_id'), ['item_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_statistics_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_statistics_run_id'))
        batch_op.drop_index(batch_op.f('ix_item_statistics_item_version_id'))
        batch_op.drop_index(batch_op.f('ix_item_statistics_item_id'))
    op.drop_table('item_statistics')
    with op.batch_alter_table('analysis_run_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_run_sessions_session_id'))
        batch_op.drop_index(batch_op.f('ix_analysis_run_sessions_run_id'))
    op.drop_table('analysis_run_sessions')
    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_runs_status'))
        batch_op.drop_index(batch_op.f('ix_analysis_runs_blueprint_id'))
    op.drop_table('analysis_runs')
