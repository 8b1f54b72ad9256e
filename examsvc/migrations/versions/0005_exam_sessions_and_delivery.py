"""exam sessions and delivery

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:04:35.595931
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('exam_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('exam_date', sa.Date(), nullable=False),
    sa.Column('window_start', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('auto_check_in', sa.Boolean(), nullable=False),
    sa.Column('layout', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprints.id'], name=op.f('fk_exam_sessions_blueprint_id_exam_blueprints')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_exam_sessions_created_by_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_exam_sessions_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_sessions'))
    )
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_sessions_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_sessions_status'), ['status'], unique=False)

    op.create_table('session_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_session_rooms_session_id_exam_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_rooms')),
    sa.UniqueConstraint('session_id', 'name', name=op.f('uq_session_rooms_session_id_name'))
    )
    with op.batch_alter_table('session_rooms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_rooms_session_id'), ['session_id'], unique=False)

    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_type', sa.String(length=24), nullable=False),
    sa.Column('id_cipher', sa.Text(), nullable=False),
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=40), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('exam_language', sa.String(length=8), nullable=False),
    sa.Column('ticket_number', sa.String(length=32), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('seat', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('checked_in_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registered_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['session_rooms.id'], name=op.f('fk_candidates_room_id_session_rooms')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_candidates_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidates')),
    sa.UniqueConstraint('room_id', 'seat', name=op.f('uq_candidates_room_id_seat')),
    sa.UniqueConstraint('session_id', 'id_digest', name=op.f('uq_candidates_session_id_id_digest')),
    sa.UniqueConstraint('session_id', 'ticket_number', name=op.f('uq_candidates_session_id_ticket_number'))
    )
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidates_id_digest'), ['id_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidates_session_id'), ['session_id'], unique=False)

    op.create_table('staff_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['room_id'], ['session_rooms.id'], name=op.f('fk_staff_assignments_room_id_session_rooms')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_staff_assignments_session_id_exam_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_assignments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_assignments')),
    sa.UniqueConstraint('session_id', 'user_id', 'role', name=op.f('uq_staff_assignments_session_id_user_id_role'))
    )
    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_assignments_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extra_seconds', sa.Integer(), nullable=False),
    sa.Column('closed_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=500), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_activity_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shuffle_seed', sa.Integer(), nullable=False),
    sa.Column('item_order', sa.JSON(), nullable=False),
    sa.Column('option_orders', sa.JSON(), nullable=False),
    sa.Column('response_masks', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_attempts_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_attempts_paper_id_papers')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_attempts_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_attempts_candidate_id'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_deadline_at'), ['deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_status'), ['status'], unique=False)

    op.create_table('session_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_session_incidents_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_session_incidents_recorded_by_users')),
    sa.ForeignKeyConstraint(['room_id'], ['session_rooms.id'], name=op.f('fk_session_incidents_room_id_session_rooms')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_session_incidents_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_incidents'))
    )
    with op.batch_alter_table('session_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_incidents_session_id'), ['session_id'], unique=False)

    op.create_table('session_papers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_session_papers_paper_id_papers')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_session_papers_session_id_exam_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_papers')),
    sa.UniqueConstraint('session_id', 'paper_id', name=op.f('uq_session_papers_session_id_paper_id'))
    )
    with op.batch_alter_table('session_papers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_papers_session_id'), ['session_id'], unique=False)

    op.create_table('answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('mask', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('saved_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_answers_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answers')),
    sa.UniqueConstraint('attempt_id', 'position', name=op.f('uq_answers_attempt_id_position'))
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answers_attempt_id'), ['attempt_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answers_attempt_id'))

    op.drop_table('answers')
    with op.batch_alter_table('session_papers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_papers_session_id'))

    op.drop_table('session_papers')
    with op.batch_alter_table('session_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_incidents_session_id'))

    op.drop_table('session_incidents')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_status'))
        batch_op.drop_index(batch_op.f('ix_attempts_session_id'))
        batch_op.drop_index(batch_op.f('ix_attempts_deadline_at'))

    op.drop_table('attempts')
    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_assignments_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_assignments_session_id'))

    op.drop_table('staff_assignments')
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidates_session_id'))
        batch_op.drop_index(batch_op.f('ix_candidates_id_digest'))

    op.drop_table('candidates')
    with op.batch_alter_table('session_rooms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_rooms_session_id'))

    op.drop_table('session_rooms')
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_exam_sessions_institution_id'))

    op.drop_table('exam_sessions')
    
