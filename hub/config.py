"""Settings from the environment (DESIGN.md): DATABASE_URL, MQTT_URL, TWILIO_*, PUBLIC_BASE_URL."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from telecare.storage import default_database_url


@dataclass
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "MqttSettings":
        u = urlparse(url if "://" in url else "mqtt://" + url)
        if u.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"MQTT_URL must look like mqtt://host:1883, not {url!r}")
        return cls(u.hostname or "127.0.0.1", u.port or 1883, u.username, u.password)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


SAMPLE_DIRECTORY = Path(__file__).resolve().parents[1] / "data" / "directory" / "services.yml"


@dataclass
class Settings:
    database_url: str = field(default_factory=default_database_url)
    mqtt: MqttSettings = field(default_factory=lambda: MqttSettings.from_url(os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")))
    mqtt_client_id: str = field(default_factory=lambda: os.environ.get("LINKAGE_MQTT_CLIENT_ID", "linkage-hub"))
    embedded_broker: bool = field(default_factory=lambda: os.environ.get("LINKAGE_EMBEDDED_BROKER", "auto") != "off")
    supervision_interval: float = field(default_factory=lambda: float(os.environ.get("LINKAGE_SUPERVISION_INTERVAL", "15")))
    public_base_url: str | None = field(default_factory=lambda: os.environ.get("PUBLIC_BASE_URL"))
    # the directory of services loaded at start when none is loaded yet ("off": never)
    directory_file: str = field(default_factory=lambda: os.environ.get("LINKAGE_DIRECTORY") or str(SAMPLE_DIRECTORY))
