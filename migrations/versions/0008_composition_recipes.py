"""composition recipes: each registration's artifacts, so a composition is readable by every namespace that
composed its bytes from its own artifacts (and by no other)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:05:00.000000

Each existing composition gets one recipe row, the artifacts it was registered with. Downgrade drops the
rows: a composition is then readable only through the artifacts its own row names, as before 0008.
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _inputs(base_id: str, patches: list[Any]) -> str:
    """Frozen copy of registry.models.composition.recipe_inputs."""
    entries = [[patch["artifact"], repr(float(patch["scale"]))] for patch in patches]
    return hashlib.sha256(json.dumps([base_id, entries], separators=(",", ":")).encode()).hexdigest()


def upgrade() -> None:
    recipes = op.create_table(
        "composition_recipes",
        sa.Column("composition_id", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.String(length=64), nullable=False),
        sa.Column("base_id", sa.String(length=32), nullable=False),
        sa.Column("patches", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["base_id"], ["artifacts.id"], name=op.f("fk_composition_recipes_base_id_artifacts")),
        sa.ForeignKeyConstraint(
            ["composition_id"],
            ["compositions.id"],
            name=op.f("fk_composition_recipes_composition_id_compositions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("composition_id", "inputs", name=op.f("pk_composition_recipes")),
    )
    op.create_index(op.f("ix_composition_recipes_base_id"), "composition_recipes", ["base_id"], unique=False)
    # Each composition's own recipe, copied in SQL (times and JSON as they are), keyed in Python after.
    op.execute(
        "INSERT INTO composition_recipes (composition_id, inputs, base_id, patches, created_by, created_at) "
        "SELECT id, id, base_id, patches, created_by, created_at FROM compositions"
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT composition_id, base_id, patches FROM composition_recipes")).all()
    for composition_id, base_id, patches in rows:
        patches = json.loads(patches) if isinstance(patches, str) else patches
        bind.execute(
            sa.update(recipes)
            .where(recipes.c.composition_id == composition_id)
            .values(inputs=_inputs(base_id, patches))
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_composition_recipes_base_id"), table_name="composition_recipes")
    op.drop_table("composition_recipes")
