"""Linkage's domain: residents, homes, devices, events, alerts, escalation, check-ins.

Plain Python and SQLAlchemy. Nothing in this package imports MQTT, HTTP or Twilio code:
those are adapters and live in ``hub/``.
"""
