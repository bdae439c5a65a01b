"""Issue 12, access notes encrypted and kept in one place (telecare/storage/secrets.py): on SQLite
and PostgreSQL, after a site with an access note is loaded (by the API too, so the audit trail
holds the file), an alarm goes out, a contact accepts and the access SMS is handed over with the
code in it, a dump of the whole database (``sqlite3 .dump`` / ``pg_dump``) holds the code
nowhere; the hub and the CLI refuse to start without the key or with a wrong one; rotation
leaves the notes readable with the new key alone; a site export carries the notes only with
``--with-secrets``; migration 0009 encrypts and scrubs what was stored before it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from hub.cli import main
from hub.config import ConfigError, Settings, data_keys
from hub.runtime import HubRuntime, HubStartError
from hub.web.app import create_app
from telecare.audit.models import AuditEntry
from telecare.notification.models import Notification
from telecare.notification.ports import Sent
from telecare.site.loader import SiteError, load_site
from telecare.site.models import Resident
from telecare.site.redaction import redact_site_yaml
from telecare.storage import make_engine, secrets, upgrade

from .console_helpers import alarm, make_runtime
from .hub_fixtures import bearer

SUE = "+447700900201"
CODE = "7391-4628"
SAMPLE_ACCESS = "Key safe by the front door, code given to responders on acceptance"
ACCESS = f"Key safe by the front door, code {CODE}"


def site_with_code(sample_site_text: str) -> str:
    assert SAMPLE_ACCESS in sample_site_text
    return sample_site_text.replace(SAMPLE_ACCESS, ACCESS)


class Recorder:
    """A notifier that keeps what it was handed (what Twilio would have sent)."""

    name = "sandbox"

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send_sms(self, notification_id: int, to: str, body: str) -> Sent:
        self.sent.append((to, body))
        return Sent(f"SM{notification_id:032d}")

    def call(self, notification_id: int, to: str, speech: str) -> Sent:
        self.sent.append((to, speech))
        return Sent(f"CA{notification_id:032d}")


def dump(db_url: str) -> str:
    """Every byte the database holds, as its own dump tool writes it."""
    if db_url.startswith("sqlite"):
        path = db_url.split("sqlite:///", 1)[1]
        return subprocess.run(["sqlite3", path, ".dump"], check=True, capture_output=True, text=True).stdout
    u = urlparse(db_url)
    schema = parse_qs(u.query)["options"][0].split("search_path=", 1)[1]
    return subprocess.run(
        [
            "pg_dump",
            "-h",
            u.hostname or "127.0.0.1",
            "-p",
            str(u.port or 5432),
            "-U",
            u.username or "postgres",
            "-n",
            schema,
            "--data-only",
            "--inserts",
            u.path.lstrip("/"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def raw_access(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT access FROM residents WHERE access IS NOT NULL"))]


def test_after_an_acceptance_the_code_is_nowhere_in_the_database_in_clear(db_url, sample_site_text):
    site_text = site_with_code(sample_site_text)
    hub = make_runtime(db_url, site_text)
    recorder = Recorder()
    hub.dispatcher.notifier = recorder
    try:
        staff = bearer(hub, "control room", "staff")
        with TestClient(create_app(hub)) as c:
            # the site loaded again through the API: the audit trail keeps the file, less the note
            assert (
                c.put("/api/site", content=site_text.replace("Ashvale", "Ashvale Town"), headers=staff).status_code
                == 200
            )
            alert_id = alarm(hub)
            assert hub.dispatcher.run_once() >= 1  # Sue is called
            answer = c.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}, headers=staff)
            assert answer.status_code == 200 and answer.json()["accepted"] is True
            assert hub.dispatcher.run_once() == 1  # the access SMS
            # the positive controls: the SMS carried the code, and Sue (who accepted) reads it
            assert [b for to, b in recorder.sent if to == SUE and CODE in b], recorder.sent
            sue = bearer(hub, "sue-phone", "responder", "sue")
            (mine,) = [n for n in c.get("/api/notifications", headers=sue).json() if n["purpose"] == "access"]
            assert CODE in mine["body"]
            everything = c.get("/api/notifications", headers=staff).json()
            assert not any(CODE in n["body"] for n in everything)
        with hub.sessions() as s:
            (access_sms,) = s.scalars(
                select(Notification).where(Notification.alert_id == alert_id, Notification.purpose == "access")
            ).all()
            assert access_sms.status == "sent" and "[access note]" in access_sms.body
            loads = s.scalars(select(AuditEntry).where(AuditEntry.action == "site.load")).all()
            assert loads and all("'[access note]'" in e.after for e in loads)
            assert s.scalar(select(Resident.access).where(Resident.ext_id == "betty")) == ACCESS
        assert all(v.startswith(secrets.PREFIX) for v in raw_access(hub.engine))
    finally:
        hub.stop()
    whole = dump(db_url)
    assert "Betty" in whole and "residents" in whole  # the dump is the real thing
    assert CODE not in whole and ACCESS not in whole


def test_the_hub_refuses_to_start_without_the_key_or_with_a_wrong_one(db_url, sample_site_text, tmp_path):
    make_runtime(db_url, site_with_code(sample_site_text)).stop()

    secrets.use_keys(None)
    with pytest.raises(HubStartError, match="LINKAGE_DATA_KEY is not set"):
        HubRuntime(Settings(database_url=db_url, data_keys=()), with_mqtt=False)
    with pytest.raises(HubStartError, match="does not decrypt"):
        HubRuntime(Settings(database_url=db_url, data_keys=(secrets.new_key(),)), with_mqtt=False)
    with pytest.raises(ConfigError, match="not a Fernet key"):
        data_keys({"LINKAGE_DATA_KEY": "hunter2"})

    # the CLI: `linkage hub` and the commands that read or write access notes
    site_file = tmp_path / "site.yml"
    site_file.write_text(site_with_code(sample_site_text))
    env = {"DATABASE_URL": db_url, "MQTT_URL": "off", "LINKAGE_DIRECTORY": "off", "LINKAGE_DATA_KEY": ""}
    for args in (["hub"], ["load", str(site_file)], ["site", "export"], ["data-key", "rotate"]):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 2 and "LINKAGE_DATA_KEY is not set" in result.output, (args, result.output)
    wrong = CliRunner().invoke(main, ["load", str(site_file)], env={**env, "LINKAGE_DATA_KEY": secrets.new_key()})
    assert wrong.exit_code == 2 and "does not decrypt" in wrong.output

    # the positive control: the right key starts it
    hub = HubRuntime(Settings(database_url=db_url, data_keys=(data_key_of_test(),)), with_mqtt=False)
    hub.stop()


def data_key_of_test() -> str:
    from .conftest import TEST_DATA_KEY

    return TEST_DATA_KEY


def test_loading_an_access_note_without_a_key_is_refused_with_the_line(sessions, clock, sample_site_text):
    secrets.use_keys(None)
    with sessions() as s, s.begin(), pytest.raises(SiteError) as refused:
        load_site(s, site_with_code(sample_site_text), clock.now())
    (problem,) = refused.value.problems
    assert problem.line == site_with_code(sample_site_text).splitlines().index(f"    access: {ACCESS}") + 1
    assert "LINKAGE_DATA_KEY is not set" in problem.message
    with sessions() as s:
        assert s.scalar(select(Resident.id)) is None  # nothing loaded


def test_rotation_keeps_the_notes_readable_with_the_new_key_alone(db_url, sample_site_text, tmp_path, data_key):
    make_runtime(db_url, site_with_code(sample_site_text)).stop()
    engine = make_engine(db_url)
    before = raw_access(engine)
    key_file = tmp_path / "next.key"
    env = {"DATABASE_URL": db_url, "LINKAGE_DATA_KEY": data_key}
    done = CliRunner().invoke(main, ["data-key", "rotate", "--new-key-file", str(key_file)], env=env)
    assert done.exit_code == 0, done.output
    assert "re-encrypted" in done.output and oct(key_file.stat().st_mode & 0o777) == "0o600"
    new = key_file.read_text().strip()
    after = raw_access(engine)
    assert len(after) == len(before) >= 1 and not set(after) & set(before)

    secrets.use_keys([new])
    hub = HubRuntime(Settings(database_url=db_url, data_keys=(new,)), with_mqtt=False)
    with hub.sessions() as s:
        assert s.scalar(select(Resident.access).where(Resident.ext_id == "betty")) == ACCESS
    hub.stop()
    with pytest.raises(HubStartError, match="does not decrypt"):  # the old key alone no longer reads them
        HubRuntime(Settings(database_url=db_url, data_keys=(data_key,)), with_mqtt=False)
    # during a change both keys may be given, new first
    HubRuntime(Settings(database_url=db_url, data_keys=(new, data_key)), with_mqtt=False).stop()
    # `data-key new` prints a key; rotating without a file prints the new key alone on stdout
    printed = CliRunner().invoke(main, ["data-key", "new"]).stdout.strip()
    secrets.Keyring([printed])
    again = CliRunner().invoke(main, ["data-key", "rotate"], env={**env, "LINKAGE_DATA_KEY": new})
    assert again.exit_code == 0, again.output
    secrets.use_keys([again.stdout.strip()])
    with hub.sessions() as s:
        assert s.scalar(select(Resident.access).where(Resident.ext_id == "betty")) == ACCESS
    engine.dispose()


def test_export_has_the_notes_only_with_secrets_and_says_so(db_url, sample_site_text, tmp_path, data_key):
    make_runtime(db_url, site_with_code(sample_site_text)).stop()
    env = {"DATABASE_URL": db_url, "LINKAGE_DATA_KEY": data_key}
    plain = CliRunner().invoke(main, ["site", "export"], env=env)
    assert plain.exit_code == 0, plain.output
    assert CODE not in plain.stdout and "access: '[access note]'" in plain.stdout
    assert plain.stdout.startswith("# Linkage site export. Access notes (key-safe codes) are NOT in this file")

    out = tmp_path / "with.yml"
    full = CliRunner().invoke(main, ["site", "export", "--with-secrets", "--out", str(out)], env=env)
    assert full.exit_code == 0, full.output
    written = out.read_text()
    assert CODE in written and written.startswith("# Linkage site export WITH ACCESS NOTES")
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    # re-loading the redacted export leaves the note as it was, and changes nothing
    redacted = tmp_path / "plain.yml"
    redacted.write_text(plain.stdout)
    loaded = CliRunner().invoke(main, ["load", str(redacted)], env=env)
    assert loaded.exit_code == 0 and "(nothing changed)" in loaded.output, loaded.output
    hub = HubRuntime(Settings(database_url=db_url), with_mqtt=False)
    with hub.sessions() as s:
        assert s.scalar(select(Resident.access).where(Resident.ext_id == "betty")) == ACCESS
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "site.export")).all()
        assert "--with-secrets" in entry.summary
    hub.stop()


def test_audit_copies_of_site_yaml_lose_the_notes_in_every_style():
    yaml_text = (
        f"residents:\n  - id: a\n    access: {ACCESS}\n    phone: '+447700900201'\n"
        f'  - {{id: b, access: "{CODE}, by the bins", name: B}}\n'
        f"  - id: c\n    access: |\n      line {CODE}\n      two\n    name: C\n"
    )
    out = redact_site_yaml(yaml_text)
    assert CODE not in out and out.count("'[access note]'") == 3 and "+447700900201" in out
    assert CODE not in redact_site_yaml(f"residents: [{{access: {CODE}: broken")


def test_migration_0009_encrypts_and_scrubs_what_was_stored_before(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0008_enquiry_age")
    body = f"Thank you Sue, alert 1 is yours. Betty Smith, 12 Elm Road. Access: {ACCESS}. Please go now."
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO residents (id, ext_id, name, access, timezone) "
                "VALUES (1, 'betty', 'Betty Smith', :a, 'Europe/London')"
            ),
            {"a": ACCESS},
        )
        conn.execute(
            text(
                'INSERT INTO notifications (id, "to", channel, purpose, body, status, created_at) '
                "VALUES (1, :to, 'sms', 'access', :b, 'sent', '2026-11-23 02:00:00')"
            ),
            {"to": SUE, "b": body},
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (id, at, actor, via, action, summary, after) VALUES "
                "(1, '2026-11-23 02:00:00', 'carol', 'api', 'site.load', '', :y)"
            ),
            {"y": f"residents:\n  - id: betty\n    access: {ACCESS}\n"},
        )
    upgrade(engine)
    (stored,) = raw_access(engine)
    assert stored.startswith(secrets.PREFIX) and secrets.decrypt(stored) == ACCESS
    with engine.connect() as conn:
        assert "[access note]" in conn.scalar(text("SELECT body FROM notifications"))
        assert CODE not in conn.scalar(text("SELECT after FROM audit_log"))
    assert CODE not in dump(db_url)
    engine.dispose()


def test_a_plain_note_left_by_a_keyless_migration_is_sealed_when_the_key_comes(sqlite_url):
    secrets.use_keys(None)
    engine = make_engine(sqlite_url)
    upgrade(engine, "0008_enquiry_age")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO residents (id, ext_id, name, access, timezone) "
                "VALUES (1, 'betty', 'Betty Smith', :a, 'Europe/London')"
            ),
            {"a": ACCESS},
        )
    upgrade(engine)
    assert raw_access(engine) == [ACCESS]  # no key: left as it was ...
    with pytest.raises(HubStartError, match="LINKAGE_DATA_KEY is not set"):  # ... and the hub will not start
        HubRuntime(Settings(database_url=sqlite_url, data_keys=()), with_mqtt=False)
    HubRuntime(Settings(database_url=sqlite_url, data_keys=(data_key_of_test(),)), with_mqtt=False).stop()
    (sealed,) = raw_access(engine)
    assert sealed.startswith(secrets.PREFIX)
    engine.dispose()


def test_make_run_keeps_one_key_under_var(tmp_path, monkeypatch):
    import hub.demo as demo

    monkeypatch.setattr(demo, "ROOT", tmp_path)
    key = demo.demo_data_key()
    path = Path(tmp_path / "var" / "data.key")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert demo.demo_data_key() == key
    secrets.Keyring([key])
