"""The running service: adapters (MQTT, HTTP, notifiers) and entry points around ``telecare``."""
