"""Running the Rasa assistant from the main environment: train when its data changed, serve it.

Rasa 3.6 lives in its own Python 3.10 environment (``.venv-rasa``); this module only starts
its ``rasa`` command. A model is named after a fingerprint of everything training reads
(config, domain, NLU data, rules, stories), so ``ensure_model`` trains only when one of
those changed and a second caller (``make test`` and ``make run`` at once) waits on a lock
rather than training twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .config import rasa_api_token, rasa_path

ROOT = Path(__file__).resolve().parent.parent
RASA_VENV = ROOT / ".venv-rasa"
MODELS = ROOT / "models"
DOMAIN = "assistant/domain"
TRAINING_DATA = ("data/nlu", "data/rules", "data/stories")
CONFIG = "config.yml"
CREDENTIALS = "assistant/credentials.yml"
ENDPOINTS = "assistant/endpoints.yml"

log = logging.getLogger("linkage.assistant")


class AssistantError(RuntimeError):
    pass


def rasa_bin() -> Path:
    path = rasa_path(RASA_VENV / "bin" / "rasa")
    if not path.exists():
        raise AssistantError(f"Rasa is not installed at {path}: run `make assistant-env` (Python 3.10 venv .venv-rasa)")
    return path


# Sanic (Rasa's web server) reads SANIC_* from the environment. A chat message is cut at 1,000
# characters and a Twilio webhook is a small form, so 64 KiB is plenty for any request or
# WebSocket frame; the access log is off because its lines would carry conversation ids (phone
# numbers) and the API token (Rasa takes it in the query string).
SANIC_DEFAULTS = {
    "SANIC_REQUEST_MAX_SIZE": str(64 * 1024),
    "SANIC_WEBSOCKET_MAX_SIZE": str(64 * 1024),
    "SANIC_ACCESS_LOG": "False",
}
TOKEN_ENV = "LINKAGE_RASA_TOKEN"
MIN_TOKEN_CHARS = 16


def rasa_env(**extra: str) -> dict[str, str]:
    """The environment for the ``rasa`` command: no telemetry (no internet), quiet TensorFlow,
    Sanic's request size capped (an operator's own SANIC_* values win)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONHASHSEED="0",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    for key, value in SANIC_DEFAULTS.items():
        env.setdefault(key, value)
    env.update(extra)
    return env


