"""``POST /api/sandbox/reply``: what a recipient would answer by SMS or keypad, for the sandbox
notifier (the demo and tests without Twilio). ``create_app`` includes this router only while the
hub sends through the sandbox; under Twilio the route does not exist. Staff or admin only: a
responder must not answer as someone else's phone (accepting an alert in their name)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from telecare import inbound
from telecare.notification.models import Notification

from ..auth import Caller, staff_only
from ..deps import Runtime
from .schemas.alerts import ReplyOut, SandboxReplyIn

router = APIRouter(tags=["notifications"])


def in_use(hub) -> bool:
    """Whether the hub sends through the sandbox notifier (so the route should exist)."""
    return getattr(hub.notifier, "name", "") == "sandbox"


@router.post(
    "/api/sandbox/reply",
    response_model=ReplyOut,
    summary="Answer as a recipient would, by SMS or keypress (sandbox notifier only; staff or admin)",
)
def sandbox_reply(body: SandboxReplyIn, hub: Runtime, who: Caller = Depends(staff_only)):
    # staff only: a responder must not answer as someone else's phone (accepting an alert in their name)
    if not in_use(hub):
        raise HTTPException(404, "there is no sandbox: this hub sends through Twilio")
    if not body.body and not body.digits:
        raise HTTPException(422, "give 'body' (an SMS reply) or 'digits' (a keypress)")
    phone = body.from_.replace(" ", "")
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        channel = "voice" if body.digits else "sms"
        # a check-in answer first, then an alert reply, then a follow-up's answer, as on /twilio/sms
        result = inbound.route(s, phone=phone, now=now, body=body.body, digits=body.digits, channel=channel)
        if result.answer and not body.digits:
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
    return ReplyOut(meaning=result.meaning, answer=result.answer, alert=result.alert_id, accepted=result.accepted)
