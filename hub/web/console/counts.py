"""Figures the console shows on every page (the navigation's "Callbacks: 2 urgent" and the
board's banner). Read once per request, in the same transaction that resumes the login
(security.current_user), before the page opens a session of its own: on SQLite a second
session inside a page's would wait for the first."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telecare.enquiry.models import CallbackRequest


def callbacks_waiting(s: Session) -> tuple[int, int]:
    """(open call-back requests, of which urgent)."""
    counts = dict(s.execute(select(CallbackRequest.urgent, func.count()).where(CallbackRequest.status == "open")
                            .group_by(CallbackRequest.urgent)).all())
    return sum(counts.values()), counts.get(True, 0)
