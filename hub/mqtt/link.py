"""The MQTT link: paho's network loop in a process of its own.

Receiving and acknowledging tens of thousands of QoS 1 messages a second is mostly
Python work inside paho. In the hub's process it would compete for the interpreter lock
with the ingest worker that parses, deduplicates and commits them; in a process of its
own it runs on the other core. The link knows nothing of the database: it forwards what
arrives to the hub, in arrival order, in chunks, and sends the PUBACKs the hub asks for
(after its commit). It exits when the hub goes away (the pipe closes, or the kernel's
parent-death signal), without acknowledging anything more, so the broker keeps every
message the hub did not commit for the session's next connection.

Messages to the hub:   ("up", generation, session_present) | ("down", reason) | ("msgs", [item, ...])
                        item = (topic bytes, payload bytes, mid, qos, generation)
Messages from the hub: ("ack", [(mid, qos, generation), ...]) | ("stop",)
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time

import paho.mqtt.client as mqtt

SUBSCRIPTION = "telecare/v1/#"


def _die_with_parent() -> None:
    try:  # Linux: SIGTERM when the hub's process ends, even by SIGKILL
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_link(conn, settings, client_id: str, max_inflight: int = 1000, chunk_wait: float = 0.002) -> None:
    """``settings`` is the hub's MqttSettings (host, port, credentials, TLS)."""
    _die_with_parent()
    send_lock = threading.Lock()
    buf: list = []
    buf_lock = threading.Lock()
    wake = threading.Event()
    state = {"gen": 0, "stop": False}

    def send(obj) -> None:
        with send_lock:
            conn.send(obj)

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        manual_ack=True,
        protocol=mqtt.MQTTv311,
    )
    settings.configure(client)  # username/password, and TLS for mqtts:// (MQTT_CA_FILE, client cert)
    client.reconnect_delay_set(1, 30)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)

    def on_connect(c, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            send(("down", f"connect refused: {reason_code}"))
            return
        state["gen"] += 1
        c.subscribe(SUBSCRIPTION, qos=1)
        send(("up", state["gen"], bool(flags.session_present)))

    def on_disconnect(c, userdata, flags, reason_code, properties):
        if not state["stop"]:
            send(("down", str(reason_code)))

    def on_message(c, userdata, msg):
        with buf_lock:
            buf.append((msg._topic, msg.payload, msg.mid, msg.qos, state["gen"]))
        wake.set()

    def on_connect_fail(c, userdata):  # TCP refused, TLS handshake failed, ...
        if not state["stop"]:
            send(("down", "could not connect (no broker answering, or the TLS handshake failed)"))

    client.on_connect, client.on_disconnect, client.on_message = on_connect, on_disconnect, on_message
    client.on_connect_fail = on_connect_fail

    def forward() -> None:
        nonlocal buf
        while not state["stop"]:
            if not wake.wait(0.5):
                continue
            wake.clear()
            time.sleep(chunk_wait)  # let a burst gather into one chunk
            with buf_lock:
                items, buf = buf, []
            if items:
                try:
                    send(("msgs", items))
                except (OSError, EOFError, BrokenPipeError):
                    state["stop"] = True

    threading.Thread(target=forward, name="link-forward", daemon=True).start()
    client.connect_async(settings.host, settings.port, keepalive=30)
    client.loop_start()
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "ack":
                gen = state["gen"]
                for mid, qos, g in msg[1]:
                    if g == gen:  # a PUBACK belongs to the connection that delivered the message
                        client.ack(mid, qos)
            elif msg[0] == "stop":
                break
    except (EOFError, OSError):
        pass  # the hub has gone: acknowledge nothing more
    finally:
        state["stop"] = True
        try:
            client.disconnect()
        finally:
            client.loop_stop()
