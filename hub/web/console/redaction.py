"""Notification bodies as the console shows them: an access note (key-safe code) only to the contact
it was sent to, ``[access note]`` for anyone else, staff included (telecare.auth.scope)."""

from __future__ import annotations

from telecare.auth import scope


class Shown:
    """A read-only view of a Notification with its body as this viewer may see it (the row is untouched)."""

    def __init__(self, n, body: str):
        self._n, self.body = n, body

    def __getattr__(self, name):
        return getattr(self._n, name)


def shown(s, notifications, viewer_contact_id: int | None) -> list[Shown]:
    notifications = list(notifications)
    access = scope.access_texts(s, {n.alert_id for n in notifications})
    return [Shown(n, scope.notification_body(n, viewer_contact_id, access.get(n.alert_id))) for n in notifications]


def shown_rows(s, rows, viewer_contact_id: int | None) -> list[tuple]:
    """Rows of (Notification, *rest): the same with the notification shown as this viewer may see it."""
    rows = list(rows)
    views = shown(s, [r[0] for r in rows], viewer_contact_id)
    return [(v, *r[1:]) for v, r in zip(views, rows, strict=True)]
