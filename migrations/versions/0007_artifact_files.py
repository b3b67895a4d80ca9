"""artifact files: a version may hold a model folder (sharded safetensors, config, tokenizer, card)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:40:00.000000

Every existing artifact gets one file row, ``model.safetensors``, with its sha256, size and header: ids,
hashes and downloads stay as they were. Downgrade refuses while any version holds a folder (more than one
file, or a file other than ``model.safetensors``): dropping the rows would leave versions whose bytes cannot
be named. Delete those models' folder versions first (docs/formats.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "artifact_files",
        sa.Column("artifact_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tensor_index", sa.JSON(), nullable=False),
        sa.Column("file_metadata", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_artifact_files_artifact_id_artifacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("artifact_id", "path", name=op.f("pk_artifact_files")),
    )
    op.create_index(op.f("ix_artifact_files_sha256"), "artifact_files", ["sha256"], unique=False)
    op.create_table(
        "folder_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("artifact_id", sa.String(length=32), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_folder_uploads_artifact_id_artifacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_folder_uploads_model_id_models"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folder_uploads")),
    )
    op.create_index(op.f("ix_folder_uploads_model_id"), "folder_uploads", ["model_id"], unique=False)
    op.create_table(
        "folder_upload_files",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tensor_index", sa.JSON(), nullable=False),
        sa.Column("file_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["folder_uploads.id"],
            name=op.f("fk_folder_upload_files_upload_id_folder_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "path", name=op.f("pk_folder_upload_files")),
    )
    op.create_index(op.f("ix_folder_upload_files_sha256"), "folder_upload_files", ["sha256"], unique=False)
    op.add_column("artifacts", sa.Column("file_count", sa.Integer(), server_default="1", nullable=False))
    # Each existing artifact is a one-file version: its file is model.safetensors, with its own header.
    op.execute(
        "INSERT INTO artifact_files (artifact_id, path, sha256, size, kind, tensor_index, file_metadata) "
        "SELECT id, 'model.safetensors', sha256, size, 'safetensors', tensor_index, file_metadata FROM artifacts"
    )


def downgrade() -> None:
    folders = op.get_bind().scalar(sa.text("SELECT count(*) FROM artifacts WHERE file_count <> 1"))
    if folders:
        raise RuntimeError(
            f"{folders} version(s) hold a model folder, which revision 0006 cannot describe; delete them "
            "(or their models) before downgrading below 0007"
        )
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("file_count")
    op.drop_index(op.f("ix_folder_upload_files_sha256"), table_name="folder_upload_files")
    op.drop_table("folder_upload_files")
    op.drop_index(op.f("ix_folder_uploads_model_id"), table_name="folder_uploads")
    op.drop_table("folder_uploads")
    op.drop_index(op.f("ix_artifact_files_sha256"), table_name="artifact_files")
    op.drop_table("artifact_files")
