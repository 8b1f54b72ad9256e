"""papers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:58:02.072655
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('assembly_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('blueprint_version_id', sa.Integer(), nullable=False),
    sa.Column('forms', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blueprint_version_id'], ['blueprint_versions.id'], name=op.f('fk_assembly_runs_blueprint_version_id_blueprint_versions')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assembly_runs_created_by_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_assembly_runs_institution_id_institutions')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_assembly_runs_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assembly_runs'))
    )
    with op.batch_alter_table('assembly_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assembly_runs_institution_id'), ['institution_id'], unique=False)

    op.create_table('papers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('blueprint_version_id', sa.Integer(), nullable=False),
    sa.Column('form_label', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('total_points', sa.Double(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.Integer(), nullable=True),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['blueprint_version_id'], ['blueprint_versions.id'], name=op.f('fk_papers_blueprint_version_id_blueprint_versions')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_papers_institution_id_institutions')),
    sa.ForeignKeyConstraint(['locked_by'], ['users.id'], name=op.f('fk_papers_locked_by_users')),
    sa.ForeignKeyConstraint(['run_id'], ['assembly_runs.id'], name=op.f('fk_papers_run_id_assembly_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_papers'))
    )
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_papers_blueprint_version_id'), ['blueprint_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_papers_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_papers_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_papers_status'), ['status'], unique=False)

    op.create_table('paper_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=False),
    sa.Column('element_code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Double(), nullable=False),
    sa.Column('key', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_paper_items_item_version_id_item_versions')),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_paper_items_paper_id_papers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_items')),
    sa.UniqueConstraint('paper_id', 'item_version_id', name=op.f('uq_paper_items_paper_id_item_version_id')),
    sa.UniqueConstraint('paper_id', 'position', name=op.f('uq_paper_items_paper_id_position'))
    )
    with op.batch_alter_table('paper_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_items_item_version_id'), ['item_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_items_paper_id'), ['paper_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('paper_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_items_paper_id'))
        batch_op.drop_index(batch_op.f('ix_paper_items_item_version_id'))

    op.drop_table('paper_items')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_papers_status'))
        batch_op.drop_index(batch_op.f('ix_papers_run_id'))
        batch_op.drop_index(batch_op.f('ix_papers_institution_id'))
        batch_op.drop_index(batch_op.f('ix_papers_blueprint_version_id'))

    op.drop_table('papers')
    with op.batch_alter_table('assembly_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assembly_runs_institution_id'))

    op.drop_table('assembly_runs')
    
