"""``linkage user create`` and ``linkage user password``."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from telecare.audit.models import AuditEntry
from telecare.auth.models import User
from telecare.auth.users import authenticate
from telecare.clock import FakeClock
from telecare.storage import make_engine, make_session_factory


def test_user_create_and_password(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()

    made = runner.invoke(
        main, ["user", "create", "carol", "--role", "staff"], input="a long enough password\na long enough password\n"
    )
    again = runner.invoke(main, ["user", "create", "carol", "--password", "a long enough password"])
    weak = runner.invoke(main, ["user", "create", "dan", "--password", "short"])
    changed = runner.invoke(main, ["user", "password", "carol", "--password", "a brand new password"])

    assert made.exit_code == 0 and "created staff carol" in made.output
    assert again.exit_code == 2 and "already a user" in again.output
    assert weak.exit_code == 2 and "at least 10" in weak.output
    assert changed.exit_code == 0
    engine = make_engine(url)
    with make_session_factory(engine)() as s, s.begin():
        assert authenticate(s, "carol", "a long enough password", FakeClock().now()) is None
        assert authenticate(s, "carol", "a brand new password", FakeClock().now()).role == "staff"
        assert [u.username for u in s.scalars(select(User))] == ["carol"]
        assert [a.action for a in s.scalars(select(AuditEntry))] == ["user.create", "user.password"]
    engine.dispose()
