"""Schemathesis against the running hub (issue 10: "Schemathesis finds no 5xx").

A hub with the sample site (and a few alerts, so ids exist) is served by uvicorn on a loopback
port in this process; Schemathesis's own CLI (`schemathesis run …/openapi.json`, from PyPI, in
the test extra) runs in a subprocess with an admin token, a bounded number of examples per
operation and the `not_a_server_error` check, through its coverage, fuzzing and stateful phases.
Any 5xx fails the test (the one documented 5xx, /api/health's 503 "degraded" — this hub's
scheduler is not running — is allowed for that operation only). The counts it printed are shown
with `pytest -s` and on failure.

LINKAGE_SCHEMATHESIS_EXAMPLES (default 25) and LINKAGE_SCHEMATHESIS_SEED (default 1) change
the run; the default takes about 20-40 s on 2 cores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from telecare.auth.tokens import create_token

from ..console_helpers import alarm, make_runtime
from ..served import Served

EXAMPLES = int(os.environ.get("LINKAGE_SCHEMATHESIS_EXAMPLES", "25"))
SEED = os.environ.get("LINKAGE_SCHEMATHESIS_SEED", "1")
CONFIG = """\
[[operations]]
include-path = "/api/health"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]
"""


def _cli() -> str:
    found = Path(sys.executable).with_name("schemathesis")
    if found.exists():
        return str(found)
    which = shutil.which("schemathesis")
    if which is None:
        pytest.fail("schemathesis is not installed: it is in the test extra (pip install -e '.[test]')")
    return which


def counts(output: str) -> dict[str, int]:
    """Operations, test cases and failures from Schemathesis's summary."""
    out = {"operations": 0, "examples": 0, "passed": 0, "failures": 0}
    if m := re.search(r"Operations:\s+(\d+) selected / (\d+) total", output):
        out["operations"] = int(m.group(1))
    if m := re.search(r"Test cases:\s*\n\s*(\d+) generated(?:, (\d+) passed)?", output):
        out["examples"] = int(m.group(1))
        out["passed"] = int(m.group(2) or 0)
    if m := re.search(r"(\d+) found (\d+) unique failures", output):
        out["failures"] = int(m.group(2))
    out["server_errors"] = sum(int(n) for n in re.findall(r"Server error: (\d+)", output))
    return out


def test_schemathesis_finds_no_server_error(tmp_path, sample_site_text):
    hub = make_runtime(f"sqlite:///{tmp_path / 'schemathesis.db'}", sample_site_text)
    for home, device, kind in (("home-0001", "pendant-1", "pendant"), ("home-0002", "pendant-1", "pendant")):
        alarm(hub, home=home, device=device, type=kind)
    with hub.sessions() as s, s.begin():
        token = create_token(s, "schemathesis", "admin", hub.clock.now())
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    try:
        with Served(hub) as served:
            run = subprocess.run(
                [
                    _cli(),
                    "--no-color",
                    "--config-file",
                    str(config),
                    "run",
                    f"{served.url}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error",
                    "--max-examples",
                    str(EXAMPLES),
                    "--seed",
                    SEED,
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                    "--output-sanitize",
                    "true",
                    "--report",
                    "junit",
                    "--report-dir",
                    str(tmp_path / "report"),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                cwd=tmp_path,
                env={**os.environ, "NO_COLOR": "1"},
            )
    finally:
        hub.stop()
    output = run.stdout + run.stderr
    found = counts(output)
    summary = output[output.rfind("\n", 0, output.find("SUMMARY")) + 1 :] if "SUMMARY" in output else output[-3000:]
    print(
        f"\nSchemathesis: {found['operations']} operations, {found['examples']} examples "
        f"({EXAMPLES} per operation and phase, seed {SEED}), {found['failures']} failures"
    )
    print(summary)
    assert found["operations"] >= 30, output[-5000:]  # the whole API was tested, not an empty schema
    assert found["examples"] >= found["operations"] * 10, output[-5000:]
    assert found["server_errors"] == 0 and found["failures"] == 0, output[-8000:]
    assert run.returncode == 0, output[-8000:]
