"""certificate data batches

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('league_city', sa.String(length=32), nullable=True),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('revoked_count', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=False),
    sa.Column('submitted_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_by', sa.Integer(), nullable=True),
    sa.Column('checked_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.Integer(), nullable=True),
    sa.Column('accepted_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_certificate_batches_institution_id_institutions')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_certificate_batches_submitted_by_users')),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_certificate_batches_checked_by_users')),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_certificate_batches_accepted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_batches'))
    )
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_batches_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_batches_status'), ['status'], unique=False)

    op.create_table('certificate_batch_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=8), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('revocation_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=22), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['certificate_batches.id'], name=op.f('fk_certificate_batch_records_batch_id_certificate_batches')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_batch_records_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['revocation_id'], ['certificate_revocations.id'], name=op.f('fk_certificate_batch_records_revocation_id_certificate_revocations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_batch_records'))
    )
    with op.batch_alter_table('certificate_batch_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_batch_records_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_batch_records_certificate_id'), ['certificate_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('certificate_batch_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_batch_records_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_batch_records_batch_id'))
    op.drop_table('certificate_batch_records')
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_batches_status'))
        batch_op.drop_index(batch_op.f('ix_certificate_batches_institution_id'))
    op.drop_table('certificate_batches')
