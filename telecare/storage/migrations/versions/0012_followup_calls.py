"""how many follow-up calls an introduction has had (``follow_up_calls``): an unanswered follow-up
call is tried again, up to three calls two hours apart in daytime, then texted or handed to staff
(telecare.enquiry.followup, issue 14)

Revision ID: 0012_followup_calls
Revises: 0011_consent
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_followup_calls"
down_revision = "0011_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.add_column(sa.Column("follow_up_calls", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.drop_column("follow_up_calls")
