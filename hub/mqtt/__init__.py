"""MQTT adapters: topic parsing, the ingest consumer, the alert publisher, the embedded broker."""
