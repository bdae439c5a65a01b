"""Notifiers (sandbox, Twilio) and the dispatcher that hands queued notifications to them."""

from __future__ import annotations


def make_notifier(settings=None):
    """The notifier the configuration asks for (hub.config.notifier_choice): Twilio when it is
    configured, the sandbox when no Twilio variable is set (or LINKAGE_NOTIFIER=sandbox). A partial
    Twilio configuration is a ConfigError naming what is missing: never a silent sandbox."""
    from hub.config import notifier_choice

    choice = settings.notifier if settings is not None and getattr(settings, "notifier", None) else notifier_choice()
    if choice == "twilio":
        from .twilio import TwilioNotifier

        twilio = getattr(settings, "twilio", None)  # hub.config.TwilioSettings, read with the rest of Settings
        return TwilioNotifier.from_settings(twilio) if twilio is not None else TwilioNotifier.from_env()
    from .sandbox import SandboxNotifier

    return SandboxNotifier()
