"""retention (issue 12): a record of each retention run (``retention_runs``; a scheduled run's UTC day is
unique, so hubs sharing a database run it once), tallies of the rows it deleted so counts stay the same
(``retention_tallies``), and the size of a dead letter as received (``dead_letters.payload_size``; only
its first 4 KiB are kept from now on)

Revision ID: 0010_retention
Revises: 0008_enquiry_age
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import telecare.storage.base

revision = "0010_retention"
down_revision = "0009_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ran_at", telecare.storage.base.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("scheduled_day", sa.String(length=10), nullable=True),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("cutoffs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scheduled_day"),
    )
    with op.batch_alter_table("retention_runs") as batch:
        batch.create_index(batch.f("ix_retention_runs_ran_at"), ["ran_at"], unique=False)
    op.create_table(
        "retention_tallies",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("payload_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("payload_size")
    op.drop_table("retention_tallies")
    with op.batch_alter_table("retention_runs") as batch:
        batch.drop_index(batch.f("ix_retention_runs_ran_at"))
    op.drop_table("retention_runs")
