"""``linkage mqtt broker-config``: a complete Mosquitto 2 configuration for the loaded site.

One set of credentials per home, and an ACL under which a home's credentials may publish only
under ``telecare/v1/{home}/`` (its events, its status and Last Will, its zigbee2mqtt gateway)
and subscribe to nothing; the hub's own user reads ``telecare/v1/#`` and publishes only the
alert topics. Written to DIR:

- ``mosquitto.conf``  two listeners, persistence, ``allow_anonymous false``, the queue limits of
  docs/operations.md, TLS when ``--tls-cert/--tls-key/--tls-ca`` are given;
- ``passwd``          Mosquitto's password file for the homes' listener (PBKDF2-SHA512, ``$7$``, as
  ``mosquitto_passwd`` writes);
- ``passwd-hub``      the same for the hub's listener: only the hub's user;
- ``acl``             the ACL file;
- ``credentials.csv`` ``home,username,password`` for provisioning home units (mode 0600);
- ``hub.env``         the hub's ``MQTT_URL`` (and ``MQTT_CA_FILE``) with its own user (mode 0600).

The homes' listener (``--port``) replaces each client id with the username
(``use_username_as_clientid``), so a home's credentials can never connect as the hub's client id
and take over (or wipe) the hub's persistent session, nor as another home's unit; the hub
connects on a listener of its own (``--hub-port``, default the next port) that knows only the
hub's user. Running it again keeps every password already issued (read back from credentials.csv and
hub.env), adds new homes and drops homes no longer in the site; then reload Mosquitto
(``kill -HUP``) so it rereads the password and ACL files.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

HUB_USER = "linkage.hub"  # a '.' cannot occur in a home id ([A-Za-z0-9_-]), so no home can be called this
HOME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PBKDF2_ITERATIONS = 101  # what mosquitto_passwd (2.0) uses for $7$
MAX_PACKET = 256 * 1024  # events are at most 4 KiB; bigger still reaches the hub's dead letters, huge does not


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A password-file hash in Mosquitto 2's ``$7$`` format: PBKDF2-HMAC-SHA512 over a 12-byte salt."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_mosquitto_hash(password: str, line_hash: str) -> bool:
    try:
        _, seven, iterations, salt, digest = line_hash.split("$")
    except ValueError:
        return False
    return seven == "7" and secrets.compare_digest(
        mosquitto_hash(password, base64.b64decode(salt), int(iterations)), line_hash
    )


def new_password() -> str:
    return secrets.token_urlsafe(24)  # 192 bits; URL-safe, so it sits in MQTT_URL as it is


def home_username(home: str) -> str:
    return home  # one user per home, named as the home (the ACL names each one explicitly)


def read_credentials(path: Path) -> dict[str, tuple[str, str]]:
    """home -> (username, password) from a credentials.csv written before (empty if none)."""
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {
            row["home"]: (row["username"], row["password"])
            for row in csv.DictReader(f)
            if row.get("home") and row.get("username") and row.get("password")
        }


def _read_hub_password(path: Path) -> str | None:
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("MQTT_URL="):
            u = urlparse(line.split("=", 1)[1].strip())
            if u.username and unquote(u.username) == HUB_USER and u.password:
                return unquote(u.password)
    return None


def _write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only (made 0600 before anything is in it)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_shared(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


@dataclass
class BrokerConfigReport:
    out: Path
    homes: int
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    tls: bool = False
    hub_url: str = ""  # without the password
    homes_url: str = ""

    def summary(self) -> str:
        return (
            f"wrote a Mosquitto configuration for {self.homes} home{'' if self.homes == 1 else 's'} to {self.out} "
            f"({len(self.added)} new, {len(self.dropped)} dropped{', TLS' if self.tls else ''}); "
            f"home units connect to {self.homes_url} with their line of credentials.csv; "
            f"the hub connects as {HUB_USER} to {self.hub_url} (MQTT_URL in {self.out / 'hub.env'})"
        )


def acl_text(homes: list[str]) -> str:
    lines = [
        "# Written by `linkage mqtt broker-config`: regenerate it, do not edit it.",
        "# A home's user may publish only under telecare/v1/{home}/ (events, status and its Last Will,",
        "# its zigbee2mqtt gateway), never that home's alert topic, and subscribe to nothing.",
        "# The hub reads everything under telecare/v1/ (also as the shared subscription",
        "# $share/linkage/telecare/v1/#) and publishes only alert state changes.",
        "",
        f"user {HUB_USER}",
        "topic read telecare/v1/#",
        "topic read $share/linkage/telecare/v1/#",
        "topic write telecare/v1/+/alert",
        "",
    ]
    for home in homes:
        lines += [
            f"user {home_username(home)}",
            f"topic deny telecare/v1/{home}/alert",
            f"topic write telecare/v1/{home}/#",
            "",
        ]
    return "\n".join(lines)


def mosquitto_conf(
    out: Path,
    port: int,
    bind: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    require_certificate: bool,
    homes: int,
    run_as: str | None = None,
    hub_port: int | None = None,
    hub_bind: str | None = None,
) -> str:
    d = out.resolve()
    tls = []
    if tls_cert:
        tls = [
            f"certfile {tls_cert.resolve()}",
            f"keyfile {tls_key.resolve()}",
            f"cafile {tls_ca.resolve()}",
            "tls_version tlsv1.2",
            f"require_certificate {'true' if require_certificate else 'false'}",
        ]
    lines = [
        f"# Mosquitto 2 for Linkage, written by `linkage mqtt broker-config` for {homes} "
        f"home{'' if homes == 1 else 's'}.",
        "# Regenerate after loading new homes, then reload Mosquitto (kill -HUP) to reread passwd and acl.",
        "# See docs/operations.md (queue limits) and docs/security.md (MQTT).",
        "# passwd and this directory are readable by their owner only: run Mosquitto as that user",
        "# (chown them to the mosquitto user, or --run-as), never make them world-readable.",
        *([f"user {run_as}"] if run_as else []),
        "# each listener has its own users: the homes' knows only the homes, the hub's only the hub",
        "per_listener_settings true",
        "",
        "# the hub acknowledges only after it commits: let a burst queue at the broker, not be dropped",
        "persistence true",
        f"persistence_location {d}/",
        "autosave_interval 60",
        "max_queued_messages 0",
        "max_inflight_messages 1000",
        f"max_packet_size {MAX_PACKET}",
        "",
        "# the homes: a home's client id is its username, so it cannot take over anyone else's session",
        f"listener {port}" + (f" {bind}" if bind else ""),
        "allow_anonymous false",
        f"password_file {d / 'passwd'}",
        f"acl_file {d / 'acl'}",
        "use_username_as_clientid true",
        *tls,
        "",
        "# the hub's own listener: only the hub's user can log in here (several hubs: one client id each)",
        f"listener {hub_port}" + (f" {hub_bind}" if hub_bind else ""),
        "allow_anonymous false",
        f"password_file {d / 'passwd-hub'}",
        f"acl_file {d / 'acl'}",
        *tls,
    ]
    return "\n".join(lines) + "\n"


def write_broker_config(
    out: Path,
    homes: list[str],
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    bind: str | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
    require_certificate: bool = False,
    run_as: str | None = None,
    hub_port: int | None = None,
    hub_bind: str | None = None,
) -> BrokerConfigReport:
    tls_given = [p for p in (tls_cert, tls_key, tls_ca) if p]
    if tls_given and len(tls_given) != 3:
        raise ValueError("--tls-cert, --tls-key and --tls-ca go together")
    for p in tls_given:
        if not Path(p).is_file():
            raise ValueError(f"{p} is not a file")
    tls = bool(tls_given)
    if require_certificate and not tls:
        raise ValueError("--require-client-cert needs --tls-cert, --tls-key and --tls-ca")
    bad = [h for h in homes if not HOME_ID.fullmatch(h)]
    if bad:
        raise ValueError(f"home ids must match [A-Za-z0-9_-]{{1,64}}: {bad[:5]}")
    port = port or (8883 if tls else 1883)
    hub_port = hub_port or port + 1
    if hub_port == port:
        raise ValueError("--hub-port must differ from --port")
    if bind is None and not tls:
        bind = "127.0.0.1"  # plain MQTT stays on this machine unless asked (--bind)
    if hub_bind is None and not tls:
        hub_bind = "127.0.0.1"
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)

    old = read_credentials(out / "credentials.csv")
    creds: dict[str, tuple[str, str]] = {}
    added = []
    for home in sorted(set(homes)):
        if home in old and old[home][0] == home_username(home):
            creds[home] = old[home]
        else:
            creds[home] = (home_username(home), new_password())
            added.append(home)
    dropped = sorted(set(old) - set(creds))
    hub_password = _read_hub_password(out / "hub.env") or new_password()

    passwd = [f"{user}:{mosquitto_hash(pw)}" for user, pw in creds.values()]
    _write_private(out / "passwd", "\n".join(passwd) + "\n")  # Mosquitto reads it as the same user
    _write_private(out / "passwd-hub", f"{HUB_USER}:{mosquitto_hash(hub_password)}\n")
    _write_shared(out / "acl", acl_text(sorted(creds)))
    _write_shared(
        out / "mosquitto.conf",
        mosquitto_conf(
            out, port, bind, tls_cert, tls_key, tls_ca, require_certificate, len(creds), run_as, hub_port, hub_bind
        ),
    )
    rows = ["home,username,password"] + [f"{h},{u},{p}" for h, (u, p) in sorted(creds.items())]
    _write_private(out / "credentials.csv", "\r\n".join(rows) + "\r\n")
    scheme = "mqtts" if tls else "mqtt"
    url_host = f"[{host}]" if ":" in host else host
    env = [
        "# The hub's broker connection (`linkage mqtt broker-config`); keep this file secret.",
        f"MQTT_URL={scheme}://{quote(HUB_USER)}:{quote(hub_password, safe='')}@{url_host}:{hub_port}",
        f"# home units (and `linkage simulate --credentials`) connect to {scheme}://{url_host}:{port}",
    ]
    if tls:
        env.append(f"MQTT_CA_FILE={Path(tls_ca).resolve()}")
    _write_private(out / "hub.env", "\n".join(env) + "\n")
    return BrokerConfigReport(
        out, len(creds), added, dropped, tls, f"{scheme}://{url_host}:{hub_port}", f"{scheme}://{url_host}:{port}"
    )


def site_homes(sessions) -> list[str]:
    from sqlalchemy import select

    from telecare.site.models import Home

    with sessions() as s:
        return list(s.scalars(select(Home.ext_id).order_by(Home.ext_id)))


def homes_without_credentials(homes: list[str], out: Path) -> list[str]:
    creds = read_credentials(out / "credentials.csv")
    return [h for h in homes if h not in creds]
