"""access notes encrypted at rest and kept in one place (issue 12): residents' access notes are
encrypted with the data key when the migrating process has one (``LINKAGE_DATA_KEY``; without
one they stay as they are, and the hub refuses to start until it is given a key, then seals them:
telecare.storage.secrets.check_database); copies are scrubbed: the access messages' stored bodies
and every audit entry's before/after text carry ``[access note]`` instead of the note.

Revision ID: 0009_secrets
Revises: 0008_enquiry_age
Create Date: 2026-12-01 22:30:00
"""

import re

import sqlalchemy as sa
from alembic import op

from telecare.site.redaction import redact_site_yaml
from telecare.storage import secrets

revision = "0009_secrets"
down_revision = "0008_enquiry_age"
branch_labels = None
depends_on = None

PLACEHOLDER = secrets.ACCESS_PLACEHOLDER
# the access part of telecare.escalation.messages.access_sms as it was written before this revision
ACCESS_PART = re.compile(r"(Access: )(.*?)(\. Please go now\.)", re.DOTALL)

residents = sa.table("residents", sa.column("id", sa.Integer), sa.column("access", sa.Text))
notifications = sa.table(
    "notifications", sa.column("id", sa.Integer), sa.column("purpose", sa.String), sa.column("body", sa.Text)
)
audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("summary", sa.Text),
    sa.column("before", sa.Text),
    sa.column("after", sa.Text),
)


def _scrub(text, notes):
    if not text:
        return text
    return secrets.replace_all(text, notes)


def upgrade() -> None:
    conn = op.get_bind()
    ring = secrets.keyring()
    notes = []
    for ident, access in conn.execute(
        sa.select(residents.c.id, residents.c.access).where(residents.c.access.is_not(None))
    ).all():
        if secrets.is_encrypted(access):
            notes.append(ring.decrypt(access) if ring else None)
            continue
        notes.append(access)
        if ring is not None:
            conn.execute(residents.update().where(residents.c.id == ident).values(access=ring.encrypt(access)))
    notes = [n for n in notes if n and n.strip()]

    for ident, purpose, body in conn.execute(
        sa.select(notifications.c.id, notifications.c.purpose, notifications.c.body)
    ).all():
        new = _scrub(body, notes)
        if purpose == "access" and new:
            new = ACCESS_PART.sub(lambda m: m.group(1) + PLACEHOLDER + m.group(3), new)
        if new != body:
            conn.execute(notifications.update().where(notifications.c.id == ident).values(body=new))

    for row in conn.execute(
        sa.select(audit.c.id, audit.c.action, audit.c.summary, audit.c.before, audit.c.after)
    ).all():
        site_text = row.action.startswith(("site.", "resident."))
        new = {}
        for name in ("summary", "before", "after"):
            value = getattr(row, name)
            scrubbed = _scrub(value, notes)
            if site_text and name != "summary":
                scrubbed = redact_site_yaml(scrubbed)
            if scrubbed != value:
                new[name] = scrubbed
        if new:
            conn.execute(audit.update().where(audit.c.id == row.id).values(**new))


def downgrade() -> None:
    """Back to plain text (needs the key); the scrubbed copies stay scrubbed."""
    conn = op.get_bind()
    ring = secrets.keyring()
    for ident, access in conn.execute(
        sa.select(residents.c.id, residents.c.access).where(residents.c.access.is_not(None))
    ).all():
        if secrets.is_encrypted(access):
            if ring is None:
                raise secrets.NoDataKey(secrets.NO_KEY)
            conn.execute(residents.update().where(residents.c.id == ident).values(access=ring.decrypt(access)))
