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


if __name__ == "__main__":
    main()
