"""The ``linkage`` command."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from telecare.clock import SystemClock


def _sessions():
    from telecare.storage import make_engine, make_session_factory, upgrade

    engine = make_engine()
    upgrade(engine)
    return make_session_factory(engine)


@click.group()
def main():
    """Linkage: telecare hub, helpline assistant and the service's records."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def hub(host, port):
    """Run ingest, scheduler and web app in one process (DATABASE_URL, MQTT_URL, TWILIO_*)."""
    import uvicorn

    from .logging_setup import configure
    from .runtime import HubRuntime
    from .web.app import create_app

    configure()
    runtime = HubRuntime().start()
    try:
        uvicorn.run(create_app(runtime), host=host, port=port, log_config=None, access_log=False)
    finally:
        runtime.stop()


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(file: Path):
    """Load or update a site from a YAML file (idempotent)."""
    from telecare.site.loader import SiteError, load_site

    sessions = _sessions()
    text = file.read_text(encoding="utf-8")
    try:
        with sessions() as s, s.begin():
            report = load_site(s, text, SystemClock().now(), source=str(file))
    except SiteError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"loaded {file}: {report.summary()}" + ("" if report.changed else " (nothing changed)"))


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff", "responder"]), default="staff", show_default=True)
def token_create(name, role):
    """Print a new API token for NAME (shown once; stored hashed)."""
    from telecare.auth.tokens import create_token

    sessions = _sessions()
    with sessions() as s, s.begin():
        tok = create_token(s, name, role, SystemClock().now())
    click.echo(tok)


@main.group()
def user():
    """Console users (log in at /login)."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff", "responder"]), default="staff", show_default=True)
@click.option("--password", help="the password (prompted for, hidden, when not given)")
@click.option("--display-name", help="the name shown on timelines (default: NAME, or the contact's name)")
@click.option("--contact", help="a responder's own contact id from the site file (for 'my alerts')")
def user_create(name, role, password, display_name, contact):
    """Make a console user NAME; the password is stored only as an Argon2id hash."""
    from telecare.audit.service import record
    from telecare.auth.users import UserError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            made = create_user(s, name, role, password, now, display_name=display_name, contact=contact)
            record(s, actor=os.environ.get("USER", "cli"), via="cli", action="user.create",
                   target=f"user:{made.username}", summary=f"{made.username} ({made.role})", now=now)
    except UserError as exc:
        click.echo(f"not created: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created {role} {name}")


@user.command("password")
@click.argument("name")
@click.option("--password", help="the new password (prompted for, hidden, when not given)")
def user_password(name, password):
    """Set NAME's password (ends their open console sessions)."""
    from sqlalchemy import select

    from telecare.audit.service import record
    from telecare.auth.models import User
    from telecare.auth.users import UserError, end_all_sessions, set_password

    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            found = s.scalars(select(User).where(User.username == name)).first()
            if found is None:
                raise UserError(f"there is no user {name!r}")
            set_password(s, found, password)
            end_all_sessions(s, found, now)
            record(s, actor=os.environ.get("USER", "cli"), via="cli", action="user.password", target=f"user:{name}",
                   now=now)
    except UserError as exc:
        click.echo(f"not changed: {exc}", err=True)
        sys.exit(2)
    click.echo(f"password changed for {name}")


@main.command()
@click.option("--homes", default=100, show_default=True, type=int, help="how many homes send traffic")
@click.option("--rate", default=10.0, show_default=True, type=float, help="messages per second in all")
@click.option("--duration", default=60.0, show_default=True, type=float, help="seconds to run")
@click.option("--register/--no-register", default=True, show_default=True,
              help="register the simulated homes (sim-NNNNNN) in the database first")
@click.option("--alarm-share", default=0.005, show_default=True, type=float)
@click.option("--heartbeats-only", is_flag=True, help="only home-unit heartbeats (load for benchmarks)")
@click.option("--drop-every", default=20.0, show_default=True, type=float,
              help="seconds between home units dropping off with their Last Will (0: never)")
@click.option("--quiet", is_flag=True)
def simulate(homes, rate, duration, register, alarm_share, heartbeats_only, drop_every, quiet):
    """Send realistic device traffic from N homes over MQTT (MQTT_URL), bounded in time."""
    from .simulate import Simulator

    if register:
        from telecare.site.bulk import register_sim_homes

        sessions = _sessions()
        with sessions() as s, s.begin():
            created = register_sim_homes(s, homes, SystemClock().now())
        if not quiet:
            click.echo(f"registered {created} new simulated homes ({homes} in all)")
    sim = Simulator(homes=homes, rate=rate, duration=duration, alarm_share=alarm_share,
                    progress=None if quiet else sys.stderr, heartbeats_only=heartbeats_only, drop_every=drop_every)
    stats = sim.run()
    click.echo(stats.summary())


