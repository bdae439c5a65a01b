"""The ``linkage`` command."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from telecare.clock import SystemClock

from . import config


def _sessions():
    from telecare.storage import make_engine, make_session_factory, upgrade

    engine = make_engine(config.database_url())
    upgrade(engine)
    return make_session_factory(engine)


@click.group()
def main():
    """Linkage: telecare hub, helpline assistant and the service's records."""
    # The domain's subscriptions (telecare.bus), for every command. Imported here, not at the top: the
    # MQTT link's child process (spawned) runs this file's module again, and needs none of the domain
    # (with it, SQLAlchemy and every model: +30 MB RSS in bench memory).
    import telecare.handlers  # noqa: F401


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def hub(host, port):
    """Run ingest, scheduler and web app in one process (DATABASE_URL, MQTT_URL, TWILIO_*)."""
    import uvicorn

    from .config import ConfigError
    from .logging_setup import configure
    from .runtime import HubRuntime, HubStartError
    from .web.app import create_app

    configure()
    try:  # fail closed: a setting it cannot honour, or no broker, stops it here with the reason
        runtime = HubRuntime().start()
    except (ConfigError, HubStartError) as exc:
        click.echo(f"linkage hub: not starting: {exc}", err=True)
        sys.exit(2)
    try:
        uvicorn.run(create_app(runtime), host=host, port=port, log_config=None, access_log=False)
    finally:
        runtime.stop()


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(file: Path):
    """Load or update a site from a YAML file (idempotent)."""
    from telecare.site.loader import SiteError, load_site

    from .mqtt.broker_config import site_homes

    sessions = _sessions()
    text = file.read_text(encoding="utf-8")
    homes_before = set(site_homes(sessions))
    try:
        with sessions() as s, s.begin():
            report = load_site(s, text, SystemClock().now(), source=str(file))
    except SiteError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"loaded {file}: {report.summary()}" + ("" if report.changed else " (nothing changed)"))
    new_homes = set(site_homes(sessions)) - homes_before
    if new_homes:  # each home needs its own broker credentials before its unit can connect
        click.echo(f"{len(new_homes)} new home{'s' if len(new_homes) != 1 else ''}: run `linkage mqtt broker-config "
                   "--out DIR` (the same DIR as before) and reload Mosquitto")


@main.group()
def mqtt():
    """The MQTT broker: per-home credentials, ACLs and TLS."""


@mqtt.command("broker-config")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="directory for mosquitto.conf, passwd, acl, credentials.csv and hub.env")
@click.option("--port", type=int, help="the homes' listener  [default: 1883, or 8883 with TLS]")
@click.option("--hub-port", type=int, help="the hub's own listener  [default: --port + 1]")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the broker's name as the hub reaches it (for hub.env; with TLS, a name in the certificate)")
@click.option("--bind", help="address the homes' listener binds  [default: 127.0.0.1 without TLS, every address with TLS]")
@click.option("--hub-bind", help="address the hub's listener binds  [default: as --bind]")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="server certificate (PEM)")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="its private key (PEM)")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the CA that signed it (and client certificates); becomes the hub's MQTT_CA_FILE")
@click.option("--require-client-cert", is_flag=True, help="clients must also present a certificate signed by --tls-ca")
@click.option("--run-as", help="the user Mosquitto runs as when started by root (`user` in mosquitto.conf); it must "
                               "own DIR and its files")
def mqtt_broker_config(out, port, hub_port, host, bind, hub_bind, tls_cert, tls_key, tls_ca, require_client_cert,
                       run_as):
    """Write a Mosquitto configuration for the loaded site (DATABASE_URL): one user per home that may
    publish only under telecare/v1/{home}/, the hub's own user, TLS if asked. Keeps existing passwords."""
    from .mqtt.broker_config import site_homes, write_broker_config

    homes = site_homes(_sessions())
    try:
        report = write_broker_config(out, homes, port=port, hub_port=hub_port, host=host, bind=bind,
                                     hub_bind=hub_bind if hub_bind is not None else bind, tls_cert=tls_cert,
                                     tls_key=tls_key, tls_ca=tls_ca, require_certificate=require_client_cert,
                                     run_as=run_as)
    except ValueError as exc:
        click.echo(f"not written: {exc}", err=True)
        sys.exit(2)
    click.echo(report.summary())
    click.echo(f"start it with `mosquitto -c {out / 'mosquitto.conf'}` (or reload a running one: kill -HUP); "
               f"give each home unit its line of {out / 'credentials.csv'} (one connection per home: its client id "
               f"is its username); start the hub with the variables in {out / 'hub.env'}")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff", "responder"]), default="staff", show_default=True)
