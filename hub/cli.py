"""The ``linkage`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from telecare.clock import SystemClock

from . import config


def _engine(*, secrets_checked: bool = False):
    """The database, migrated, with this process's data key (LINKAGE_DATA_KEY). ``secrets_checked``
    (commands that read or write access notes): stop, with the reason, if the key is missing or
    does not decrypt what is stored."""
    from telecare.storage import make_engine, secrets, upgrade

    from .data_key import open_database

    try:
        secrets.use_keys(config.data_keys())
    except config.ConfigError as exc:
        click.echo(f"linkage: {exc}", err=True)
        sys.exit(2)
    engine = make_engine(config.database_url())
    if not secrets_checked:
        upgrade(engine)
        return engine
    try:
        open_database(engine)
    except secrets.DataKeyError as exc:
        engine.dispose()
        click.echo(f"linkage: not done: {exc}", err=True)
        sys.exit(2)
    return engine


def _sessions(*, secrets_checked: bool = False):
    from telecare.storage import make_session_factory

    return make_session_factory(_engine(secrets_checked=secrets_checked))


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

    sessions = _sessions(secrets_checked=True)
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
        click.echo(
            f"{len(new_homes)} new home{'s' if len(new_homes) != 1 else ''}: run `linkage mqtt broker-config "
            "--out DIR` (the same DIR as before) and reload Mosquitto"
        )


@main.group()
def site():
    """The site file: export what is loaded."""


@site.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="write here (else standard output)")
@click.option(
    "--with-secrets",
    is_flag=True,
    help="include the access notes (key-safe codes) in clear; without it each is written as "
    "'[access note]', which a load of the file leaves as it is",
)
def site_export(out, with_secrets):
    """Write the loaded site as YAML in the shape `linkage load` reads."""
    from telecare.audit.service import record
    from telecare.site.export import export_site

    from .data_key import write_key_file

    sessions = _sessions(secrets_checked=True)
    with sessions() as s, s.begin():
        text = export_site(s, with_secrets=with_secrets)
        if with_secrets:  # who took the key-safe codes out, and when
            record(
                s,
                actor=config.operator(),
                role="admin",
                via="cli",
                action="site.export",
                target="site",
                summary="site exported with access notes (--with-secrets)" + (f" to {out}" if out else ""),
                now=SystemClock().now(),
            )
    if out is None:
        click.echo(text, nl=False)
    elif with_secrets:
        write_key_file(out, text.rstrip("\n"))  # mode 0600, like a key
    else:
        out.write_text(text, encoding="utf-8")


@main.group("data-key")
def data_key():
    """LINKAGE_DATA_KEY, the key that encrypts access notes at rest (docs/operations.md)."""


@data_key.command("new")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the key to this file (mode 0600; refused if it exists) instead of printing it",
)
def data_key_new(out):
    """Make a new key (for a new database, or the next key of a rotation)."""
    from telecare.storage.secrets import new_key

    from .data_key import write_key_file

    key = new_key()
    if out is None:
        click.echo(key)
        return
    if out.exists():
        click.echo(f"linkage data-key new: {out} exists; not overwritten", err=True)
        sys.exit(2)
    write_key_file(out, key)
    click.echo(f"new data key written to {out} (mode 0600)")


@data_key.command("rotate")
@click.option(
    "--new-key-file",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the new key: read from this file if it exists (`linkage data-key new --out`), else made and "
    "written there (mode 0600); without it a new key is made and printed",
)
def data_key_rotate(key_file):
    """Re-encrypt every access note with a new key, in one transaction. LINKAGE_DATA_KEY must hold
    the current key (it may also hold the new one: NEW,OLD). Then set LINKAGE_DATA_KEY to the new key."""
    from telecare.audit.service import record
    from telecare.storage import make_session_factory, secrets

    from .data_key import rotate, write_key_file

    engine = _engine(secrets_checked=True)
    if secrets.keyring() is None:
        click.echo("linkage data-key rotate: LINKAGE_DATA_KEY is not set: give the current key", err=True)
        sys.exit(2)
    if key_file is not None and key_file.exists():
        key = key_file.read_text(encoding="ascii").strip()
        try:
            secrets.Keyring([key])
        except secrets.DataKeyError as exc:
            click.echo(f"linkage data-key rotate: {key_file}: {exc}", err=True)
            sys.exit(2)
    else:
        key = secrets.new_key()
        if key_file is not None:
            write_key_file(key_file, key)  # written before anything is re-encrypted with it
        else:
            click.echo(key)  # likewise: the key is out before the change commits
    n = rotate(engine, key)
    with make_session_factory(engine)() as s, s.begin():
        record(
            s,
            actor=config.operator(),
            role="admin",
            via="cli",
            action="data_key.rotate",
            target="data_key",
            summary=f"{n} secret{'s' if n != 1 else ''} re-encrypted with a new data key",
            now=SystemClock().now(),
        )
    click.echo(
        f"{n} secret{'s' if n != 1 else ''} re-encrypted with the new key"
        + (f" (in {key_file})" if key_file else " (printed above)")
        + ": set LINKAGE_DATA_KEY to it, alone, and restart the hub",
        err=key_file is None,
    )


@main.group()
def mqtt():
    """The MQTT broker: per-home credentials, ACLs and TLS."""


@mqtt.command("broker-config")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="directory for mosquitto.conf, passwd, acl, credentials.csv and hub.env",
)
@click.option("--port", type=int, help="the homes' listener  [default: 1883, or 8883 with TLS]")
@click.option("--hub-port", type=int, help="the hub's own listener  [default: --port + 1]")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="the broker's name as the hub reaches it (for hub.env; with TLS, a name in the certificate)",
)
@click.option(
    "--bind", help="address the homes' listener binds  [default: 127.0.0.1 without TLS, every address with TLS]"
)
@click.option("--hub-bind", help="address the hub's listener binds  [default: as --bind]")
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="server certificate (PEM)"
)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="its private key (PEM)")
@click.option(
    "--tls-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the CA that signed it (and client certificates); becomes the hub's MQTT_CA_FILE",
)
@click.option("--require-client-cert", is_flag=True, help="clients must also present a certificate signed by --tls-ca")
@click.option(
    "--run-as",
    help="the user Mosquitto runs as when started by root (`user` in mosquitto.conf); it must own DIR and its files",
)
def mqtt_broker_config(
    out, port, hub_port, host, bind, hub_bind, tls_cert, tls_key, tls_ca, require_client_cert, run_as
):
    """Write a Mosquitto configuration for the loaded site (DATABASE_URL): one user per home that may
    publish only under telecare/v1/{home}/, the hub's own user, TLS if asked. Keeps existing passwords."""
    from .mqtt.broker_config import site_homes, write_broker_config

    homes = site_homes(_sessions())
    try:
        report = write_broker_config(
            out,
            homes,
            port=port,
            hub_port=hub_port,
            host=host,
            bind=bind,
            hub_bind=hub_bind if hub_bind is not None else bind,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_ca=tls_ca,
            require_certificate=require_client_cert,
            run_as=run_as,
        )
    except ValueError as exc:
        click.echo(f"not written: {exc}", err=True)
        sys.exit(2)
    click.echo(report.summary())
    click.echo(
        f"start it with `mosquitto -c {out / 'mosquitto.conf'}` (or reload a running one: kill -HUP); "
        f"give each home unit its line of {out / 'credentials.csv'} (one connection per home: its client id "
        f"is its username); start the hub with the variables in {out / 'hub.env'}"
    )


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff", "responder"]), default="staff", show_default=True)
@click.option("--contact", help="the responder's own contact id from the site file (required for a responder)")
@click.option(
    "--expires",
    default="90d",
    show_default=True,
    help="how long it lasts, like 90d or 12h; 'never' only for an admin token",
)
def token_create(name, role, contact, expires):
    """Print a new API token for NAME (shown once; stored hashed)."""
    from telecare.audit.service import record
    from telecare.auth.tokens import TokenError, create_token, live_named, parse_expiry

    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            if live_named(s, name, now):
                raise TokenError(
                    f"there is already a live token called {name!r}; revoke it first "
                    f"(`linkage token revoke {name}`) or choose another name"
                )
            tok = create_token(s, name, role, now, contact=contact, expires=parse_expiry(expires, role))
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="token.create",
                target=f"token:{name}",
                summary=f"{name} ({role}{', contact ' + contact if contact else ''}, expires {expires})",
                now=now,
            )
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
        click.echo(
            f"{t.name[:24]:<24} {t.role:<10} {(t.contact or '-')[:12]:<12} {t.created_at:%Y-%m-%d %H:%M} "
            f"{(f'{t.expires_at:%Y-%m-%d %H:%M}' if t.expires_at else 'never'):<17} {t.state(now)}"
        )
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
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="token.revoke",
                target=f"token:{name}",
                summary=f"{n} revoked",
                now=now,
            )
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
        click.echo(
            f"{row.name} ({row.role}), expires {row.expires_at:%Y-%m-%d %H:%M}"
            if row.expires_at
            else f"{row.name} ({row.role}), never expires"
        )


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
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="user.create",
                target=f"user:{made.username}",
                summary=f"{made.username} ({made.role})",
                now=now,
            )
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
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="login.unlock",
                target=f"user:{name}" if name else f"address:{address}",
                summary=f"unlocked {key}",
                now=SystemClock().now(),
            )
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
            record(s, actor=config.operator(), via="cli", action="user.password", target=f"user:{name}", now=now)
    except UserError as exc:
        click.echo(f"not changed: {exc}", err=True)
        sys.exit(2)
    click.echo(f"password changed for {name}")


