"""trust boundaries (issue 10): API tokens bound to a contact and expiring, the contact who accepted an
alert, login throttling, single-use login-form nonces

Revision ID: 0006_trust
Revises: 0005_directory
Create Date: 2026-12-01 19:20:00
"""

import sqlalchemy as sa
from alembic import op

import telecare.storage.base

revision = "0006_trust"
down_revision = "0005_directory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", telecare.storage.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_contact_id_contacts"), "contacts", ["contact_id"], ["id"], ondelete="SET NULL"
        )
    # tokens made before tokens could expire or be bound to a contact: a responder token that is not
    # bound to anyone would see nothing, so it is revoked; the others keep working until revoked
    op.execute("UPDATE api_tokens SET revoked_at = created_at WHERE role = 'responder' AND revoked_at IS NULL")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_acknowledged_contact_id_contacts"),
            "contacts",
            ["acknowledged_contact_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:  # "the alerts this contact was asked to take"
        batch_op.create_index("ix_notifications_contact_alert", ["contact_id", "alert_id"], unique=False)

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", telecare.storage.base.UTCDateTime(), nullable=True),
        sa.Column("retry_at", telecare.storage.base.UTCDateTime(), nullable=True),
        sa.Column("locked_until", telecare.storage.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttle_key")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_locked_until"), ["locked_until"], unique=False)

    op.create_table(
        "login_nonces_used",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", telecare.storage.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_nonces_used")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_login_nonces_used_nonce_hash")),
    )
    with op.batch_alter_table("login_nonces_used", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_nonces_used_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_nonces_used", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_nonces_used_expires_at"))
    op.drop_table("login_nonces_used")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_locked_until"))
    op.drop_table("login_throttle")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_contact_alert")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_acknowledged_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("acknowledged_contact_id")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_tokens_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("contact_id")
