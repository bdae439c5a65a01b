"""A pytest plugin (tests/conftest.py loads it, so tests/assistant and tests/security share one Rasa server).

The assistant as it runs: the hub (hosting the actions) and the Rasa server with the trained model.

``assistant_stack`` is session-scoped: the Rasa server takes about a minute to load, so
every assistant test shares one. The hub runs in this process (uvicorn on a free loopback
port, no MQTT, the sandbox notifier, a FakeClock) on its own SQLite database, with the
sample site and the sample directory of services loaded.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub import assistant_runner as runner

from .console_helpers import make_runtime
from .served import Served, free_port

ROOT = Path(__file__).resolve().parents[1]
TWILIO_TEST_TOKEN = "12345678901234567890123456789012"
# The per-conversation limit as deployed; the per-client one off, since every test speaks from
# 127.0.0.1 (tests/security/test_assistant_identity.py checks a 429 with the per-conversation one).
CHAT_LIMITS = os.environ.get("LINKAGE_TEST_CHAT_LIMITS", "conversation=20/60s,client=off")


@dataclass
class AssistantStack:
    rasa_url: str
    hub_url: str
    twilio_auth_token: str
    public_base_url: str
    rasa_token: str
    hub: object  # hub.runtime.HubRuntime
    log_path: Path

    @property
    def sessions(self):
        return self.hub.sessions

    def say(self, sender: str, text: str, timeout: float = 30) -> list[dict]:
        """One REST turn: what the assistant answered (the conversation is ``rest:<sender>``)."""
        r = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=timeout
        )
        r.raise_for_status()
        return r.json()

    def texts(self, sender: str, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, text))

    def parse(self, text: str) -> dict:
        r = httpx.post(
            f"{self.rasa_url}/model/parse", params={"token": self.rasa_token}, json={"text": text}, timeout=30
        )
        r.raise_for_status()
        return r.json()

    def tracker(self, sender: str) -> dict:
        r = httpx.get(f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": self.rasa_token}, timeout=30)
        r.raise_for_status()
        return r.json()


def _rasa_available() -> None:
    try:
        runner.rasa_bin()
    except runner.AssistantError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{exc} (CI promises it: make test installs it)")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def trained_model() -> Path:
    _rasa_available()
    return runner.ensure_model()


@pytest.fixture(scope="session")
def assistant_stack(trained_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assistant")
    site_text = (ROOT / "data" / "sample" / "site.yml").read_text(encoding="utf-8")
    actions_token = secrets.token_urlsafe(16)
    saved = {k: os.environ.get(k) for k in ("LINKAGE_ACTIONS_TOKEN",)}
    os.environ["LINKAGE_ACTIONS_TOKEN"] = actions_token
    runtime = make_runtime(f"sqlite:///{tmp / 'assistant.db'}", site_text)
    # every stack test is an anonymous conversation on one FakeClock hour: the hourly cap on their
    # call-backs (30 by default) is tested on its own (tests/security/test_assistant_limits.py)
    runtime.settings.anonymous_requests_per_hour = 100_000
    log_path = tmp / "rasa.log"
    proc = None
    try:
        with Served(runtime) as served, open(log_path, "wb") as log:
            port = free_port()
            rasa_url = f"http://127.0.0.1:{port}"
            # as `linkage assistant` runs it: the API token from the environment (never on the
            # command line), no CORS, loopback only, Sanic's size caps, the chat limits on
            rasa_token, _ = runner.api_token({})
            proc = runner.start_server(
                trained_model,
                port,
                hub_url=served.url,
                actions_token=actions_token,
                log_file=log,
                auth_token=rasa_token,
                public_base_url=rasa_url,
                extra_env={"TWILIO_AUTH_TOKEN": TWILIO_TEST_TOKEN, "LINKAGE_CHAT_LIMITS": CHAT_LIMITS},
            )
            try:
                runner.wait_ready(rasa_url, proc)
            except runner.AssistantError as exc:
                pytest.fail(f"{exc}\n--- rasa log ---\n{log_path.read_text(errors='replace')[-6000:]}")
            yield AssistantStack(
                rasa_url=rasa_url,
                hub_url=served.url,
                twilio_auth_token=TWILIO_TEST_TOKEN,
                public_base_url=rasa_url,
                rasa_token=rasa_token,
                hub=runtime,
                log_path=log_path,
            )
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except Exception:  # noqa: BLE001
                proc.kill()
        runtime.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
