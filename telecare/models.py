"""Every table, imported in one place for Alembic and for tests."""

from telecare.alert.models import Alert, OutboxMessage, TimelineEntry
from telecare.audit.models import AuditEntry
from telecare.auth.models import ApiToken, User, WebSession
from telecare.checkin.models import Checkin, CheckinAttempt, CheckinPause, CheckinSchedule, DriftFlag
from telecare.consent.models import Consent
from telecare.directory.models import Council, Service
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.events.models import DeadLetter, Event
from telecare.notification.models import Notification, Reply
from telecare.retention.models import RetentionRun, RetentionTally
from telecare.site.models import Contact, Device, Home, Policy, Resident, ResidentContact, RotaShift, Setting, Team
from telecare.watch.models import SweepCursor, WatchState

__all__ = [
    "Alert",
    "OutboxMessage",
    "TimelineEntry",
    "ApiToken",
    "DeadLetter",
    "Event",
    "Contact",
    "Device",
    "Home",
    "Notification",
    "Reply",
    "Policy",
    "Resident",
    "ResidentContact",
    "RotaShift",
    "Setting",
    "Team",
    "AuditEntry",
    "User",
    "WebSession",
    "Checkin",
    "CheckinAttempt",
    "CheckinPause",
    "CheckinSchedule",
    "DriftFlag",
    "SweepCursor",
    "WatchState",
    "Council",
    "Service",
    "Consent",
    "CallbackRequest",
    "CheckinRequest",
    "Enquiry",
    "Introduction",
    "RetentionRun",
    "RetentionTally",
]
