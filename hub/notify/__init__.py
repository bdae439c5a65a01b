"""Notifiers (sandbox, Twilio) and the dispatcher that hands queued notifications to them."""
from __future__ import annotations

import os


def make_notifier(settings=None):
    """Twilio when an account is configured, else the sandbox."""
    if os.environ.get("TWILIO_ACCOUNT_SID") and os.environ.get("TWILIO_AUTH_TOKEN"):
        from .twilio import TwilioNotifier
        return TwilioNotifier.from_env()
    from .sandbox import SandboxNotifier
    return SandboxNotifier()
