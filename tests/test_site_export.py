"""The site exporter round-trips: export, load, and nothing changes; snippets edit one item."""

from __future__ import annotations

import pytest
import yaml

from telecare.site.editing import apply_snippet
from telecare.site.export import export_items, export_site
from telecare.site.loader import SiteError, load_site

EXTRA = """\
contacts:
  - {id: nophone, name: No Phone, role: friend, email: np@example.org}
teams:
  - id: nights
    name: Night Team
    timezone: Europe/Dublin
    rota:
      - {contact: rhys, days: [fri, sat], from: "22:00", to: "06:00"}
policies:
  - id: windowed
    for: []
    attend_within: 1h30m
    steps:
      - {notify: ["contact:nophone", console], via: [sms, console], ack_within: 90s,
         window: {days: weekends, from: "08:00", to: "24:00"}}
      - {notify: ["team:nights"], via: [voice]}
residents:
  - id: cyril
    name: Cyril Cole
    timezone: Europe/Dublin
    contacts: [nophone, sue]
    policy: windowed
    home:
      id: home-0009
      devices:
        - {id: unit-1, kind: home_unit, heartbeat: 1h, grace: 10m}
        - {id: bed-1, kind: bed_sensor, watch: {from: "21:30", to: "08:00", absence: 45m}}
    checkin: {at: "09:30", days: [mon, wed, fri], via: sms, attempts: 2, retry: 5m}
"""


def test_export_then_load_changes_nothing(site, clock):
    with site() as s, s.begin():
        load_site(s, EXTRA, clock.now())
    with site() as s:
        text = export_site(s)

    with site() as s, s.begin():
        report = load_site(s, text, clock.now(), source="export")

    assert not report.changed, report.summary()
    data = yaml.safe_load(text)
    assert [c["id"] for c in data["contacts"]][-1] == "nophone"
    assert {r["id"] for r in data["residents"]} == {"betty", "cyril"}
    cyril = next(r for r in data["residents"] if r["id"] == "cyril")
    assert cyril["checkin"]["retry"] == "5m" and cyril["checkin"]["days"] == ["mon", "wed", "fri"]
    assert cyril["home"]["devices"][0] == {"id": "unit-1", "kind": "home_unit", "heartbeat": "1h", "grace": "10m"}


def test_export_of_the_sample_loads_into_an_empty_database_as_the_same_site(site, sessions, clock, tmp_path):
    """With --with-secrets (moving a site to another database), access notes included."""
    from telecare.storage import make_engine, make_session_factory, upgrade

    with site() as s:
        text = export_site(s, with_secrets=True)
    assert "Key safe by the front door" in text
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    fresh = make_session_factory(other)
    with fresh() as s, s.begin():
        load_site(s, text, clock.now())
    with fresh() as s:
        assert export_site(s, with_secrets=True) == text
    other.dispose()


def test_snippet_edits_one_policy_and_reports_before_and_after(site, clock):
    with site() as s:
        text = export_items(s, "policies", ["urgent"])
    edited = text.replace("ack_within: 2m", "ack_within: 1m")

    with site() as s, s.begin():
        edit = apply_snippet(s, "policies", edited, clock.now(), ext_id="urgent")

    assert edit.report.changed
    assert "ack_within: 2m" in edit.before and "ack_within: 1m" in edit.after
    with site() as s:
        assert "ack_within: 1m" in export_items(s, "policies", ["urgent"])


@pytest.mark.parametrize(
    "text,message",
    [
        ("policies:\n  - id: other\n    steps: [{notify: [console], via: [console]}]\n", "edits policy 'urgent' only"),
        ("teams: []\n", "edits policies only"),
        ("policies:\n  - id: urgent\n    steps:\n      - {notify: [console], via: [fax]}\n", "line 4"),
    ],
)
def test_snippet_refused_whole(site, clock, text, message):
    with site() as s, s.begin(), pytest.raises(SiteError) as err:
        apply_snippet(s, "policies", text, clock.now(), ext_id="urgent")

    assert message in str(err.value)
    with site() as s:
        assert "ack_within: 2m" in export_items(s, "policies", ["urgent"])
