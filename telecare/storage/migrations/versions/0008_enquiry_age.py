"""the age a person gave the helpline assistant ("I'm 82, on my own since..."), on their enquiry; the
council's towns and villages (name -> postcode district), for callers who name a place; how an
introduction is followed up (``follow_up_by``: "voice" for someone who rang us) (issue 14)

Revision ID: 0008_enquiry_age
Revises: 0007_conversations
Create Date: 2026-12-01 20:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_enquiry_age"
down_revision = "0007_conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enquiries") as batch:
        batch.add_column(sa.Column("age", sa.Integer(), nullable=True))
    with op.batch_alter_table("councils") as batch:
        batch.add_column(sa.Column("places", sa.JSON(), nullable=True))
    with op.batch_alter_table("introductions") as batch:
        batch.add_column(sa.Column("follow_up_by", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.drop_column("follow_up_by")
    with op.batch_alter_table("councils") as batch:
        batch.drop_column("places")
    with op.batch_alter_table("enquiries") as batch:
        batch.drop_column("age")
