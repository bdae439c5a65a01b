"""The sandbox notifier: nothing leaves the machine. Every message and call is in the
notifications table already; ``POST /api/sandbox/reply`` plays the recipient's answer."""

from __future__ import annotations

import threading
import time

from telecare.notification.ports import Sent


class SandboxNotifier:
    name = "sandbox"

    def __init__(self):
        self.handed: list[tuple[float, int, str, str]] = []  # (perf_counter, id, channel, to): for benchmarks
        self._lock = threading.Lock()

    def _record(self, n_id: int, channel: str, to: str) -> Sent:
        with self._lock:
            self.handed.append((time.perf_counter(), n_id, channel, to))
            if len(self.handed) > 100_000:
                del self.handed[:50_000]
        return Sent(f"SB{channel[0].upper()}{n_id:08d}")

    def send_sms(self, notification_id: int, to: str, body: str) -> Sent:
        return self._record(notification_id, "sms", to)

    def call(self, notification_id: int, to: str, speech: str) -> Sent:
        return self._record(notification_id, "voice", to)
