"""evaluations as rows: the history that evaluate and uva_evaluate jobs kept inside the artifact's metadata

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00.000000
"""

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The metadata keys whose lists become rows (and come back on downgrade).
HISTORIES = ('evaluations', 'uva_evaluations')

artifacts = sa.table('artifacts', sa.column('id', sa.String), sa.column('meta', sa.JSON))
evaluations = sa.table(
    'evaluations',
    sa.column('id', sa.Integer),
    sa.column('artifact_id', sa.String),
    sa.column('history', sa.String),
    sa.column('record', sa.JSON),
    sa.column('created_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('artifact_id', sa.String(length=32), nullable=False),
    sa.Column('history', sa.String(length=64), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['artifact_id'], ['artifacts.id'], name=op.f('fk_evaluations_artifact_id_artifacts'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations'))
    )
    op.create_index(op.f('ix_evaluations_artifact_id'), 'evaluations', ['artifact_id'], unique=False)
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    for artifact_id, meta in _artifacts_mentioning_histories(bind):
        moved = False
        for history in HISTORIES:
            records = meta.get(history)
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                continue  # not a history a job wrote (a user's own value): left where it is
            rows = [{'artifact_id': artifact_id, 'history': history, 'record': r, 'created_at': now} for r in records]
            if rows:
                bind.execute(evaluations.insert(), rows)
            del meta[history]
            moved = True
        if moved:
            bind.execute(artifacts.update().where(artifacts.c.id == artifact_id).values(meta=meta))


def downgrade() -> None:
    bind = op.get_bind()
    histories: dict[str, dict[str, list[dict]]] = {}
    for artifact_id, history, record in bind.execute(
        sa.select(evaluations.c.artifact_id, evaluations.c.history, evaluations.c.record).order_by(evaluations.c.id)
    ):
        histories.setdefault(artifact_id, {}).setdefault(history, []).append(record)
    for artifact_id, by_history in histories.items():
        meta = dict(bind.execute(sa.select(artifacts.c.meta).where(artifacts.c.id == artifact_id)).scalar_one() or {})
        for history, records in by_history.items():
            kept = meta.get(history)
            meta[history] = [*(kept if isinstance(kept, list) else []), *records]
        bind.execute(artifacts.update().where(artifacts.c.id == artifact_id).values(meta=meta))
    op.drop_index(op.f('ix_evaluations_artifact_id'), table_name='evaluations')
    op.drop_table('evaluations')


def _artifacts_mentioning_histories(bind: sa.Connection) -> list[tuple[str, dict]]:
    mentions = sa.cast(artifacts.c.meta, sa.Text).like('%evaluations%')
    rows = bind.execute(sa.select(artifacts.c.id, artifacts.c.meta).where(mentions))
    return [(row.id, dict(row.meta)) for row in rows]
