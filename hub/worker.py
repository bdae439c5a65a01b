"""One background thread that does a piece of work again and again: the hub's loops (the
outbox publisher, the notification dispatcher, the check-in timer, supervision) are each one
``Worker`` around a ``step``.

* ``step()`` does one round. A true result means there is more to do at once (a full batch);
  otherwise the worker sleeps ``wait()`` seconds (``interval`` unless given) or until
  ``wake()`` (an after-commit handler saying there is work: ``hub/runtime.py``).
* ``wait_first``: sleep before the first round (the round itself is the reaction to a wake).
* An exception in a round is logged with the worker's name and the worker carries on after
  ``interval``: a bug or a database outage never stops a loop.
* ``alive`` and ``last_run`` (epoch seconds) are what health reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("linkage.worker")


class Worker:
    def __init__(
        self,
        name: str,
        step: Callable[[], object],
        *,
        interval: float,
        wait: Callable[[], float] | None = None,
        wait_first: bool = False,
        logger: logging.Logger | None = None,
        join_timeout: float = 10.0,
    ):
        self.name = name
        self.step = step
        self.interval = interval
        self._wait = wait
        self.wait_first = wait_first
        self.log = logger or log
        self.join_timeout = join_timeout
        self.wake_event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_run: float | None = None

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.wake_event.set()
        if self._thread:
            self._thread.join(self.join_timeout)

    def wake(self) -> None:
        """Run the next round now rather than at the end of the sleep."""
        self.wake_event.set()

    @property
    def alive(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _sleep(self, seconds: float) -> None:
        self.wake_event.wait(max(0.0, seconds))
        self.wake_event.clear()

    def _next_wait(self) -> float:
        if self._wait is None:
            return self.interval
        try:
            return self._wait()
        except Exception:  # noqa: BLE001  (then the plain interval)
            return self.interval

    def _run(self) -> None:
        if self.wait_first:
            self._sleep(self.interval)
        while not self._stop.is_set():
            try:
                more = self.step()
            except Exception:  # noqa: BLE001  (the next round tries again)
                self.log.exception("%s: round failed", self.name)
                self._sleep(self.interval)
                continue
            self.last_run = time.time()
            if more:
                continue
            self._sleep(self._next_wait())
