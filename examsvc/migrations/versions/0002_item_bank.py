"""item bank

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:32:29.517204
"""
from alembic import op
import sqlalchemy as sa
import examsvc.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('assets',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_assets'))
    )
    op.create_table('enemy_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_enemy_groups_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enemy_groups'))
    )
    op.create_table('exam_blueprints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occupation_code', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['occupation_code'], ['occupations.code'], name=op.f('fk_exam_blueprints_occupation_code_occupations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_blueprints')),
    sa.UniqueConstraint('occupation_code', 'level', 'component', name=op.f('uq_exam_blueprints_occupation_code_level_component'))
    )
    op.create_table('blueprint_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('loaded_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprints.id'], name=op.f('fk_blueprint_versions_blueprint_id_exam_blueprints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blueprint_versions')),
    sa.UniqueConstraint('blueprint_id', 'number', name=op.f('uq_blueprint_versions_blueprint_id_number'))
    )
    with op.batch_alter_table('blueprint_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blueprint_versions_blueprint_id'), ['blueprint_id'], unique=False)

    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rows_valid', sa.Integer(), nullable=False),
    sa.Column('rows_invalid', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprints.id'], name=op.f('fk_import_jobs_blueprint_id_exam_blueprints')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_import_jobs_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('element_code', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprints.id'], name=op.f('fk_items_blueprint_id_exam_blueprints')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_items_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_blueprint_id'), ['blueprint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_element_code'), ['element_code'], unique=False)

    op.create_table('enemy_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['enemy_groups.id'], name=op.f('fk_enemy_members_group_id_enemy_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_enemy_members_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enemy_members')),
    sa.UniqueConstraint('group_id', 'item_id', name=op.f('uq_enemy_members_group_id_item_id'))
    )
    with op.batch_alter_table('enemy_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enemy_members_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enemy_members_item_id'), ['item_id'], unique=False)

    op.create_table('item_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('parent_number', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', examsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_warnings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_item_versions_author_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_versions_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_versions')),
    sa.UniqueConstraint('item_id', 'number', name=op.f('uq_item_versions_item_id_number'))
    )
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_versions_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_versions_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_versions_status'), ['status'], unique=False)

    op.create_table('item_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('created_at', examsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_item_reviews_reviewer_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['item_versions.id'], name=op.f('fk_item_reviews_version_id_item_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_reviews')),
    sa.UniqueConstraint('version_id', 'reviewer_id', name=op.f('uq_item_reviews_version_id_reviewer_id'))
    )
    with op.batch_alter_table('item_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_reviews_version_id'), ['version_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('item_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_reviews_version_id'))

    op.drop_table('item_reviews')
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_versions_status'))
        batch_op.drop_index(batch_op.f('ix_item_versions_item_id'))
        batch_op.drop_index(batch_op.f('ix_item_versions_content_hash'))

    op.drop_table('item_versions')
    with op.batch_alter_table('enemy_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enemy_members_item_id'))
        batch_op.drop_index(batch_op.f('ix_enemy_members_group_id'))

    op.drop_table('enemy_members')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_element_code'))
        batch_op.drop_index(batch_op.f('ix_items_blueprint_id'))

    op.drop_table('items')
    op.drop_table('import_jobs')
    with op.batch_alter_table('blueprint_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blueprint_versions_blueprint_id'))

    op.drop_table('blueprint_versions')
    op.drop_table('exam_blueprints')
    op.drop_table('enemy_groups')
    op.drop_table('assets')
    
