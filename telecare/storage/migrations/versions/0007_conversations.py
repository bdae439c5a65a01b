"""the hub's own record of each assistant conversation (issue 10): conversation id -> enquiry and
proven resident, so nothing the caller sends (slots, sender, metadata) picks either

No schema change was needed: the ``enquiries`` table already is that record. Each enquiry row
holds the conversation id it was started under (``conversation_id``, indexed), the number a
signed Twilio request proved (``phone``) and the resident that number belongs to
(``resident_id``), all written by the hub at the conversation's first turn
(``telecare.assistant.frontdoor._record``). The Rasa slot may only say "carry on with enquiry
N", which the hub believes only when enquiry N was started under the same conversation id; the
resident is then read from the row. A second table would copy these three columns and be one
more place for ``linkage person erase`` to clean. This revision is kept (empty) so the chain
stays as the lead numbered it.

Revision ID: 0007_conversations
Revises: 0006_trust
Create Date: 2026-12-01 19:20:00
"""

import sqlalchemy as sa
from alembic import op

import telecare.storage.base

revision = "0007_conversations"
down_revision = "0006_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # no schema change: see the docstring


def downgrade() -> None:
    pass