@main.command()
@click.option("--homes", default=100, show_default=True, type=int, help="how many homes send traffic")
@click.option("--rate", default=10.0, show_default=True, type=float, help="messages per second in all")
@click.option("--duration", default=60.0, show_default=True, type=float, help="seconds to run")
@click.option(
    "--register/--no-register",
    default=True,
    show_default=True,
    help="register the simulated homes (sim-NNNNNN) in the database first",
)
@click.option("--alarm-share", default=0.005, show_default=True, type=float)
@click.option("--heartbeats-only", is_flag=True, help="only home-unit heartbeats (load for benchmarks)")
@click.option(
    "--drop-every",
    default=20.0,
    show_default=True,
    type=float,
    help="seconds between home units dropping off with their Last Will (0: never)",
)
@click.option(
    "--credentials",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="credentials.csv from `linkage mqtt broker-config`: each home connects as its own user",
)
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
        sim = Simulator(
            homes=homes,
            rate=rate,
            duration=duration,
            alarm_share=alarm_share,
            progress=None if quiet else sys.stderr,
            heartbeats_only=heartbeats_only,
            drop_every=drop_every,
            credentials=read_credentials(credentials) if credentials else None,
        )
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
            line = (
                f"check-in {c.id} started for {resident}: {'a call' if via == 'voice' else 'an SMS'} to {to}, "
                f"up to {c.attempts_allowed} attempts {c.retry_s // 60} minutes apart"
            )
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
        rows = s.scalars(
            select(Checkin).where(Checkin.resident_id == r.id).order_by(Checkin.due_at.desc()).limit(limit)
        ).all()
        for c in rows:
            tries = ", ".join(f"{a.number}:{a.outcome or 'under way'}" for a in c.attempts)
            click.echo(
                f"{c.id:>6}  {c.due_at.astimezone(tz):%a %d %b %H:%M}  {c.kind:<9} {c.state:<9} "
                f"{(c.outcome or '-'):<11} {'late ' if c.late else ''}[{tries}]"
                + (f"  {c.answered_by}" if c.answered_by and c.answered_by != r.name else "")
                + (f"  ({c.note})" if c.note else "")
            )
        if not rows:
            click.echo(f"no check-ins yet for {r.name}")


