"""compositions remember when their cached output was last read (gc evicts the least recently used)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('compositions', sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compositions') as batch:
        batch.drop_column('last_read_at')
