"""The one Twilio signature check (hub/twilio_signature.py), shared by the hub's /twilio routes and
the assistant's signed channels: signed and forged requests, the URL Twilio signed, blank fields,
and that the Rasa environment (Python 3.10, twilio 8) can import it without the hub's web stack."""

from __future__ import annotations

import ast
import subprocess

from twilio.request_validator import RequestValidator

from hub import twilio_signature as sig

from .conftest import ROOT

TOKEN = "test-auth-token-0123456789abcdef"
URL = "https://linkage.example.org/twilio/sms?n=4"
FORM = b"From=%2B447700900201&Body=1&ToCity=&ToState="


def _params():
    return sig.FormParams.from_pairs(sig.form_pairs(FORM, "application/x-www-form-urlencoded; charset=utf-8"))


def test_a_request_twilio_signed_passes_and_a_forged_one_does_not():
    params = _params()
    good = RequestValidator(TOKEN).compute_signature(URL, {k: v[0] for k, v in params.items()})

    assert sig.refusal(TOKEN, URL, params, good) is None
    assert sig.refusal(TOKEN, URL, params, good, "key=k1,algorithm=HMAC_SHA1") is None
    assert sig.refusal(TOKEN, URL.replace("n=4", "n=5"), params, good) == sig.WRONG_SIGNATURE
    assert sig.refusal("another-token", URL, params, good) == sig.WRONG_SIGNATURE
    assert sig.refusal(TOKEN, URL, params, None) == sig.NO_SIGNATURE
    assert sig.refusal(TOKEN, URL, params, "") == sig.NO_SIGNATURE
    assert sig.refusal(None, URL, params, good) == sig.NO_TOKEN
    assert sig.refusal("", URL, params, good) == sig.NO_TOKEN


def test_blank_fields_are_kept_because_twilio_signs_them():
    params = _params()
    assert params.getlist("ToCity") == [""] and params.first("Body") == "1"
    without_blanks = {"From": "+447700900201", "Body": "1"}
    forged = RequestValidator(TOKEN).compute_signature(URL, without_blanks)
    assert sig.refusal(TOKEN, URL, params, forged) == sig.WRONG_SIGNATURE


def test_only_a_utf8_urlencoded_form_has_fields():
    assert sig.form_pairs(FORM, "application/json") == []
    assert sig.form_pairs(b"Body=\xff", None) == []
    assert sig.form_pairs(b"", "application/x-www-form-urlencoded") == []
    assert sig.form_pairs(b"a=1&a=2", "") == [("a", "1"), ("a", "2")]


def test_the_url_is_the_public_base_plus_path_and_query():
    assert sig.public_url("https://h.example.org/", "/twilio/sms", "n=1") == "https://h.example.org/twilio/sms?n=1"
    assert (
        sig.public_url("https://h.example.org/rasa", "/webhooks/twilio_sms/webhook", "")
        == "https://h.example.org/rasa/webhooks/twilio_sms/webhook"
    )
    # a base given as the whole webhook URL is taken as it is
    assert (
        sig.public_url("https://h.example.org/webhooks/twilio_sms/webhook", "/webhooks/twilio_sms/webhook", "")
        == "https://h.example.org/webhooks/twilio_sms/webhook"
    )
    assert (
        sig.public_url(None, "/twilio/sms", "", seen="http://127.0.0.1:8080/twilio/sms")
        == "http://127.0.0.1:8080/twilio/sms"
    )


def test_the_shared_module_imports_only_the_standard_library_and_twilio():
    tree = ast.parse((ROOT / "hub" / "twilio_signature.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"__future__", "inspect", "urllib.parse", "twilio.request_validator"}
    init = ast.parse((ROOT / "hub" / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(init) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_the_rasa_environment_imports_it_and_checks_with_twilio_8():
    py310 = ROOT / ".venv-rasa" / "bin" / "python"
    if not py310.exists():
        return  # the Rasa channels' own tests (tests/assistant/test_channels.py) cover it there
    good = RequestValidator(TOKEN).compute_signature(
        URL, {"From": "+447700900201", "Body": "1", "ToCity": "", "ToState": ""}
    )
    script = (
        "import sys\n"
        "from hub import twilio_signature as s\n"
        f"p = s.FormParams.from_pairs(s.form_pairs({FORM!r}, None))\n"
        f"print(s.refusal({TOKEN!r}, {URL!r}, p, {good!r}), s.refusal({TOKEN!r}, {URL!r}, p, 'x'),\n"
        f"      s.refusal({TOKEN!r}, {URL!r}, p, {good!r}, 'algorithm=HMAC_SHA256'), sep='|')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'sqlalchemy',"
        " 'sanic', 'telecare')))\n"
    )
    out = subprocess.run([str(py310), "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"None|{sig.WRONG_SIGNATURE}|{sig.WRONG_SIGNATURE}", "[]"]
