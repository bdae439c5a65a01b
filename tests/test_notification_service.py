"""Handing notifications to a notifier and recording what becomes of them."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from telecare.events.ingest import Inbound, IngestService
from telecare.notification import service
from telecare.notification.models import Notification
from telecare.notification.ports import Sent
from telecare.site.device_cache import DeviceCache


def _fall(site, clock):
    ingest = IngestService(site, DeviceCache(), clock)
    body = orjson.dumps({"event_id": "f-1", "type": "fall", "ts": clock.now().isoformat()})
    ingest.process([Inbound("event", "telecare/v1/home-0001/fall-1/event", body, "home-0001", "fall-1")])


def _escalation(site):
    with site() as s:
        return list(
            s.scalars(select(Notification).where(Notification.purpose == "escalation").order_by(Notification.id))
        )


def test_a_failure_callback_before_the_sid_is_stored_still_moves_on(site, clock):
    _fall(site, clock)
    with site() as s, s.begin():
        (item,) = service.claim(s, clock.now())
    # Twilio's "failed" callback races ahead of the dispatcher's record of the sid
    with site() as s, s.begin():
        assert service.status_update(s, "CA-early", "failed", clock.now(), notification_id=item[0]) is not None
    with site() as s, s.begin():
        service.record_sent(s, item[0], Sent("CA-early"), clock.now())
    first, second = _escalation(site)[:2]
    assert (first.status, first.provider_sid) == ("failed", "CA-early")
    assert (second.to, second.channel) == (first.to, "sms")  # voice failed: SMS to the same person at once


def test_a_callback_naming_another_message_changes_nothing(site, clock):
    _fall(site, clock)
    with site() as s, s.begin():
        (item,) = service.claim(s, clock.now())
        service.record_sent(s, item[0], Sent("CA-real"), clock.now())
    with site() as s, s.begin():
        assert service.status_update(s, "CA-other", "failed", clock.now(), notification_id=item[0]) is None
    assert _escalation(site)[0].status == "sent"


def test_a_notifier_that_raises_is_a_failed_attempt(site, clock):
    class Broken:
        name = "broken"

        def call(self, *a):
            raise ConnectionError("provider unreachable")

        send_sms = call

    _fall(site, clock)
    with site() as s, s.begin():
        (item,) = service.claim(s, clock.now())
    sent = service.send(Broken(), item)
    with site() as s, s.begin():
        service.record_sent(s, item[0], sent, clock.now())
    first, second = _escalation(site)[:2]
    assert first.status == "failed" and "provider unreachable" in first.detail
    assert second.channel == "sms" and second.status == "queued"


def test_stuck_sends_are_queued_again_after_a_crash(site, clock):
    _fall(site, clock)
    with site() as s, s.begin():
        service.claim(s, clock.now())
    with site() as s, s.begin():
        assert service.requeue_stuck(s) == 1
    assert _escalation(site)[0].status == "queued"
