"""Changes made from the console, each with its audit entry in the same transaction."""

from __future__ import annotations

from telecare import inbound
from telecare.alert import service as alerts
from telecare.alert.states import OUTCOMES
from telecare.audit.service import record
from telecare.notification.models import Notification

from .security import ConsoleUser

ALERT_ACTIONS = ("acknowledge", "arrived", "resolve", "cancel")


def alert_action(
    hub,
    user: ConsoleUser,
    alert_id: int,
    action: str,
    *,
    outcome: str | None = None,
    note: str = "",
    via: str = "console",
) -> None:
    """Raises InvalidTransition / AlertNotFound / ValueError; commits on success."""
    if action not in ALERT_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action == "resolve" and outcome not in OUTCOMES:
        raise ValueError("choose an outcome from the list")
    note = (note or "").strip()[:500]
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        if action == "acknowledge":
            a = alerts.acknowledge(s, alert_id, user.name, now, via=via)
            a.acknowledged_contact_id = user.contact_id  # who may read the access notes (telecare.auth.scope)
            summary = "accepted"
        elif action == "arrived":
            alerts.arrived(s, alert_id, user.name, now, via=via)
            summary = "help arrived"
        elif action == "resolve":
            alerts.resolve(s, alert_id, user.name, outcome, now, note)
            summary = f"resolved: {outcome}" + (f" — {note}" if note else "")
        else:
            alerts.cancel(s, alert_id, user.name, now, note)
            summary = "cancelled" + (f": {note}" if note else "")
        record(
            s,
            actor=user.name,
            role=user.role,
            via=via,
            action=f"alert.{action}",
            target=f"alert:{alert_id}",
            summary=summary,
            now=now,
        )


def sandbox_reply(hub, user: ConsoleUser, phone: str, body: str | None, digits: str | None):
    """Answer as the owner of ``phone`` would (the same as POST /api/sandbox/reply)."""
    phone = phone.replace(" ", "")
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        channel = "voice" if digits else "sms"
        # a check-in answer first, then an alert reply, then a follow-up's answer, as everywhere else
        result = inbound.route(s, phone=phone, now=now, body=body or None, digits=digits or None, channel=channel)
        if result.answer and not digits:
            s.add(
                Notification(
                    alert_id=result.alert_id,
                    to=phone,
                    channel="sms",
                    purpose="reply",
                    body=result.answer,
                    status="queued",
                    created_at=now,
                )
            )
        record(
            s,
            actor=user.name,
            role=user.role,
            action="sandbox.reply",
            target=f"phone:{phone}",
            summary=f"answered as {phone}: {digits and 'key ' + digits or repr(body)} → {result.meaning}"
            + (f" (alert {result.alert_id})" if result.alert_id else ""),
            now=now,
        )
    return result