def api_token(environ=None) -> tuple[str, bool]:
    """(the Rasa HTTP API's token, whether it was generated now): ``LINKAGE_RASA_TOKEN``, else a
    fresh random one, so the API is never open. A token shorter than 16 characters is refused."""
    token = rasa_api_token(environ)
    if not token:
        return secrets.token_urlsafe(32), True
    if len(token) < MIN_TOKEN_CHARS:
        raise AssistantError(
            f"{TOKEN_ENV} is too short ({len(token)} characters): use at least "
            f"{MIN_TOKEN_CHARS} random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token, False


def training_inputs(root: Path = ROOT) -> list[Path]:
    files = [root / CONFIG]
    for part in (DOMAIN, *TRAINING_DATA):
        base = root / part
        files += sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
    return files


def fingerprint(root: Path = ROOT) -> str:
    h = hashlib.sha256()
    for path in training_inputs(root):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def model_path(root: Path = ROOT) -> Path:
    return MODELS / f"linkage-{fingerprint(root)}.tar.gz"


def train_command(out: Path, name: str) -> list[str]:
    return [
        str(rasa_bin()),
        "train",
        "--config",
        CONFIG,
        "--domain",
        DOMAIN,
        "--data",
        *TRAINING_DATA,
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]


def ensure_model(*, force: bool = False, quiet: bool = False) -> Path:
    """The trained model for the current data, training it first if there is none."""
    target = model_path()
    if target.exists() and not force:
        return target
    MODELS.mkdir(exist_ok=True)
    with open(MODELS / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be training the same data
        if target.exists() and not force:
            return target
        started = time.monotonic()
        tmp = MODELS / f".training-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        name = target.name.removesuffix(".tar.gz")
        if not quiet:
            print(f"training the assistant ({name}); this takes a minute or two", file=sys.stderr, flush=True)
        out = subprocess.run(train_command(tmp, name), cwd=ROOT, env=rasa_env(), capture_output=True, text=True)
        if out.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise AssistantError(f"rasa train failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
        os.replace(tmp / target.name, target)
        shutil.rmtree(tmp, ignore_errors=True)
        for old in MODELS.glob("linkage-*.tar.gz"):  # keep the newest few
            if old != target and old.stat().st_mtime < time.time() - 3600 and len(list(MODELS.glob("linkage-*"))) > 3:
                old.unlink(missing_ok=True)
        log.info("trained %s in %.1f s", target.name, time.monotonic() - started)
        if not quiet:
            print(f"trained {target.name} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        return target


# Rasa's CLI takes the API token only as --auth-token; the launcher adds it from the environment
# inside the Rasa process so that it never shows in a process listing (ps, /proc/*/cmdline).
LAUNCHER = (
    "import os, sys\n"
    "token = os.environ.pop('LINKAGE_RASA_TOKEN', '')\n"
    "if not token:\n"
    "    sys.exit('LINKAGE_RASA_TOKEN is not set: the Rasa server never runs its HTTP API without a token')\n"
    "sys.argv = ['rasa'] + sys.argv[1:] + ['--auth-token', token]\n"
    "from rasa.__main__ import main\n"
    "sys.exit(main())\n"
)


def server_command(model: Path, port: int, *, host: str = "127.0.0.1") -> list[str]:
    """``rasa run`` with the HTTP API on (it is how staff tools and the tests read a tracker),
    its token added by ``LAUNCHER`` from ``LINKAGE_RASA_TOKEN`` (``server_env``), and no CORS:
    the web chat page is served by this same server, so it needs none, and no other site may
    call the API from a browser. Bound to loopback unless asked otherwise; even then the API
    answers only direct local clients (``assistant/connectors/__init__.py``, ``api_guard``)."""
    python = rasa_bin().parent / "python"
    return [
        str(python),
        "-c",
        LAUNCHER,
        "run",
        "--model",
        str(model),
        "--port",
        str(port),
        "--interface",
        host,
        "--credentials",
        CREDENTIALS,
        "--endpoints",
        ENDPOINTS,
        "--enable-api",
    ]


def server_env(
    *, hub_url: str, actions_token: str, auth_token: str, public_base_url: str | None = None, **extra: str
) -> dict[str, str]:
    """What assistant/endpoints.yml and credentials.yml read (where the hub's actions are, the
    Twilio secrets) and the API token for ``LAUNCHER``."""
    if not auth_token or len(auth_token) < MIN_TOKEN_CHARS:
        raise AssistantError(
            f"the Rasa server needs an API token of at least {MIN_TOKEN_CHARS} characters "
            f"({TOKEN_ENV}); it never runs its HTTP API without one"
        )
    env = rasa_env(**extra)
    env["LINKAGE_ACTIONS_URL"] = hub_url.rstrip("/") + "/assistant/actions/webhook"
    env["LINKAGE_ACTIONS_TOKEN"] = actions_token
    env[TOKEN_ENV] = auth_token
    env.setdefault("TWILIO_AUTH_TOKEN", "")  # rasa_env passed ours on; the channels refuse every request without one
    if public_base_url:
        env["PUBLIC_BASE_URL"] = public_base_url
    env.setdefault("PUBLIC_BASE_URL", "")
    return env


def start_server(
    model: Path,
    port: int,
    *,
    hub_url: str,
    actions_token: str,
    auth_token: str,
    log_file=None,
    host: str = "127.0.0.1",
    public_base_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    env = server_env(
        hub_url=hub_url,
        actions_token=actions_token,
        auth_token=auth_token,
        public_base_url=public_base_url,
        **(extra_env or {}),
    )
    return subprocess.Popen(
        server_command(model, port, host=host),
        cwd=ROOT,
        env=env,
        stdout=log_file or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 240.0) -> float:
    """Seconds until the server answers /status with a model loaded (Rasa takes ~50 s)."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise AssistantError(f"the Rasa server exited with {proc.returncode}")
        try:
            r = httpx.get(url.rstrip("/") + "/", timeout=2)
            if r.status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssistantError(f"the Rasa server at {url} was not ready after {timeout:.0f} s")
