"""Helpers for tests against the real broker."""

from __future__ import annotations

import subprocess
import time
import uuid

import paho.mqtt.client as mqtt


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll until predicate() is truthy. A bound, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")


def mosquitto_pub(host: str, port: int, topic: str, message: bytes | str, qos: int = 1, retain: bool = False):
    args = ["mosquitto_pub", "-h", host, "-p", str(port), "-q", str(qos), "-t", topic]
    if retain:
        args.append("-r")
    if isinstance(message, str):
        message = message.encode()
    if message == b"":
        args.append("-n")
    else:
        args += ["-s"]  # message from stdin: any bytes, any size
    subprocess.run(args, input=None if message == b"" else message, check=True, timeout=10)


def clear_session(host: str, port: int, client_id: str) -> None:
    """Drop a persistent session so the shared broker does not keep queueing for it."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        c.connect(host, port, keepalive=5)
        c.loop_start()
        time.sleep(0.2)
        c.disconnect()
        c.loop_stop()
    except OSError:
        pass


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
