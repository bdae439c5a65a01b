"""The layout tells the story: the domain imports no MQTT, HTTP, Twilio, Rasa or template code, nor the hub
or the Rasa actions."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "telecare"
FORBIDDEN = (
    "paho",
    "amqtt",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    "twilio",
    "hub",
    "rasa",
    "rasa_sdk",
    "socketio",
    "jinja2",
    "actions",
)


def test_domain_imports_no_adapters():
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(DOMAIN.parent)}:{node.lineno} imports {name}")
    assert offenders == []
