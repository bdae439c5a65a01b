"""Figures the console shows on every page (the navigation's "Callbacks: 2 urgent" and the
board's banner). Read once per request, in the same transaction that resumes the login
(security.current_user), before the page opens a session of its own: on SQLite a second
session inside a page's would wait for the first."""

from __future__ import annotations

from telecare.enquiry.queries import callbacks_waiting

__all__ = ["callbacks_waiting"]