@main.command()
@click.option("--port", default=5005, show_default=True, type=int, help="the Rasa server's port")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--hub-url",
    default=lambda: config.hub_url(),
    show_default="LINKAGE_HUB_URL or http://127.0.0.1:8080",
    help="the hub that hosts the actions",
)
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
        click.echo(
            f"warning: no hub answers at {hub_url}; the assistant's actions will fail until it does "
            "(start it with `linkage hub`)",
            err=True,
        )
    from .config import actions_token

    if not actions_token():  # the hub runs actions only for a caller with it: fail closed here too
        click.echo(
            "LINKAGE_ACTIONS_TOKEN is not set: the hub runs the assistant's actions only for a caller "
            "with it. Give `linkage hub` and `linkage assistant` the same value (make run generates one).",
            err=True,
        )
        sys.exit(2)
    try:
        rasa_token, generated = runner.api_token()
    except runner.AssistantError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if generated:  # never printed: the API is for whoever can set the variable
        click.echo(
            "LINKAGE_RASA_TOKEN is unset: Rasa's HTTP API is locked with a random token for this run "
            "(set LINKAGE_RASA_TOKEN to use the API)",
            err=True,
        )
    proc = runner.start_server(
        model,
        port,
        hub_url=hub_url,
        auth_token=rasa_token,
        actions_token=actions_token(),
        log_file=sys.stderr,
        public_base_url=config.public_base_url(),
        host=host,
    )
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    click.echo(
        f"Rasa server starting on http://{host}:{port} (about a minute): REST /webhooks/rest/webhook, "
        f"web chat http://{host}:{port}/webhooks/webchat/",
        err=True,
    )
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