@click.option("--contact", help="the responder's own contact id from the site file (required for a responder)")
@click.option("--expires", default="90d", show_default=True,
              help="how long it lasts, like 90d or 12h; 'never' only for an admin token")
def token_create(name, role, contact, expires):
    """Print a new API token for NAME (shown once; stored hashed)."""
    from telecare.audit.service import record
    from telecare.auth.tokens import TokenError, create_token, live_named, parse_expiry

    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            if live_named(s, name, now):
                raise TokenError(f"there is already a live token called {name!r}; revoke it first "
                                 f"(`linkage token revoke {name}`) or choose another name")
            tok = create_token(s, name, role, now, contact=contact, expires=parse_expiry(expires, role))
            record(s, actor=config.operator(), via="cli", action="token.create", target=f"token:{name}",
                   summary=f"{name} ({role}{', contact ' + contact if contact else ''}, expires {expires})", now=now)
    except TokenError as exc:
        click.echo(f"not created: {exc}", err=True)
        sys.exit(2)
    click.echo(tok)


@token.command("list")
def token_list():
    """Every token: name, role, contact, created, expires, state (never the token itself)."""
    from telecare.auth.tokens import list_tokens

    sessions = _sessions()
    now = SystemClock().now()
    with sessions() as s:
        rows = list_tokens(s)
    click.echo(f"{'NAME':<24} {'ROLE':<10} {'CONTACT':<12} {'CREATED':<17} {'EXPIRES':<17} STATE")
    for t in rows:
        click.echo(f"{t.name[:24]:<24} {t.role:<10} {(t.contact or '-')[:12]:<12} {t.created_at:%Y-%m-%d %H:%M} "
                   f"{(f'{t.expires_at:%Y-%m-%d %H:%M}' if t.expires_at else 'never'):<17} {t.state(now)}")
    if not rows:
        click.echo("(no tokens)")


@token.command("revoke")
@click.argument("name")
def token_revoke(name):
    """Revoke every token called NAME (at once: its next request gets 401)."""
    from telecare.audit.service import record
    from telecare.auth.tokens import revoke

    sessions = _sessions()
    with sessions() as s, s.begin():
        now = SystemClock().now()
        n = revoke(s, name, now)
        if n:
            record(s, actor=config.operator(), via="cli", action="token.revoke", target=f"token:{name}",
                   summary=f"{n} revoked", now=now)
    if not n:
        click.echo(f"there is no token called {name!r} that is not revoked already", err=True)
        sys.exit(2)
    click.echo(f"revoked {n} token{'s' if n > 1 else ''} called {name}")


@token.command("check")
def token_check():
    """Read a token on standard input; exit 0 if it is live (printing its name and role), 1 if not."""
    from telecare.auth.tokens import verify

    tok = sys.stdin.readline().strip()
    sessions = _sessions()
    with sessions() as s:
        row = verify(s, tok, SystemClock().now())
        if row is None:
            click.echo("not valid: unknown, expired or revoked", err=True)
            sys.exit(1)
        click.echo(f"{row.name} ({row.role}), expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at
                   else f"{row.name} ({row.role}), never expires")


