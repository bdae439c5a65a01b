"""Shared fixtures. Storage tests run on SQLite and on PostgreSQL (127.0.0.1:5432, database
``test``, each test in a schema of its own); MQTT tests use the real Mosquitto broker.

Where a service is missing, the tests that need it are skipped on a developer's machine and
fail under CI (CI=true), where the services are promised."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

import telecare.handlers  # noqa: F401  (the domain's subscriptions, telecare.bus)
from telecare.clock import FakeClock
from telecare.site.loader import load_site
from telecare.storage import make_engine, make_session_factory, secrets, upgrade

ROOT = Path(__file__).resolve().parent.parent
# the running assistant (one Rasa server per test session), shared by tests/assistant and tests/security;
# the hub, its app, API tokens and console logins, shared by the API, console and security tests
pytest_plugins = ["tests.assistant_stack", "tests.hub_fixtures", "tests.browser"]
SAMPLE_SITE = ROOT / "data" / "sample" / "site.yml"
PG_URL = os.environ.get("LINKAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MQTT_HOST = os.environ.get("LINKAGE_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("LINKAGE_TEST_MQTT_PORT", "1883"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# the data key for access notes at rest: one generated for the test run, in the environment (so
# Settings() and `linkage` subprocesses have it) and given to telecare.storage.secrets before each test
TEST_DATA_KEY = os.environ.get("LINKAGE_TEST_DATA_KEY") or secrets.new_key()
os.environ["LINKAGE_DATA_KEY"] = TEST_DATA_KEY
os.environ.pop("LINKAGE_DATA_KEY_FILE", None)


@pytest.fixture(autouse=True)
def data_key():
    secrets.use_keys([TEST_DATA_KEY])
    yield TEST_DATA_KEY
    secrets.use_keys([TEST_DATA_KEY])


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} is not reachable, and CI promises it")
    pytest.skip(f"{what} is not reachable on this machine")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'linkage.db'}"
        return
    if not port_open("127.0.0.1", 5432):
        _missing("PostgreSQL at 127.0.0.1:5432")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'linkage.db'}"


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    return make_session_factory(engine)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sample_site_text() -> str:
    return SAMPLE_SITE.read_text()


@pytest.fixture
def site(sessions, clock, sample_site_text):
    with sessions() as s, s.begin():
        load_site(s, sample_site_text, clock.now())
    return sessions


@pytest.fixture
def mqtt_broker():
    if not port_open(MQTT_HOST, MQTT_PORT):
        _missing(f"Mosquitto at {MQTT_HOST}:{MQTT_PORT}")
    return MQTT_HOST, MQTT_PORT