@main.group()
def checkin():
    """Daily check-in calls."""


@checkin.command("start")
@click.argument("resident")
@click.option("--by", default="cli", show_default=True, help="who is starting it (for the record)")
def checkin_start(resident, by):
    """Make RESIDENT's check-in call (or SMS) now; the running hub sends it and follows it up."""
    from telecare.checkin.schedule import CheckinError
    from telecare.checkin.service import start_now

    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            c = start_now(s, resident, SystemClock().now(), actor=by)
            via, to = c.via, c.attempts[0].notification.to if c.attempts and c.attempts[0].notification else None
            line = (f"check-in {c.id} started for {resident}: {'a call' if via == 'voice' else 'an SMS'} to {to}, "
                    f"up to {c.attempts_allowed} attempts {c.retry_s // 60} minutes apart")
    except CheckinError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(line)
    click.echo("(queued: the running hub sends it; see GET /api/checkins?resident=" + resident + ")")


@checkin.command("list")
@click.argument("resident")
@click.option("--limit", default=14, show_default=True, type=int)
def checkin_list(resident, limit):
    """RESIDENT's recent check-ins: when, attempts, outcome."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from telecare.checkin.models import Checkin
    from telecare.site.models import Resident

    sessions = _sessions()
    with sessions() as s:
        r = s.scalars(select(Resident).where(Resident.ext_id == resident)).first()
        if r is None:
            click.echo(f"there is no resident {resident!r}", err=True)
            sys.exit(2)
        tz = ZoneInfo(r.timezone or "Europe/London")
        rows = s.scalars(select(Checkin).where(Checkin.resident_id == r.id).order_by(Checkin.due_at.desc())
                         .limit(limit)).all()
        for c in rows:
            tries = ", ".join(f"{a.number}:{a.outcome or 'under way'}" for a in c.attempts)
            click.echo(f"{c.id:>6}  {c.due_at.astimezone(tz):%a %d %b %H:%M}  {c.kind:<9} {c.state:<9} "
                       f"{(c.outcome or '-'):<11} {'late ' if c.late else ''}[{tries}]"
                       + (f"  {c.answered_by}" if c.answered_by and c.answered_by != r.name else "")
                       + (f"  ({c.note})" if c.note else ""))
        if not rows:
            click.echo(f"no check-ins yet for {r.name}")


@main.command()
@click.option("--port", default=5005, show_default=True, type=int, help="the Rasa server's port")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--hub-url", default=lambda: os.environ.get("LINKAGE_HUB_URL", "http://127.0.0.1:8080"),
              show_default="LINKAGE_HUB_URL or http://127.0.0.1:8080", help="the hub that hosts the actions")
@click.option("--train-only", is_flag=True, help="train if the data changed, then stop")
@click.option("--force-train", is_flag=True, help="train even if a model for this data exists")
def assistant(port, host, hub_url, train_only, force_train):
    """The Rasa assistant (.venv-rasa): trains when its data changed, then serves REST, web chat and Twilio.

    Its custom actions run in the hub (POST /assistant/actions/webhook), on the hub's DATABASE_URL,
    so start `linkage hub` too. LINKAGE_ACTIONS_TOKEN, when set, must be the same for both.
    """
    import signal
    import subprocess

    import httpx

    from . import assistant_runner as runner

    try:
        model = runner.ensure_model(force=force_train)
    except runner.AssistantError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"model: {model.relative_to(runner.ROOT)}")
    if train_only:
        return
    try:
        httpx.get(hub_url.rstrip("/") + "/api/health", timeout=3)
    except httpx.HTTPError:
        click.echo(f"warning: no hub answers at {hub_url}; the assistant's actions will fail until it does "
                   "(start it with `linkage hub`)", err=True)
    proc = runner.start_server(model, port, hub_url=hub_url, auth_token=os.environ.get("LINKAGE_RASA_TOKEN"),
                               actions_token=os.environ.get("LINKAGE_ACTIONS_TOKEN", ""), log_file=sys.stderr,
                               public_base_url=os.environ.get("PUBLIC_BASE_URL"), host=host)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    click.echo(f"Rasa server starting on http://{host}:{port} (about a minute): REST /webhooks/rest/webhook, "
               f"web chat http://{host}:{port}/webhooks/webchat/", err=True)
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@main.group()
def directory():
    """The directory of services the assistant signposts to."""


@directory.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def directory_load(file: Path):
    """Load or update the directory from a YAML file (the whole directory; idempotent)."""
    from telecare.directory.loader import DirectoryError

    from .directory_file import load_file

    try:
        report = load_file(_sessions(), file, SystemClock())
    except DirectoryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"loaded {file}: {report.summary()}" + ("" if report.changed else " (nothing changed)"))


if __name__ == "__main__":
    main()
