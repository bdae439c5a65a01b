"""Settings from the environment (DESIGN.md): DATABASE_URL, MQTT_URL, TWILIO_*, PUBLIC_BASE_URL.

The hub reads its environment here and nowhere else: ``Settings`` (built once per runtime and
passed down: ``hub.settings``) and a few small typed accessors for what is needed before there
is a runtime (the CLI, logging, the Rasa launcher). Every accessor takes an optional mapping in
place of ``os.environ``. The assistant (the Rasa process) reads its own environment in
``assistant/connectors`` (``setting``).

Everything here fails closed (docs/security.md, "Failing closed"): a setting that cannot be
honoured is a ``ConfigError`` naming the variable, and the hub stops with it rather than
running without (a partial Twilio configuration, plain MQTT off the machine, ...)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from telecare.durations import parse_duration


class ConfigError(ValueError):
    """A setting the hub cannot run with; the message says which variable and what to do."""


class TwilioConfigError(ConfigError):
    """Twilio is half configured: the hub refuses to start rather than drop alerts."""


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """DATABASE_URL (postgres:// and postgresql:// mean psycopg 3), else a SQLite file under
    LINKAGE_VAR (default ``var/``), made if need be."""
    env = _env(environ)
    url = env.get("DATABASE_URL")
    if url:
        # imported here: the MQTT link's child process unpickles MqttSettings from this module, and
        # telecare.storage would bring SQLAlchemy and Alembic into it (+32 MB RSS; bench memory)
        from telecare.storage.engine import normalise_url

        return normalise_url(url)
    var = Path(env.get("LINKAGE_VAR", "var"))
    var.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var / 'linkage.db').resolve()}"


def log_settings(environ: Mapping[str, str] | None = None, *, tty: bool = False) -> tuple[str, str]:
    """(LINKAGE_LOG_LEVEL, default INFO; LINKAGE_LOG_FORMAT, default json, or console on a terminal)."""
    env = _env(environ)
    return env.get("LINKAGE_LOG_LEVEL", "INFO"), env.get("LINKAGE_LOG_FORMAT", "console" if tty else "json")


def operator(environ: Mapping[str, str] | None = None) -> str:
    """Who runs a CLI command, for the audit log: the login name (USER), else "cli"."""
    return _env(environ).get("USER", "cli")


def hub_url(environ: Mapping[str, str] | None = None) -> str:
    """LINKAGE_HUB_URL: where `linkage assistant` finds the hub that hosts its actions."""
    return _env(environ).get("LINKAGE_HUB_URL", "http://127.0.0.1:8080")


def public_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """PUBLIC_BASE_URL: where Twilio and browsers reach us (None when unset)."""
    return _env(environ).get("PUBLIC_BASE_URL") or None


def rasa_path(default: Path, environ: Mapping[str, str] | None = None) -> Path:
    """LINKAGE_RASA: the ``rasa`` command of the assistant's environment (else ``default``)."""
    return Path(_env(environ).get("LINKAGE_RASA") or default)


def rasa_url(environ: Mapping[str, str] | None = None) -> str:
    """LINKAGE_RASA_URL: where the assistant's Rasa server answers (for erasing its conversations)."""
    return _env(environ).get("LINKAGE_RASA_URL", "http://127.0.0.1:5005").rstrip("/")


def rasa_api_token(environ: Mapping[str, str] | None = None) -> str:
    """LINKAGE_RASA_TOKEN: the Rasa server's HTTP API token ("" when unset)."""
    return (_env(environ).get("LINKAGE_RASA_TOKEN") or "").strip()


def data_keys(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """LINKAGE_DATA_KEY: the Fernet key(s) that encrypt access notes at rest, comma-separated, the
    first encrypting and all decrypting (during a rotation: NEW,OLD); or LINKAGE_DATA_KEY_FILE, a
    file holding them (one a line, or comma-separated). Empty: no key (a hub whose database holds
    access notes then refuses to start). A key that is not a Fernet key is a ConfigError."""
    env = _env(environ)
    raw = env.get("LINKAGE_DATA_KEY") or ""
    path = env.get("LINKAGE_DATA_KEY_FILE") or ""
    if raw.strip() and path.strip():
        raise ConfigError("LINKAGE_DATA_KEY and LINKAGE_DATA_KEY_FILE are both set: set one")
    if path.strip():
        try:
            raw = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"LINKAGE_DATA_KEY_FILE names {path}, which cannot be read: {exc}") from None
    keys = tuple(k.strip() for k in raw.replace("\n", ",").split(",") if k.strip())
    if keys:
        from telecare.storage.secrets import DataKeyError, Keyring

        try:
            Keyring(keys)
        except DataKeyError as exc:
            raise ConfigError(str(exc)) from None
    return keys


@dataclass
class TwilioSettings:
    """TWILIO_* and PUBLIC_BASE_URL: the notifier's account, the webhooks' auth token (which
    checks X-Twilio-Signature), and the voice the calls speak in. Whether these make a working
    notifier is ``notifier_choice``'s question."""

    account_sid: str | None = None
    auth_token: str | None = None
    from_number: str | None = None
    public_base_url: str | None = None
    api_base_url: str | None = None  # TWILIO_API_BASE_URL: another host for the REST calls (the tests' mock)
    voice: str = "Polly.Amy"  # TWILIO_VOICE: SSML <prosody> needs a Polly or Google voice
    language: str = "en-GB"  # TWILIO_LANGUAGE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TwilioSettings:
        env = _env(environ)
        return cls(
            env.get("TWILIO_ACCOUNT_SID") or None,
            env.get("TWILIO_AUTH_TOKEN") or None,
            env.get("TWILIO_FROM_NUMBER") or None,
            env.get("PUBLIC_BASE_URL") or None,
            env.get("TWILIO_API_BASE_URL") or None,
            env.get("TWILIO_VOICE", "Polly.Amy"),
            env.get("TWILIO_LANGUAGE", "en-GB"),
        )


@dataclass
class ConsoleSettings:
    """The staff console's sessions: LINKAGE_SESSION_IDLE and LINKAGE_SESSION_MAX (durations; None:
    the defaults in telecare.auth.users), LINKAGE_SECRET_KEY (None: a random key per run, so
    sessions end with a restart), LINKAGE_LOGIN_CONCURRENCY (password checks at once), and
    whether cookies are Secure (PUBLIC_BASE_URL is https://)."""

    idle: timedelta | None = None
    max_age: timedelta | None = None
    secret_key: str | None = None
    login_concurrency: int = 2
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsoleSettings:
        env = _env(environ)
        idle, max_age = env.get("LINKAGE_SESSION_IDLE"), env.get("LINKAGE_SESSION_MAX")
        concurrency = env.get("LINKAGE_LOGIN_CONCURRENCY", "2").strip() or "2"
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 64:
            raise ConfigError(
                "LINKAGE_LOGIN_CONCURRENCY must be a whole number from 1 to 64 "
                "(password checks at once; each takes ~0.2 s and ~64 MiB)"
            )
        return cls(
            idle=timedelta(seconds=parse_duration(idle)) if idle else None,
            max_age=timedelta(seconds=parse_duration(max_age)) if max_age else None,
            secret_key=env.get("LINKAGE_SECRET_KEY") or None,
            login_concurrency=int(concurrency),
            secure_cookies=env.get("PUBLIC_BASE_URL", "").startswith("https://"),
        )


LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
MQTT_OFF = ("off", "none")  # MQTT_URL=off: no MQTT at all (a hub for the assistant only; health says so)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False  # mqtts:// (TLS, default port 8883)
    ca_file: str | None = None  # MQTT_CA_FILE: the CA that signed the broker's certificate (else the system's)
    cert_file: str | None = None  # MQTT_CERT_FILE / MQTT_KEY_FILE: a client certificate, if the broker asks
    key_file: str | None = None
    insecure: bool = False  # LINKAGE_MQTT_INSECURE=1: allow plain mqtt:// to another machine

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        insecure: bool = False,
    ) -> MqttSettings:
        u = urlparse(url if "://" in url else "mqtt://" + url)
        if u.scheme in ("mqtt", "tcp"):
            tls = False
        elif u.scheme in ("mqtts", "ssl", "tls"):
            tls = True
        else:
            raise ConfigError(f"MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883, not {u.scheme}://…")
        try:
            port = u.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ConfigError(f"MQTT_URL has a bad port: {exc}") from None
        for name, path in (("MQTT_CA_FILE", ca_file), ("MQTT_CERT_FILE", cert_file), ("MQTT_KEY_FILE", key_file)):
            if path and not tls:
                raise ConfigError(f"{name} is set but MQTT_URL is not mqtts://: use mqtts://host:8883")
            if path and not os.path.isfile(path):
                raise ConfigError(f"{name} names {path}, which is not a readable file")
        if bool(cert_file) != bool(key_file):
            raise ConfigError("MQTT_CERT_FILE and MQTT_KEY_FILE go together: set both or neither")
        return cls(
            u.hostname or "127.0.0.1",
            port,
            unquote(u.username) if u.username else None,
            unquote(u.password) if u.password else None,
            tls,
            ca_file or None,
            cert_file or None,
            key_file or None,
            insecure,
        )

    @classmethod
    def from_env(cls, environ=None, url: str | None = None) -> MqttSettings:
        env = os.environ if environ is None else environ
        return cls.from_url(
            url or env.get("MQTT_URL") or "mqtt://127.0.0.1:1883",
            ca_file=env.get("MQTT_CA_FILE") or None,
            cert_file=env.get("MQTT_CERT_FILE") or None,
            key_file=env.get("MQTT_KEY_FILE") or None,
            insecure=_flag(env.get("LINKAGE_MQTT_INSECURE")),
        )

    @property
    def url(self) -> str:  # never the password: this goes into logs and /api/health
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check_transport(self) -> None:
        """Plain MQTT only on this machine, unless the operator says otherwise."""
        if not self.tls and not self.loopback and not self.insecure:
            raise ConfigError(
                f"MQTT_URL is plain {self.url} to another machine: credentials and alarms would cross the "
                "network unencrypted. Use mqtts://HOST:8883 with MQTT_CA_FILE (see `linkage mqtt broker-config "
                "--tls-cert ...`), or set LINKAGE_MQTT_INSECURE=1 if the network is private and you accept this."
            )

    def configure(self, client) -> None:
        """Credentials and TLS on a paho client (the hub's link and publisher, the simulator)."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)


def _embedded_broker_from_env() -> bool:
    value = (os.environ.get("LINKAGE_EMBEDDED_BROKER") or "off").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no", "auto"):  # "auto" used to mean on: it is off now (fail closed)
        return False
    raise ConfigError(f"LINKAGE_EMBEDDED_BROKER must be on or off, not {value!r}")


def _mqtt_from_env() -> MqttSettings | None:
    url = (os.environ.get("MQTT_URL") or "mqtt://127.0.0.1:1883").strip()
    return None if url.lower() in MQTT_OFF else MqttSettings.from_env(url=url)


def actions_token(environ=None) -> str | None:
    """LINKAGE_ACTIONS_TOKEN: the shared secret of `linkage hub` and `linkage assistant` (None when unset)."""
    env = os.environ if environ is None else environ
    return (env.get("LINKAGE_ACTIONS_TOKEN") or "").strip() or None


def anonymous_requests_per_hour(environ=None) -> int:
    """LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR (default 30; 0: anonymous conversations queue nothing)."""
    env = os.environ if environ is None else environ
    value = (env.get("LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR") or "30").strip()
    if not value.isdigit() or int(value) > 100_000:
        raise ConfigError(f"LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR must be a whole number from 0 to 100000, not {value!r}")
    return int(value)


SAMPLE_DIRECTORY = Path(__file__).resolve().parents[1] / "data" / "directory" / "services.yml"

TWILIO_ASKS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")  # any of these asks for Twilio
TWILIO_NEEDS = TWILIO_ASKS + ("PUBLIC_BASE_URL",)  # ... and then all of these are needed


def notifier_choice(environ=None) -> str:
    """Which notifier the environment asks for: "sandbox" or "twilio"; a ConfigError for a partial
    Twilio configuration, naming what is missing. LINKAGE_NOTIFIER=sandbox|twilio says it outright
    (sandbox: Twilio variables only verify webhook signatures); auto (the default) means Twilio
    when any of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER is set."""
    env = os.environ if environ is None else environ
    choice = (env.get("LINKAGE_NOTIFIER") or "auto").strip().lower()
    if choice not in ("auto", "sandbox", "twilio"):
        raise TwilioConfigError(f"LINKAGE_NOTIFIER must be auto, sandbox or twilio, not {choice!r}")
    if choice == "sandbox":
        return "sandbox"
    asked = [k for k in TWILIO_ASKS if env.get(k)]
    if choice == "auto" and not asked:
        return "sandbox"
    missing = [k for k in TWILIO_NEEDS if not env.get(k)]
    if missing:
        why = f"{', '.join(asked)} {'is' if len(asked) == 1 else 'are'} set" if asked else "LINKAGE_NOTIFIER=twilio"
        raise TwilioConfigError(
            f"Twilio is half configured ({why}) but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            "not set: no alert could leave the building. Set all of "
            + ", ".join(TWILIO_NEEDS)
            + ", or none of the TWILIO_* ones (or LINKAGE_NOTIFIER=sandbox) for the sandbox notifier."
        )
    return "twilio"


@dataclass
class Settings:
    database_url: str = field(default_factory=database_url)
    # None: MQTT_URL=off, no MQTT at all (HubRuntime then runs without ingest, and says so in /api/health)
    mqtt: MqttSettings | None = field(default_factory=_mqtt_from_env)
    mqtt_client_id: str = field(default_factory=lambda: os.environ.get("LINKAGE_MQTT_CLIENT_ID", "linkage-hub"))
    # the embedded (anonymous, loopback-only) broker, for the demo: only when asked (make run sets it)
    embedded_broker: bool = field(default_factory=_embedded_broker_from_env)
    # how long `linkage hub` waits at start for the broker to answer and accept it before stopping
    mqtt_start_wait: float = field(default_factory=lambda: float(os.environ.get("LINKAGE_MQTT_START_WAIT", "10")))
    supervision_interval: float = field(
        default_factory=lambda: float(os.environ.get("LINKAGE_SUPERVISION_INTERVAL", "15"))
    )
    public_base_url: str | None = field(default_factory=lambda: os.environ.get("PUBLIC_BASE_URL"))
    # the directory of services loaded at start when none is loaded yet ("off": never)
    directory_file: str = field(default_factory=lambda: os.environ.get("LINKAGE_DIRECTORY") or str(SAMPLE_DIRECTORY))
    # "sandbox" or "twilio" (notifier_choice: a partial Twilio configuration is an error here)
    notifier: str = field(default_factory=notifier_choice)
    # LINKAGE_ACTIONS_TOKEN: what the Rasa server presents (Authorization: Bearer) to run the
    # assistant's actions; unset, the hub serves no actions (hub/web/assistant_routes.py)
    actions_token: str | None = field(default_factory=lambda: actions_token())
    # LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR: call-back requests and introductions the assistant may queue
    # for anonymous conversations (no phone proven by Twilio), all of them together, per hour
    anonymous_requests_per_hour: int = field(default_factory=lambda: anonymous_requests_per_hour())
    # TWILIO_*: the notifier's account and the webhooks' auth token (hub/web/twilio_routes.py)
    twilio: TwilioSettings = field(default_factory=TwilioSettings.from_env)
    # LINKAGE_SESSION_*, LINKAGE_SECRET_KEY, LINKAGE_LOGIN_CONCURRENCY: the staff console
    console: ConsoleSettings = field(default_factory=ConsoleSettings.from_env)
    # LINKAGE_DATA_KEY (or _FILE): the keys for access notes at rest (data_keys). None, when a
    # program builds Settings itself: the keys it gave telecare.storage.secrets.use_keys stand
    data_keys: tuple[str, ...] | None = field(default_factory=lambda: data_keys())

    def __post_init__(self):
        if self.mqtt is not None:
            self.mqtt.check_transport()
            if self.embedded_broker and (self.mqtt.tls or not self.mqtt.loopback):
                raise ConfigError(
                    f"LINKAGE_EMBEDDED_BROKER=on needs a plain mqtt:// MQTT_URL on this machine "
                    f"(127.0.0.1), not {self.mqtt.url}: the embedded broker binds loopback only"
                )
