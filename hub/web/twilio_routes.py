"""Twilio's webhooks (DESIGN.md: "Twilio webhooks live under /twilio/… and reject a request
whose X-Twilio-Signature is missing or wrong (403)").

- ``POST /twilio/sms``                      an inbound SMS: a check-in answer, an alert reply or a follow-up
                                            answer (telecare.inbound; answered in TwiML)
- ``POST /twilio/status``                   an SMS's delivery status
- ``POST /twilio/voice/{id}``               a call we placed has connected: its TwiML
- ``POST /twilio/voice/{id}/gather``        what the person pressed or said on that call
- ``POST /twilio/call-status``              a call's progress (initiated, ringing, answered, completed...)

Every request is checked with twilio's ``RequestValidator`` and ``TWILIO_AUTH_TOKEN`` against
the URL Twilio called (``PUBLIC_BASE_URL`` + path + query) and the form parameters. Twilio
may call a webhook twice: replies are keyed by MessageSid (or CallSid and the answer), status
callbacks are settled once, so a repeat answers the same and changes nothing.

Routes stay thin: the domain (telecare.notification) decides what a reply or a status means.
"""

from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.datastructures import ImmutableMultiDict
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from hub import twilio_signature as signatures
from telecare import inbound
from telecare.alert.models import Alert
from telecare.alert.states import OPEN
from telecare.enquiry.channels import Channel
from telecare.notification import service
from telecare.notification.models import Notification
from telecare.notification.replies import handle_reply
from telecare.site.models import Resident
from telecare.wording import sms
from telecare.wording import voice as spoken

from . import checkin_twiml, followup_twiml, voice_twiml
from .deps import runtime

log = logging.getLogger("linkage.twilio")

XML = "application/xml"


# -- signatures -------------------------------------------------------------------------------------
def _base_url(request: Request) -> str:
    base = request.app.state.hub.settings.public_base_url
    return (base or str(request.base_url)).rstrip("/")


def public_url(request: Request) -> str:
    """The URL Twilio called, as Twilio saw it (we may be behind a proxy)."""
    return signatures.public_url(_base_url(request), request.url.path, request.url.query)


REFUSED = {
    signatures.NO_TOKEN: "Twilio webhooks are not configured on this hub",
    signatures.NO_SIGNATURE: "missing X-Twilio-Signature",
    signatures.WRONG_SIGNATURE: "wrong X-Twilio-Signature",
}


async def signed_form(request: Request) -> ImmutableMultiDict:
    """The form Twilio posted, after checking it was Twilio that posted it (hub/twilio_signature.py,
    shared with the assistant's channels); else 403."""
    token = request.app.state.hub.settings.twilio.auth_token  # TWILIO_AUTH_TOKEN (hub/config.py)
    # Twilio always posts application/x-www-form-urlencoded: parsed here (Starlette's form() would
    # need python-multipart, which we don't otherwise use), keeping repeated keys for the signature.
    form = ImmutableMultiDict(signatures.form_pairs(await request.body(), request.headers.get("content-type")))
    why = signatures.refusal(
        token,
        public_url(request),
        form,
        request.headers.get(signatures.SIGNATURE_HEADER),
        request.headers.get(signatures.SETTINGS_HEADER),
    )
    if why == signatures.NO_TOKEN:
        log.warning("a /twilio request came but TWILIO_AUTH_TOKEN is not set: refused")
    elif why == signatures.WRONG_SIGNATURE:
        log.warning("refused a /twilio request with a wrong signature: %s", request.url.path)
    if why:
        raise HTTPException(403, REFUSED[why])
    return form


router = APIRouter(prefix="/twilio", tags=["twilio"], include_in_schema=False)


def _twiml(response) -> Response:
    return Response(str(response), media_type=XML)


def _ask(request: Request, vr: VoiceResponse, notification_id: int, words: str, again: str) -> None:
    """Say it slowly and listen for a keypress or a word; if nothing is heard, say it once
    more; then goodbye (the call ends unaccepted, so the escalation moves on)."""
    voice_twiml.ask(
        vr,
        voice_twiml.gather_url(_base_url(request), notification_id),
        words,
        again,
        hints=spoken.ALERT_HINTS,
        goodbye=spoken.ALERT_NOT_HEARD,
        slow_goodbye=False,
    )


# -- SMS ----------------------------------------------------------------------------------------------
@router.post("/sms")
def inbound_sms(request: Request, form: ImmutableMultiDict = Depends(signed_form)):
    hub = runtime(request)
    phone = (form.get("From") or "").replace(" ", "")
    sid = form.get("MessageSid") or form.get("SmsSid") or None
    with hub.sessions() as s, s.begin():
        # a resident answering their check-in (or a contact on their behalf) first; then an alert reply; then the
        # answer to an introduction's follow-up (telecare.inbound)
        result = inbound.route(
            s, phone=phone, now=hub.clock.now(), body=form.get("Body", ""), channel=Channel.SMS, provider_sid=sid
        )
    reply = MessagingResponse()
    if result.answer:
        reply.message(result.answer)
    return _twiml(reply)


@router.post("/status")
def message_status(request: Request, form: ImmutableMultiDict = Depends(signed_form)):
    hub = runtime(request)
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if sid and status:
        with hub.sessions() as s, s.begin():
            service.status_update(s, sid, status, hub.clock.now(), notification_id=_n(request))
    return Response(status_code=204)


