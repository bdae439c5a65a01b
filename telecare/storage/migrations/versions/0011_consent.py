"""consent as a record, and leaving the service (issue 12): ``consents`` (what was agreed, the wording,
by whom, when, on which channel, for which service, and its withdrawal: STOP); ``state`` and ``left_at``
on residents and contacts (``active`` | ``left``); ``erased_at`` on residents, contacts and enquiries

Revision ID: 0011_consent
Revises: 0008_enquiry_age
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import telecare.storage.base

revision = "0011_consent"
down_revision = "0010_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("enquiry_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=80), nullable=True),
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("given_at", telecare.storage.base.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", telecare.storage.base.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_via", sa.String(length=16), nullable=True),
        sa.Column("withdrawn_words", sa.String(length=40), nullable=True),
        sa.Column("created_at", telecare.storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_consents_contact_id_contacts")),
        sa.ForeignKeyConstraint(["enquiry_id"], ["enquiries.id"], name=op.f("fk_consents_enquiry_id_enquiries")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_consents_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_enquiry_id"), ["enquiry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index("ix_consents_phone_withdrawn", ["phone", "withdrawn_at"], unique=False)
    for table in ("residents", "contacts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("state", sa.String(length=8), nullable=False, server_default="active"))
            batch_op.add_column(sa.Column("left_at", telecare.storage.base.UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column("erased_at", telecare.storage.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", telecare.storage.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    for table in ("contacts", "residents"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("erased_at")
            batch_op.drop_column("left_at")
            batch_op.drop_column("state")
    op.drop_table("consents")
