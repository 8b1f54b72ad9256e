"""certificates: issued certificates, serial counters, voids, revocation records, verification counters

An UPDATE of an issued certificate, its void decision or its revocation record is refused by a
trigger on both databases (the ORM refuses deletes too). A later migration that rebuilds one of
these tables in SQLite batch mode must create the trigger again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:20:15.945564
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_counters',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', 'window_start', name=op.f('pk_verification_counters'))
    )
    with op.batch_alter_table('verification_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_counters_window_start'), ['window_start'], unique=False)

    op.create_table('certificate_serials',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level_digit', sa.Integer(), nullable=False),
    sa.Column('next_serial', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_certificate_serials_institution_id_institutions')),
    sa.PrimaryKeyConstraint('institution_id', 'year', 'level_digit', name=op.f('pk_certificate_serials'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=22), nullable=False),
    sa.Column('pass_record_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=13), nullable=False),
    sa.Column('institution_name', sa.String(length=200), nullable=False),
    sa.Column('occupation_code', sa.String(length=10), nullable=False),
    sa.Column('occupation_name', sa.String(length=100), nullable=False),
    sa.Column('work_type', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level_digit', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_type', sa.String(length=24), nullable=False),
    sa.Column('id_cipher', sa.Text(), nullable=False),
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=40), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_certificates_institution_id_institutions')),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_certificates_issued_by_users')),
    sa.ForeignKeyConstraint(['pass_record_id'], ['pass_records.id'], name=op.f('fk_certificates_pass_record_id_pass_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('institution_id', 'year', 'level_digit', 'serial', name=op.f('uq_certificates_institution_id_year_level_digit_serial')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('pass_record_id', name=op.f('uq_certificates_pass_record_id'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_id_digest'), ['id_digest'], unique=False)
        batch_op.create_index('ix_certificates_institution_id_issued_on', ['institution_id', 'issued_on'], unique=False)

    op.create_table('certificate_voids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('reason_category', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('case_reference', sa.String(length=100), nullable=True),
    sa.Column('authorised_by', sa.Integer(), nullable=False),
    sa.Column('voided_on', sa.Date(), nullable=False),
    sa.Column('voided_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorised_by'], ['users.id'], name=op.f('fk_certificate_voids_authorised_by_users')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_voids_certificate_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_voids')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_certificate_voids_certificate_id'))
    )
    op.create_table('certificate_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('void_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=22), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('reason_category', sa.String(length=32), nullable=False),
    sa.Column('revoked_on', sa.Date(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_revocations_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_certificate_revocations_institution_id_institutions')),
    sa.ForeignKeyConstraint(['void_id'], ['certificate_voids.id'], name=op.f('fk_certificate_revocations_void_id_certificate_voids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_revocations')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_certificate_revocations_certificate_id')),
    sa.UniqueConstraint('void_id', name=op.f('uq_certificate_revocations_void_id'))
    )
    with op.batch_alter_table('certificate_revocations', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_revocations_institution_id_revoked_on', ['institution_id', 'revoked_on'], unique=False)

    _create_immutability_triggers()


def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table('certificate_revocations', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_revocations_institution_id_revoked_on')

    op.drop_table('certificate_revocations')
    op.drop_table('certificate_voids')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_institution_id_issued_on')
        batch_op.drop_index(batch_op.f('ix_certificates_id_digest'))

    op.drop_table('certificates')
    op.drop_table('certificate_serials')
    with op.batch_alter_table('verification_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_counters_window_start'))

    op.drop_table('verification_counters')


IMMUTABLE_TABLES = ("certificates", "certificate_voids", "certificate_revocations")


def _create_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION examsvc_refuse_certificate_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'issued certificate data never changes (%)', TG_TABLE_NAME; END $$")
        for table in IMMUTABLE_TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION examsvc_refuse_certificate_update()")
    else:
        for table in IMMUTABLE_TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'issued certificate data never changes ({table})'); END")


def _drop_immutability_triggers() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in IMMUTABLE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS examsvc_refuse_certificate_update()")
