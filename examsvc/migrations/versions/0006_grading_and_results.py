"""grading and results

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:14:18.468202
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('pass_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('occupation_code', sa.String(length=10), nullable=False),
    sa.Column('work_type', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_type', sa.String(length=24), nullable=False),
    sa.Column('id_cipher', sa.Text(), nullable=False),
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=40), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('score_ids', sa.JSON(), nullable=False),
    sa.Column('confirmed_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_pass_records_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pass_records')),
    sa.UniqueConstraint('institution_id', 'occupation_code', 'level', 'id_digest', name=op.f('uq_pass_records_institution_id_occupation_code_level_id_digest'))
    )
    with op.batch_alter_table('pass_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pass_records_institution_id'), ['institution_id'], unique=False)

    op.create_table('result_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('published_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=False),
    sa.Column('notice_until', sa.Date(), nullable=False),
    sa.Column('confirmed_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_result_publications_confirmed_by_users')),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_result_publications_published_by_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_result_publications_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_publications')),
    sa.UniqueConstraint('session_id', name=op.f('uq_result_publications_session_id'))
    )
    op.create_table('component_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('scored_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_component_scores_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_component_scores_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_scores')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_component_scores_candidate_id'))
    )
    with op.batch_alter_table('component_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_scores_session_id'), ['session_id'], unique=False)

    op.create_table('key_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('old_key', sa.JSON(), nullable=False),
    sa.Column('new_key', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('applied_by', sa.Integer(), nullable=False),
    sa.Column('applied_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('affected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['applied_by'], ['users.id'], name=op.f('fk_key_corrections_applied_by_users')),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_key_corrections_paper_id_papers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_corrections'))
    )
    with op.batch_alter_table('key_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_corrections_paper_id'), ['paper_id'], unique=False)

    op.create_table('review_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_review_requests_decided_by_users')),
    sa.ForeignKeyConstraint(['score_id'], ['component_scores.id'], name=op.f('fk_review_requests_score_id_component_scores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_requests'))
    )
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_requests_score_id'), ['score_id'], unique=False)

    op.create_table('score_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('old_score', sa.Double(), nullable=False),
    sa.Column('new_score', sa.Double(), nullable=False),
    sa.Column('old_passed', sa.Boolean(), nullable=False),
    sa.Column('new_passed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['users.id'], name=op.f('fk_score_changes_changed_by_users')),
    sa.ForeignKeyConstraint(['score_id'], ['component_scores.id'], name=op.f('fk_score_changes_score_id_component_scores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_changes'))
    )
    with op.batch_alter_table('score_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_changes_score_id'), ['score_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('score_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_changes_score_id'))

    op.drop_table('score_changes')
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_requests_score_id'))

    op.drop_table('review_requests')
    with op.batch_alter_table('key_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_corrections_paper_id'))

    op.drop_table('key_corrections')
    with op.batch_alter_table('component_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_scores_session_id'))

    op.drop_table('component_scores')
    op.drop_table('result_publications')
    with op.batch_alter_table('pass_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pass_records_institution_id'))

    op.drop_table('pass_records')
    
