"""artifacts record who made them (the uploading token's name, or the submitter of the job that made them)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('artifacts', sa.Column('created_by', sa.String(length=128), server_default='', nullable=False))
    # Outputs of jobs made before this revision: their job's submitter.
    op.execute(
        "UPDATE artifacts SET created_by = (SELECT jobs.created_by FROM jobs WHERE jobs.id = artifacts.job_id) "
        "WHERE job_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('artifacts') as batch:
        batch.drop_column('created_by')
