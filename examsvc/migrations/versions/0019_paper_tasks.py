"""paper tasks: the drawn tasks of skill and review papers (操作技能/综合评审试卷)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('paper_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('module_code', sa.String(length=32), nullable=False),
    sa.Column('task_code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Double(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_paper_tasks_paper_id_papers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_tasks')),
    sa.UniqueConstraint('paper_id', 'position', name=op.f('uq_paper_tasks_paper_id_position')),
    sa.UniqueConstraint('paper_id', 'task_code', name=op.f('uq_paper_tasks_paper_id_task_code'))
    )
    with op.batch_alter_table('paper_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_tasks_paper_id'), ['paper_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('paper_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_tasks_paper_id'))
    op.drop_table('paper_tasks')
