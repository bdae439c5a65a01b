"""Prometheus metrics (served at /metrics)."""

from prometheus_client import Counter, Gauge, Histogram

INGEST_MESSAGES = Counter("linkage_ingest_messages_total", "MQTT messages taken in, by result", ["result"])
INGEST_BATCH_SECONDS = Histogram(
    "linkage_ingest_batch_seconds",
    "Time to commit one ingest batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGEST_QUEUE = Gauge("linkage_ingest_queue_depth", "Messages received and not yet committed")
INGEST_ERRORS = Counter("linkage_ingest_errors_total", "Batches that failed and were retried")
ALERTS_OPENED = Counter("linkage_alerts_opened_total", "Alerts opened")
MQTT_CONNECTED = Gauge("linkage_mqtt_connected", "1 while the hub is connected to the broker")
OUTBOX_PUBLISHED = Counter("linkage_outbox_published_total", "Alert changes published on MQTT")
DEVICES_OFFLINE_RAISED = Counter("linkage_devices_offline_total", "device_offline alerts raised by supervision")
ASSISTANT_ACTION_SECONDS = Histogram(
    "linkage_assistant_action_seconds",
    "Time to run one of the assistant's actions",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
ASSISTANT_ANONYMOUS_CAPPED = Counter(
    "linkage_assistant_anonymous_capped_total",
    "Call-back requests and introductions an anonymous assistant conversation asked for and the hub did not "
    "queue (what: callback|introduction; why: conversation|hourly); the person was told to ring instead",
    ["what", "why"],
)
