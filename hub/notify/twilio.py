"""The Twilio notifier: SMS and voice calls through the real ``twilio`` library (9.x).

Configured from the environment (DESIGN.md; read in hub/config.py, ``TwilioSettings``): ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
``TWILIO_FROM_NUMBER`` (our Twilio number), ``PUBLIC_BASE_URL`` (where Twilio reaches our
``/twilio/...`` webhooks) and, optionally, ``TWILIO_API_BASE_URL``: another host to send the
REST calls to instead of https://api.twilio.com (the tests point it at a Prism mock of
Twilio's published OpenAPI spec, so every request we make is checked against that spec).

A call fetches its TwiML from ``/twilio/voice/{notification_id}`` (hub/web/twilio_routes.py)
with answering-machine detection on, so a machine is told apart from a person before anything
is said; its progress comes back on ``/twilio/call-status``, an SMS's on ``/twilio/status``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hub.config import TwilioConfigError, TwilioSettings  # TwilioConfigError: half configured, the hub won't start
from telecare.notification.ports import Sent
from telecare.privacy import mask_phones

log = logging.getLogger("linkage.notify.twilio")

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class BaseUrlHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, sending what it would send to https://api.twilio.com (or a
    regional/edge api.*.twilio.com host) to ``base_url`` instead. Everything else — auth,
    headers, form encoding, response handling — is the library's."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "api.twilio.com" or (host.startswith("api.") and host.endswith(".twilio.com")):
            rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
            return self.base_url + rest
        return url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.rewrite(url), *args, **kwargs)


class TwilioNotifier:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        public_base_url: str,
        api_base_url: str | None = None,
        *,
        timeout: float = 15.0,
        ring_timeout: int = 30,
        client: Client | None = None,
    ):
        if not public_base_url.startswith(("http://", "https://")):
            raise TwilioConfigError(f"PUBLIC_BASE_URL must be an http(s) URL, not {public_base_url!r}")
        self.from_number = from_number
        self.public_base_url = public_base_url.rstrip("/")
        self.api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self.ring_timeout = ring_timeout
        if client is None:
            http = (
                BaseUrlHttpClient(self.api_base_url, timeout=timeout)
                if self.api_base_url
                else TwilioHttpClient(timeout=timeout)
            )
            client = Client(account_sid, auth_token, http_client=http)
        self.client = client

    @classmethod
    def from_settings(cls, t: TwilioSettings) -> TwilioNotifier:
        named = {
            "TWILIO_ACCOUNT_SID": t.account_sid,
            "TWILIO_AUTH_TOKEN": t.auth_token,
            "TWILIO_FROM_NUMBER": t.from_number,
            "PUBLIC_BASE_URL": t.public_base_url,
        }
        missing = [k for k, v in named.items() if not v]
        if missing:
            raise TwilioConfigError(
                "Twilio is configured but " + ", ".join(missing) + (" is" if len(missing) == 1 else " are") + " not set"
            )
        return cls(t.account_sid, t.auth_token, t.from_number, t.public_base_url, t.api_base_url)

    @classmethod
    def from_env(cls, environ=None) -> TwilioNotifier:
        return cls.from_settings(TwilioSettings.from_env(environ))

    def url(self, path: str) -> str:
        return self.public_base_url + path

    @staticmethod
    def _failed(exc: TwilioException) -> Sent:
        if isinstance(exc, TwilioRestException):
            detail = f"Twilio {exc.status}" + (f" error {exc.code}" if exc.code else "") + f": {exc.msg}"
        else:
            detail = f"Twilio: {exc}"
        log.warning("twilio refused: %s", mask_phones(detail))  # Twilio's message may quote the number
        return Sent(None, "failed", detail)

    def send_sms(self, notification_id: int, to: str, body: str) -> Sent:
        try:
            msg = self.client.messages.create(
                to=to,
                from_=self.from_number,
                body=body,
                status_callback=self.url(f"/twilio/status?n={notification_id}"),
            )
        except TwilioException as exc:
            return self._failed(exc)
        return Sent(msg.sid)

    def call(self, notification_id: int, to: str, speech: str) -> Sent:
        # The words are read from the notification when Twilio fetches the TwiML, so the call
        # always says what the timeline shows.
        try:
            call = self.client.calls.create(
                to=to,
                from_=self.from_number,
                url=self.url(f"/twilio/voice/{notification_id}"),
                method="POST",
                status_callback=self.url(f"/twilio/call-status?n={notification_id}"),
                status_callback_method="POST",
                status_callback_event=CALL_EVENTS,
                machine_detection="Enable",
                timeout=self.ring_timeout,
            )
        except TwilioException as exc:
            return self._failed(exc)
        return Sent(call.sid)
