"""Publishes alert changes from the outbox on ``telecare/v1/{home}/alert`` (QoS 1)."""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from hub import metrics
from hub.worker import Worker
from telecare.alert.models import OutboxMessage
from telecare.clock import Clock, SystemClock

log = logging.getLogger("linkage.outbox")


def publishing_client(settings, client_id: str) -> tuple[mqtt.Client, threading.Event]:
    """A connection of its own for what the hub publishes (clean session, QoS 1)."""
    connected = threading.Event()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
    )
    settings.configure(client)  # credentials, and TLS for mqtts://
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    client.on_disconnect = lambda c, u, f, rc, p: connected.clear()
    client.reconnect_delay_set(1, 30)
    client.connect_async(settings.host, settings.port, keepalive=30)
    client.loop_start()
    return client, connected


class OutboxPublisher:
    def __init__(
        self,
        client: mqtt.Client,
        connected: threading.Event,
        session_factory: sessionmaker,
        clock: Clock | None = None,
        interval: float = 1.0,
    ):
        self.client = client
        self.connected = connected
        self.sessions = session_factory
        self.clock = clock or SystemClock()
        self.interval = interval
        self.worker = Worker("outbox", self._round, interval=interval, wait_first=True, logger=log, join_timeout=5)
        self.wake = self.worker.wake_event  # set after a commit that wrote to the outbox

    def start(self) -> OutboxPublisher:
        self.worker.start()
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.client.disconnect()
        self.client.loop_stop()

    def _round(self) -> None:
        if self.connected.is_set():
            self.flush()

    def flush(self, limit: int = 500) -> int:
        with self.sessions() as s:
            rows = s.execute(
                select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
        if not rows:
            return 0
        done = []
        for row_id, topic, payload in rows:
            info = self.client.publish(topic, payload.encode(), qos=1)
            try:
                info.wait_for_publish(5)
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            done.append(row_id)
        if done:
            with self.sessions() as s, s.begin():
                s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(done)).values(published_at=self.clock.now()))
            metrics.OUTBOX_PUBLISHED.inc(len(done))
        return len(done)