@main.group()
def retention():
    """Remove or blank records older than their retention period (docs/data-protection.md)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="only print what a run would remove or blank")
@click.option("--by", default="cli", show_default=True, help="who is running it (for the record)")
def retention_run(dry_run, by):
    """Apply the retention periods now (the hub also does it daily): prints, per kind of record, the
    cut-off and how many rows are deleted or blanked. No personal data is printed."""
    from telecare.audit.service import record
    from telecare.retention import service as retention_service

    sessions = _sessions()
    now = SystemClock().now()
    with sessions() as s, s.begin():
        p = retention_service.run(s, now, by=by, dry_run=dry_run)
        if not dry_run:
            record(
                s, actor=by, action="retention.run", via="cli", now=now, summary=f"{p.total} rows deleted or blanked"
            )
    click.echo(("dry run, nothing changed: would remove " if dry_run else "removed ") + f"{p.total} rows")
    for line in p.lines():
        click.echo("  " + line)


if __name__ == "__main__":
    main()


@main.group()
def person():
    """Subject access and erasure requests: everything held about one person."""


def _person_target(resident, phone):
    if bool(resident) == bool(phone):
        raise click.UsageError("give exactly one of --resident ID or --phone +44…")


def _masked(phone: str) -> str:
    return "…" + phone[-3:] if phone else ""


@person.command("export")
@click.option("--resident", help="the resident's id in the site file")
@click.option("--phone", help="a phone number: everything held under it (resident, contact, helpline)")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write to FILE (created mode 0600) instead of stdout",
)
def person_export(resident, phone, out):
    """Everything held about a person, as one JSON document (a subject access request). Audited."""
    import json
    import os

    from telecare.audit.service import record
    from telecare.subject.export import build
    from telecare.subject.find import SubjectError, find

    _person_target(resident, phone)
    sessions = _sessions()
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            sub = find(s, resident=resident, phone=phone)
            doc = build(s, sub, now)
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="person.export",
                target=f"resident:{sub.residents[0].id}" if resident else None,
                summary="subject access export "
                + (f"of resident #{sub.residents[0].id}" if resident else f"by phone number ending {_masked(phone)}"),
                now=now,
            )
    except SubjectError as exc:
        click.echo(f"not exported: {exc}", err=True)
        sys.exit(2)
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps no wider mode
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    click.echo(
        f"written to {out} (mode 0600): " + ", ".join(f"{k} {v}" for k, v in doc["counts"].items() if v), err=True
    )


@person.command("erase")
@click.option("--resident", help="the resident's id in the site file")
@click.option("--phone", help="a phone number: the person using it everywhere (resident, contact, helpline)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def person_erase(resident, phone, yes):
    """Remove or irreversibly anonymise a person everywhere (an erasure request). Refused while one of
    their alerts is open or acknowledged. Counts and dashboard figures stay as they were. Audited."""
    from hub import assistant_memory
    from telecare.audit.service import record
    from telecare.subject.erase import check, conversation_ids, erase
    from telecare.subject.find import SubjectError, find

    _person_target(resident, phone)
    sessions = _sessions()
    try:
        with sessions() as s:
            sub = find(s, resident=resident, phone=phone)
            check(s, sub)
            conversations = conversation_ids(s, sub)
            what = (
                f"{len(sub.residents)} resident record(s), {len(sub.contacts)} contact record(s), "
                f"{len(sub.alert_ids)} alert(s), {len(sub.checkin_ids)} check-in(s), "
                f"{len(sub.enquiry_ids)} helpline enquiry(ies)"
            )
    except SubjectError as exc:
        click.echo(f"not erased: {exc}", err=True)
        sys.exit(2)
    if not yes:
        click.confirm(f"Erase {what}? This cannot be undone", abort=True)
    # the assistant first: its conversation ids are erased from the database below
    memory = assistant_memory.clear(conversations, base_url=config.rasa_url(), token=config.rasa_api_token())
    try:
        with sessions() as s, s.begin():
            now = SystemClock().now()
            done = erase(s, resident=resident, phone=phone, now=now)
            record(
                s,
                actor=config.operator(),
                via="cli",
                action="person.erase",
                target=f"resident:{sub.residents[0].id}" if resident else None,
                summary=(
                    f"erased {done.residents} resident(s), {done.contacts} contact(s); rows changed: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(done.rows.items()))
                ),
                now=now,
            )
    except SubjectError as exc:
        click.echo(f"not erased: {exc}", err=True)
        sys.exit(2)
    click.echo(f"erased: {what}")
    for k, v in sorted(done.rows.items()):
        click.echo(f"  {k}: {v} row(s) changed")
    if conversations:
        if memory.unreachable:
            click.echo(
                f"the assistant (Rasa at {config.rasa_url()}) is not running: its memory of "
                f"{len(conversations)} conversation(s) was not cleared here; Rasa keeps conversations in "
                "memory only, so they are gone once it has stopped. If it is in fact running elsewhere, "
                "restart it.",
                err=True,
            )
        elif memory.failed:
            click.echo(
                f"the assistant's memory: {memory.cleared} of {len(conversations)} conversation(s) "
                f"cleared; {memory.failed[0]}. Restart the assistant to clear the rest.",
                err=True,
            )
        else:
            click.echo(f"the assistant's memory of {memory.cleared} conversation(s) cleared")
    if resident:
        click.echo(
            f"now remove '{resident}' from the site file: loading it again would create a new resident "
            "from what the file says",
            err=True,
        )
