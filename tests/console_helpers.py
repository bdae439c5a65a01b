"""Shared set-up for console tests: a hub without MQTT on a FakeClock, the sample site, and
users of each role."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from pathlib import Path

import orjson

from hub.config import Settings
from hub.runtime import HubRuntime
from telecare.auth.users import create_user
from telecare.clock import FakeClock
from telecare.directory.loader import load_directory
from telecare.events.ingest import Inbound
from telecare.site.loader import load_site

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough password"
USERS = (
    ("carol", "staff", "Carol Control", None),
    ("ada", "admin", "Ada Admin", None),
    ("priya", "responder", None, "priya"),
    ("rhys", "responder", None, "rhys"),
)
_ids = itertools.count()
BERT = """\
residents:
  - id: bert
    name: Bert Brown
    contacts: [jim]
    home:
      id: home-0002
      devices:
        - {id: pendant-1, kind: pendant}
"""


def make_runtime(
    db_url: str,
    site_text: str,
    *,
    now: datetime | None = None,
    bert: bool = True,
    users: bool = True,
    site_changed: bool = True,
) -> HubRuntime:
    """A hub without MQTT on a FakeClock (at ``now``, or the clock's default), with the site loaded,
    and unless told otherwise Bert's home too, a console user of each role, and the device cache filled."""
    hub = HubRuntime(Settings(database_url=db_url), clock=FakeClock(now), with_mqtt=False)
    with hub.sessions() as s, s.begin():
        load_site(s, site_text, hub.clock.now())
        if bert:
            load_site(s, BERT, hub.clock.now())
        if users:
            for username, role, name, contact in USERS:
                create_user(s, username, role, PASSWORD, hub.clock.now(), display_name=name, contact=contact)
    if site_changed:
        hub.site_changed()
    return hub


def load_sample_directory(hub) -> None:
    """The sample directory of services (data/directory/services.yml), as the assistant's tests use it."""
    with hub.sessions() as s, s.begin():
        text = (ROOT / "data" / "directory" / "services.yml").read_text(encoding="utf-8")
        load_directory(s, text, hub.clock.now(), source="services.yml")


def alarm(hub, home="home-0001", device="pendant-1", type="pendant") -> int:
    body = {"event_id": f"c-{next(_ids)}", "type": type, "ts": "2026-11-23T02:14:05Z"}
    result = hub.ingest.process(
        [
            Inbound(
                kind="event",
                topic=f"telecare/v1/{home}/{device}/event",
                payload=orjson.dumps(body),
                home=home,
                device=device,
            )
        ]
    )
    (alert_id,) = result.alerts_opened or result.alerts_changed
    return alert_id


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def log_in(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
