"""What the domain needs from a notifier. Adapters (sandbox, Twilio) live in hub/notify."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class Sent:
    provider_sid: str | None
    status: str = "sent"  # or "failed"
    detail: str | None = None


class Notifier(Protocol):
    name: str

    def send_sms(self, notification_id: int, to: str, body: str) -> Sent: ...

    def call(self, notification_id: int, to: str, speech: str) -> Sent: ...