@main.group()
def user():
    """Console users (log in at /login)."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff", "responder"]), default="staff", show_default=True)
@click.option("--password", help="the password (prompted for, hidden, when not given)")
@click.option("--display-name", help="the name shown on timelines (default: NAME, or the contact's name)")
@click.option("--contact", help="a responder's own contact id from the site file (required for a responder)")
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
            record(s, actor=config.operator(), via="cli", action="user.create",
                   target=f"user:{made.username}", summary=f"{made.username} ({made.role})", now=now)
    except UserError as exc:
        click.echo(f"not created: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created {role} {name}")


@user.command("unlock")
@click.argument("name", required=False)
@click.option("--address", help="unlock a client address instead (as shown on the console's Users page)")
def user_unlock(name, address):
    """Let a user NAME (or a client --address) locked out by failed logins try again now."""
    from telecare.audit.service import record
    from telecare.auth import throttle

    if bool(name) == bool(address):
        click.echo("give a username or --address ADDRESS", err=True)
        sys.exit(2)
    key = throttle.user_key(name) if name else throttle.addr_key(address)
    sessions = _sessions()
    with sessions() as s, s.begin():
        done = throttle.unlock(s, key)
        if done:
            record(s, actor=config.operator(), via="cli", action="login.unlock",
                   target=f"user:{name}" if name else f"address:{address}", summary=f"unlocked {key}",
                   now=SystemClock().now())
    if not done:
        click.echo(f"{name or address} is not locked", err=True)
        sys.exit(2)
    click.echo(f"unlocked {name or address}")


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
            record(s, actor=config.operator(), via="cli", action="user.password", target=f"user:{name}",
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
@click.option("--credentials", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="credentials.csv from `linkage mqtt broker-config`: each home connects as its own user")
@click.option("--quiet", is_flag=True)
def simulate(homes, rate, duration, register, alarm_share, heartbeats_only, drop_every, credentials, quiet):
    """Send realistic device traffic from N homes over MQTT (MQTT_URL), bounded in time."""
    from .simulate import Simulator

    if register:
        from telecare.site.bulk import register_sim_homes

        sessions = _sessions()
        with sessions() as s, s.begin():
            created = register_sim_homes(s, homes, SystemClock().now())
        if not quiet:
            click.echo(f"registered {created} new simulated homes ({homes} in all)")
    from .simulate import read_credentials

    try:
        sim = Simulator(homes=homes, rate=rate, duration=duration, alarm_share=alarm_share,
                        progress=None if quiet else sys.stderr, heartbeats_only=heartbeats_only, drop_every=drop_every,
                        credentials=read_credentials(credentials) if credentials else None)
    except ValueError as exc:  # ConfigError (plain MQTT off the machine, ...) or missing credentials
        click.echo(f"linkage simulate: {exc}", err=True)
        sys.exit(2)
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
@click.option("--hub-url", default=lambda: config.hub_url(),
              show_default="LINKAGE_HUB_URL or http://127.0.0.1:8080", help="the hub that hosts the actions")
@click.option("--train-only", is_flag=True, help="train if the data changed, then stop")
@click.option("--force-train", is_flag=True, help="train even if a model for this data exists")
def assistant(port, host, hub_url, train_only, force_train):
    """The Rasa assistant (.venv-rasa): trains when its data changed, then serves REST, web chat and Twilio.

    Its custom actions run in the hub (POST /assistant/actions/webhook), on the hub's DATABASE_URL,
    so start `linkage hub` too. LINKAGE_ACTIONS_TOKEN must be set, the same for both.
    Rasa's HTTP API always needs LINKAGE_RASA_TOKEN (a random one for this run when unset) and
    answers only direct local clients; only /webhooks/* and /socket.io/ are for the public.
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
    from .config import actions_token

    if not actions_token():  # the hub runs actions only for a caller with it: fail closed here too
        click.echo("LINKAGE_ACTIONS_TOKEN is not set: the hub runs the assistant's actions only for a caller "
                   "with it. Give `linkage hub` and `linkage assistant` the same value (make run generates one).",
                   err=True)
        sys.exit(2)
    try:
        rasa_token, generated = runner.api_token()
    except runner.AssistantError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if generated:  # never printed: the API is for whoever can set the variable
        click.echo("LINKAGE_RASA_TOKEN is unset: Rasa's HTTP API is locked with a random token for this run "
                   "(set LINKAGE_RASA_TOKEN to use the API)", err=True)
    proc = runner.start_server(model, port, hub_url=hub_url, auth_token=rasa_token,
                               actions_token=actions_token(), log_file=sys.stderr,
                               public_base_url=config.public_base_url(), host=host)
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
