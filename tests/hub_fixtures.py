"""Hub fixtures shared by the API, console and security tests (loaded by tests/conftest.py as a
plugin): a HubRuntime without MQTT on a FakeClock with the sample site, its FastAPI app, API
tokens and logged-in console clients.

A test module that needs the hub set up differently overrides ``hub_options`` (the keyword
arguments of tests.console_helpers.make_runtime: ``now``, ``bert``, ``users``, ``site_changed``;
and ``env``: variables set before the hub reads its settings, ``env_without``: variables unset,
``settings``: attributes set on ``runtime.settings`` after, ``directory``: load the sample directory
of services), and keeps everything else. A module that must change the built hub (a fake notifier)
overrides ``runtime`` with a fixture that takes the shared one."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hub.web.app import create_app
from telecare.auth.tokens import create_token

from .console_helpers import load_sample_directory, log_in, make_runtime
from .served import Served


def bearer(runtime, name: str, role: str, contact: str | None = None, **kw) -> dict[str, str]:
    """An ``Authorization`` header with a new API token (``kw``: create_token's, e.g. ``expires``)."""
    with runtime.sessions() as s, s.begin():
        return {"Authorization": f"Bearer {create_token(s, name, role, runtime.clock.now(), contact=contact, **kw)}"}


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute of an app's ``routes``, looking inside included routers."""
    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):  # FastAPI >= 0.16x keeps an included router whole
            out.extend(api_routes(r.original_router.routes))
    return out


@pytest.fixture
def hub_options() -> dict:
    return {}


@pytest.fixture
def runtime(db_url, sample_site_text, hub_options, monkeypatch):
    for name in hub_options.get("env_without", ()):
        monkeypatch.delenv(name, raising=False)
    for name, value in hub_options.get("env", {}).items():
        monkeypatch.setenv(name, value)
    hub = make_runtime(
        db_url,
        sample_site_text,
        **{k: v for k, v in hub_options.items() if k not in ("env_without", "env", "settings", "directory")},
    )
    for name, value in hub_options.get("settings", {}).items():
        setattr(hub.settings, name, value)
    if hub_options.get("directory"):
        load_sample_directory(hub)
    yield hub
    hub.stop()


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def client(app):
    """The API through FastAPI's TestClient (lifespan run)."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def staff(runtime):
    """An API token for staff (Authorization header)."""
    return bearer(runtime, "Control Room", "staff")


@pytest.fixture
def responder(runtime):
    """An API token for a responder bound to Rhys (Authorization header)."""
    return bearer(runtime, "Rhys", "responder", contact="rhys")


def console_client(app):
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def console_staff(app):
    """A console logged in as carol (staff)."""
    with console_client(app) as c:
        assert log_in(c, "carol").status_code == 303
        yield c


@pytest.fixture
def console_responder(app):
    """A console logged in as priya (a responder)."""
    with console_client(app) as c:
        assert log_in(c, "priya").status_code == 303
        yield c


@pytest.fixture
def served(runtime):
    """The hub's app served by uvicorn on a free loopback port (tests.served.Served)."""
    with Served(runtime) as s:
        yield s