def _n(request: Request) -> int | None:
    """Our notification id, carried in the callback URL, so a callback that arrives before
    the provider's id was stored is still matched."""
    n = request.query_params.get("n")
    return int(n) if n and n.isdigit() else None


# -- voice --------------------------------------------------------------------------------------------
@router.post("/voice/{notification_id}")
def voice(notification_id: int, request: Request, form: ImmutableMultiDict = Depends(signed_form)):
    hub = runtime(request)
    call_sid = form.get("CallSid", "")
    answered_by = form.get("AnsweredBy") or None
    vr = VoiceResponse()
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        n = s.get(Notification, notification_id)
        if n is None or n.channel != "voice":
            return _twiml(voice_twiml.gone())
        if answered_by and (answered_by.startswith("machine") or answered_by == "fax"):
            # An answering machine never accepts: hang up and let the escalation move on now.
            if call_sid:
                service.status_update(
                    s, call_sid, form.get("CallStatus") or "in-progress", now, answered_by=answered_by
                )
            vr.hangup()
            return _twiml(vr)
        if call_sid:
            service.status_update(s, call_sid, "in-progress", now, answered_by=answered_by)
        if n.purpose == "checkin":  # the daily check-in call: hub/web/checkin_twiml.py
            return _twiml(checkin_twiml.call(request, s, n, _base_url(request)))
        if n.purpose == "followup":  # an introduction's follow-up call: hub/web/followup_twiml.py
            return _twiml(followup_twiml.call(request, s, n, now=now, base_url=_base_url(request)))
        alert = s.get(Alert, n.alert_id) if n.alert_id else None
        if alert is not None and n.purpose == "escalation" and alert.state != OPEN:
            who = alert.acknowledged_by or "someone else"
            return _twiml(voice_twiml.end(vr, spoken.alert_dealt_with(alert.id, who), slow=True))
        words = n.body
    _ask(request, vr, notification_id, words, spoken.SAY_AGAIN + words)
    return _twiml(vr)


def _reply_key(call_sid: str, digits: str | None, speech: str | None) -> str | None:
    """One key per answer on a call, so a repeated webhook acts once (fits Reply.provider_sid)."""
    if not call_sid:
        return None
    if digits:
        return f"{call_sid}:{digits[:8]}"
    return f"{call_sid}:speech:{hashlib.sha1((speech or '').strip().lower().encode()).hexdigest()[:16]}"


@router.post("/voice/{notification_id}/gather")
def voice_gather(notification_id: int, request: Request, form: ImmutableMultiDict = Depends(signed_form)):
    hub = runtime(request)
    digits = (form.get("Digits") or "").strip() or None
    speech = (form.get("SpeechResult") or "").strip() or None
    vr = VoiceResponse()
    with hub.sessions() as s, s.begin():
        n = s.get(Notification, notification_id)
        if n is None:
            return _twiml(voice_twiml.gone())
        checkin = n.purpose in ("checkin", "followup")
        if checkin:  # the answer to a check-in call or a follow-up call: their own TwiML
            twiml = checkin_twiml if n.purpose == "checkin" else followup_twiml
            vr = twiml.gather(
                request,
                s,
                n,
                now=hub.clock.now(),
                digits=digits,
                speech=speech,
                provider_sid=_reply_key(form.get("CallSid", ""), digits, speech),
                base_url=_base_url(request),
            )
            meaning = access = None
        elif not digits and not speech:
            meaning, answer, access = "unknown", "", None
        else:
            # On a call we placed, Twilio's From is our own number: the person is the one we called.
            result = handle_reply(
                s,
                phone=n.to,
                now=hub.clock.now(),
                body=speech,
                digits=digits,
                channel=Channel.VOICE,
                provider_sid=_reply_key(form.get("CallSid", ""), digits, speech),
                notification_id=notification_id,
            )
            meaning, answer, access = result.meaning, result.answer, None
            alert = s.get(Alert, result.alert_id) if result.alert_id else None
            if alert is not None and meaning == "accept" and (result.accepted or not answer):
                resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
                access = sms.access_sms(alert, resident, alert.acknowledged_by or "")
        words = n.body
    if checkin:
        return _twiml(vr)
    if meaning == "accept" and access:
        voice_twiml.end(vr, access + spoken.ACCESS_ALSO_TEXTED, slow=True)
    elif meaning == "accept" or meaning == "pass":
        voice_twiml.end(vr, (answer or spoken.THANK_YOU) + spoken.GOODBYE, slow=True)
    else:
        _ask(request, vr, notification_id, spoken.NOT_CAUGHT + words, spoken.SAY_AGAIN + words)
    return _twiml(vr)


@router.post("/call-status")
def call_status(request: Request, form: ImmutableMultiDict = Depends(signed_form)):
    hub = runtime(request)
    sid, status = form.get("CallSid"), form.get("CallStatus")
    if sid and status:
        with hub.sessions() as s, s.begin():
            service.status_update(
                s, sid, status, hub.clock.now(), answered_by=form.get("AnsweredBy") or None, notification_id=_n(request)
            )
    return Response(status_code=204)
