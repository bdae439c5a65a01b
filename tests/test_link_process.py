"""The MQTT link runs in a spawned child process (hub/mqtt/consumer.py). A spawned child runs the
parent's main module again (``linkage`` is hub.cli) and unpickles its arguments (hub.config's
MqttSettings): neither may bring in the domain or the database code, which the child never uses
and which cost the hub 32 MB of RSS with 100,000 devices (bench memory: 248 MB, 213 MB without)."""

from __future__ import annotations

import subprocess
import sys

CHILD = (
    "import runpy, sys; runpy.run_module('hub.cli', run_name='__mp_main__'); "
    "import hub.config, hub.mqtt.link; "
    "print(' '.join(m for m in ('sqlalchemy', 'alembic', 'telecare.handlers', 'telecare.storage', 'fastapi') "
    "if m in sys.modules))"
)


def test_the_link_child_imports_no_database_or_domain_code():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [], f"the link's child process would import {out.stdout.strip()}"


def test_the_check_sees_an_import_it_forbids():
    out = subprocess.run(
        [sys.executable, "-c", CHILD.replace("import hub.config,", "import sqlalchemy, hub.config,")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["sqlalchemy"]
