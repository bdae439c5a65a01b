"""The ingest consumer: paho-mqtt 2 on a persistent session with manual acknowledgement.

paho runs in the MQTT link process (hub/mqtt/link.py), which only forwards messages here
(a burst never blocks keep-alives, and paho's work runs on the other core). One worker
thread drains them in batches, hands each batch to ``IngestService.process``
(one transaction) and acknowledges the batch's messages to the broker only after commit,
in the order they arrived. A crash before commit leaves them unacknowledged, and the
broker delivers them again to the same session; (device, event_id) makes that harmless.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time

from hub import metrics
from hub.config import MqttSettings
from telecare.events.ingest import Inbound, IngestService

from .link import run_link
from .topics import classify

log = logging.getLogger("linkage.mqtt")


class MqttConsumer:
    """Runs the MQTT link process (hub/mqtt/link.py) and the ingest worker that commits
    what it forwards and asks it to acknowledge."""

    def __init__(
        self,
        settings: MqttSettings,
        service: IngestService,
        client_id: str = "linkage-hub",
        batch_max: int = 1000,
        batch_wait: float = 0.005,
    ):
        self.settings = settings
        self.service = service
        self.client_id = client_id
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.queue: queue.SimpleQueue = queue.SimpleQueue()  # chunks of items from the link
        self.connected = threading.Event()
        self.last_error: str | None = None  # why the last connection failed (bad credentials, TLS, ...)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._ctx = mp.get_context("spawn")
        self._conn = None
        self._proc = None
        self._send_lock = threading.Lock()
        self._link = 0  # which link process the items came from; acks go only to that one
        self.processed = 0
        self.last_batch_at: float | None = None
        self._shapes: dict[bytes, tuple | bool] = {}

    # -- the link process ------------------------------------------------------------------
    def _start_link(self) -> None:
        parent, child = self._ctx.Pipe()
        m = self.settings
        proc = self._ctx.Process(
            target=run_link, name="linkage-mqtt-link", daemon=True, args=(child, m, self.client_id)
        )
        proc.start()
        child.close()
        self._link += 1
        self._conn, self._proc = parent, proc
        self._reader = threading.Thread(target=self._read, args=(parent, self._link), name="link-reader", daemon=True)
        self._reader.start()

    def _read(self, conn, link: int) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            kind = msg[0]
            if kind == "msgs":
                self.queue.put((link, msg[1]))
            elif kind == "up":
                self.connected.set()
                metrics.MQTT_CONNECTED.set(1)
                log.info("connected to MQTT %s (session present: %s)", self.settings.url, msg[2])
            elif kind == "down":
                self.last_error = str(msg[1])
                self.connected.clear()
                metrics.MQTT_CONNECTED.set(0)
                log.warning("MQTT disconnected (%s); reconnecting", msg[1])
        self.connected.clear()
        metrics.MQTT_CONNECTED.set(0)
        if not self._stop.is_set() and link == self._link:
            log.error("the MQTT link process ended; starting another")
            time.sleep(1)
            if not self._stop.is_set():
                self._start_link()

    def _ack(self, link: int, acks: list) -> None:
        if not acks or link != self._link:
            return  # the link that delivered these is gone: the broker will deliver them again
        try:
            with self._send_lock:
                self._conn.send(("ack", acks))
        except (OSError, EOFError, BrokenPipeError):
            log.warning("could not acknowledge %d messages; the broker will deliver them again", len(acks))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> MqttConsumer:
        self._start_link()
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._worker:
            self._worker.join(timeout)
        try:
            with self._send_lock:
                self._conn.send(("stop",))
        except (OSError, EOFError, BrokenPipeError, AttributeError):
            pass
        if self._proc is not None:
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5)

    # -- the worker --------------------------------------------------------------------------
    def _take(self) -> tuple[int, list]:
        """Up to about batch_max items, all from one link process."""
        try:
            link, items = self.queue.get(timeout=0.2)
        except queue.Empty:
            return 0, []
        items = list(items)
        deadline = time.monotonic() + self.batch_wait
        while len(items) < self.batch_max:
            try:
                nxt_link, more = self.queue.get_nowait()
            except queue.Empty:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.0005)
                continue
            if nxt_link != link:  # a new link: finish this batch first
                self.queue.put((nxt_link, more))
                break
            items.extend(more)
        return link, items

    def _work(self) -> None:
        while not self._stop.is_set():
            link, items = self._take()
            if not items:
                self._idle()
                continue
            metrics.INGEST_QUEUE.set(self.queue.qsize())
            batch = []
            shapes = self._shapes
            for topic, payload, _mid, _qos, _gen in items:
                shape = shapes.get(topic)
                if shape is None:
                    shape = self._shape(topic)
                if shape is not False:
                    kind, topic_s, home, device, reason = shape
                    batch.append(Inbound(kind, topic_s, payload, home, device, reason))
            if not self._process_until_done(batch):
                return  # stopping before the batch was committed: the broker delivers it again
            self._ack(link, [(mid, qos, gen) for _, _, mid, qos, gen in items if qos])
            self.processed += len(items)
            self.last_batch_at = time.time()

    def _shape(self, topic: bytes):
        """What a topic is (kind, text, home, device, reason), or False for our own
        publications; remembered, since each device uses the same topic again and again."""
        try:
            inbound = classify(topic.decode("utf-8"), b"")
        except UnicodeDecodeError:
            inbound = Inbound(
                "bad_topic", topic.decode("utf-8", errors="backslashreplace"), b"", reason="topic is not UTF-8"
            )
        shape = (
            False if inbound is None else (inbound.kind, inbound.topic, inbound.home, inbound.device, inbound.reason)
        )
        if len(self._shapes) > 200_000:  # bounded: a flood of made-up topics cannot grow it forever
            self._shapes.clear()
        self._shapes[topic] = shape
        return shape

    def _idle(self) -> None:
        """Nothing arriving: a good moment to write the last-seen times held in memory."""
        if self.service.devices.dirty:
            try:
                self.service.flush_seen()
            except Exception:  # noqa: BLE001  (supervision flushes too)
                log.exception("could not write last-seen times")

    def _process_until_done(self, batch: list[Inbound]) -> bool:
        """Commit the batch; True once it is committed, False if the hub is stopping first
        (then nothing may be acknowledged). On failure, retry; split a batch that keeps
        failing so one poisonous message becomes a dead letter instead of stopping ingest.
        If even that cannot be written (the database is down), wait and retry."""
        delay = 0.5
        while True:
            try:
                self._commit(batch)
                return True
            except Exception:  # noqa: BLE001
                metrics.INGEST_ERRORS.inc()
                log.exception("ingest batch of %d failed", len(batch))
            try:
                for one in batch:
                    self._commit_one(one)
                return True
            except Exception:  # noqa: BLE001
                log.exception("database unavailable; retrying in %.1fs", delay)
            if self._stop.wait(delay):
                return False
            delay = min(delay * 2, 10)

    def _commit(self, batch: list[Inbound]) -> None:
        t0 = time.perf_counter()
        res = self.service.process(batch)
        metrics.INGEST_BATCH_SECONDS.observe(time.perf_counter() - t0)
        metrics.INGEST_MESSAGES.labels("accepted").inc(res.accepted)
        metrics.INGEST_MESSAGES.labels("heartbeat").inc(res.heartbeats)
        metrics.INGEST_MESSAGES.labels("duplicate").inc(res.duplicates)
        metrics.INGEST_MESSAGES.labels("dead_letter").inc(res.dead)
        if res.alerts_opened:
            metrics.ALERTS_OPENED.inc(len(res.alerts_opened))

    def _commit_one(self, one: Inbound) -> None:
        try:
            self._commit([one])
        except Exception as exc:  # noqa: BLE001
            log.exception("message on %s could not be processed; dead-lettered", one.topic)
            self.service.dead_letter_now(one, "internal_error", f"the hub failed on this message: {exc!r}")
