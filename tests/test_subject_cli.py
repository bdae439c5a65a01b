"""``linkage person export`` and ``linkage person erase`` (issue 12), on a SQLite file."""

from __future__ import annotations

import json
import socket
import stat

from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from telecare.alert.models import Alert
from telecare.audit.models import AuditEntry
from telecare.clock import FakeClock
from telecare.enquiry import service as enquiries
from telecare.site.loader import load_site
from telecare.site.models import Resident
from telecare.storage import make_engine, make_session_factory, upgrade


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_person_export_and_erase(tmp_path, monkeypatch, sample_site_text):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LINKAGE_RASA_URL", f"http://127.0.0.1:{_closed_port()}")  # the assistant is not running
    monkeypatch.setenv("LINKAGE_RASA_TOKEN", "t")
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = FakeClock().now()
    with sessions() as s, s.begin():
        load_site(s, sample_site_text, now)
        rid = s.scalar(select(Resident.id).where(Resident.ext_id == "betty"))
        enquiries.start(
            s,
            channel="sms",
            conversation_id="sms:+447700900001",
            phone="+447700900001",
            resident_id=rid,
            now=now,
            first_message="hello",
        )
    runner = CliRunner()

    out = tmp_path / "betty.json"
    made = runner.invoke(main, ["person", "export", "--resident", "betty", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["residents"][0]["name"] == "Betty Smith"
    to_stdout = runner.invoke(main, ["person", "export", "--phone", "07700 900001"])
    assert to_stdout.exit_code == 0 and json.loads(to_stdout.stdout)["enquiries"][0]["first_message"] == "hello"
    both = runner.invoke(main, ["person", "export", "--resident", "betty", "--phone", "+447700900001"])
    assert both.exit_code == 2

    with sessions() as s, s.begin():  # an open alert: refused, nothing changed
        home_id = s.get(Resident, rid).homes[0].id
        s.add(
            Alert(
                category="alarm",
                resident_id=rid,
                home_id=home_id,
                type="fall",
                priority="P1",
                state="open",
                opened_at=now,
            )
        )
    refused = runner.invoke(main, ["person", "erase", "--resident", "betty", "--yes"])
    assert refused.exit_code == 2 and "still active" in refused.output
    with sessions() as s, s.begin():
        s.execute(Alert.__table__.update().values(state="resolved", outcome="no_injury", resolved_at=now))
    asked = runner.invoke(main, ["person", "erase", "--resident", "betty"], input="n\n")
    assert asked.exit_code != 0
    done = runner.invoke(main, ["person", "erase", "--resident", "betty", "--yes"])
    assert done.exit_code == 0, done.output
    assert "not running" in done.output and "remove 'betty' from the site file" in done.output
    with sessions() as s:
        assert s.get(Resident, rid).name == "erased"
        audit = {a.action: a for a in s.scalars(select(AuditEntry))}
        assert set(audit) >= {"person.export", "person.erase"}
        for a in audit.values():
            assert "Betty" not in (a.summary or "") and "900001" not in (a.summary or "")
    engine.dispose()
