"""examiner scoring

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:24:36.532199
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('examiner_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('card_number', sa.String(length=40), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('jurisdiction', sa.String(length=100), nullable=False),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('training_note', sa.Text(), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=False),
    sa.Column('registered_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_examiner_cards_institution_id_institutions')),
    sa.ForeignKeyConstraint(['registered_by'], ['users.id'], name=op.f('fk_examiner_cards_registered_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_examiner_cards_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_examiner_cards')),
    sa.UniqueConstraint('card_number', name=op.f('uq_examiner_cards_card_number'))
    )
    with op.batch_alter_table('examiner_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_examiner_cards_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_examiner_cards_user_id'), ['user_id'], unique=False)

    op.create_table('chief_examiners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('designated_by', sa.Integer(), nullable=False),
    sa.Column('designated_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['designated_by'], ['users.id'], name=op.f('fk_chief_examiners_designated_by_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_chief_examiners_session_id_exam_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chief_examiners_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chief_examiners')),
    sa.UniqueConstraint('session_id', name=op.f('uq_chief_examiners_session_id'))
    )
    with op.batch_alter_table('chief_examiners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chief_examiners_user_id'), ['user_id'], unique=False)

    op.create_table('examiner_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('examiner_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('declared_by', sa.Integer(), nullable=False),
    sa.Column('declared_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_examiner_conflicts_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['declared_by'], ['users.id'], name=op.f('fk_examiner_conflicts_declared_by_users')),
    sa.ForeignKeyConstraint(['examiner_id'], ['users.id'], name=op.f('fk_examiner_conflicts_examiner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_examiner_conflicts')),
    sa.UniqueConstraint('examiner_id', 'candidate_id', name=op.f('uq_examiner_conflicts_examiner_id_candidate_id'))
    )
    with op.batch_alter_table('examiner_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_examiner_conflicts_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('examiner_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('task_code', sa.String(length=32), nullable=False),
    sa.Column('examiner_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('total', sa.Double(), nullable=False),
    sa.Column('submitted_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_examiner_scores_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['examiner_id'], ['users.id'], name=op.f('fk_examiner_scores_examiner_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_examiner_scores_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_examiner_scores')),
    sa.UniqueConstraint('candidate_id', 'task_code', 'examiner_id', name=op.f('uq_examiner_scores_candidate_id_task_code_examiner_id')),
    sa.UniqueConstraint('candidate_id', 'task_code', 'slot', name=op.f('uq_examiner_scores_candidate_id_task_code_slot'))
    )
    with op.batch_alter_table('examiner_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_examiner_scores_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_examiner_scores_examiner_id'), ['examiner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_examiner_scores_session_id'), ['session_id'], unique=False)

    op.create_table('score_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('task_code', sa.String(length=32), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=False),
    sa.Column('spread', sa.Double(), nullable=False),
    sa.Column('resolved_total', sa.Double(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('resolved_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_score_resolutions_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['chief_id'], ['users.id'], name=op.f('fk_score_resolutions_chief_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_score_resolutions_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_resolutions')),
    sa.UniqueConstraint('candidate_id', 'task_code', name=op.f('uq_score_resolutions_candidate_id_task_code'))
    )
    with op.batch_alter_table('score_resolutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_resolutions_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('score_resolutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_resolutions_session_id'))

    op.drop_table('score_resolutions')
    with op.batch_alter_table('examiner_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_examiner_scores_session_id'))
        batch_op.drop_index(batch_op.f('ix_examiner_scores_examiner_id'))
        batch_op.drop_index(batch_op.f('ix_examiner_scores_candidate_id'))

    op.drop_table('examiner_scores')
    with op.batch_alter_table('examiner_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_examiner_conflicts_candidate_id'))

    op.drop_table('examiner_conflicts')
    with op.batch_alter_table('chief_examiners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chief_examiners_user_id'))

    op.drop_table('chief_examiners')
    with op.batch_alter_table('examiner_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_examiner_cards_user_id'))
        batch_op.drop_index(batch_op.f('ix_examiner_cards_institution_id'))

    op.drop_table('examiner_cards')
