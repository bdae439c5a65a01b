"""Issue 10, attack 9 and the HTTP side of "Limits": request bodies capped on every route (413,
with or without Content-Length), ids outside the database's integer range are 404s (not 500s),
hand-written 422s in the documented list shape, errors declared in the OpenAPI document, and
/docs and /redoc working with no network beyond the hub.

Against a real uvicorn on a loopback port (tests/served.py) serving a hub with the sample site
(tests/console_helpers.make_runtime), on SQLite and on PostgreSQL for the id checks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from twilio.request_validator import RequestValidator

from hub.web.limits import DEFAULT_LIMIT, KIB, LIMITS, MIB, limit_for
from telecare.auth.tokens import create_token

from ..console_helpers import alarm, csrf_of, log_in, make_runtime
from ..served import Served

BIG_IDS = (2**63, 2**64, 10**30)
ACTIONS_TOKEN = "limits-test-actions-token"
TWILIO_TOKEN = "limits-test-twilio-auth-token"


@pytest.fixture
def hub_options():
    """The shared hub and ``served`` (tests/hub_fixtures.py), with the assistant's actions on."""
    return {"settings": {"actions_token": ACTIONS_TOKEN}}


@pytest.fixture
def sqlite_served(tmp_path, sample_site_text):
    hub = make_runtime(f"sqlite:///{tmp_path / 'limits.db'}", sample_site_text)
    hub.settings.actions_token = ACTIONS_TOKEN
    with Served(hub) as s:
        yield s
    hub.stop()


def admin_headers(served) -> dict[str, str]:
    hub = served.hub
    with hub.sessions() as s, s.begin():
        return {"Authorization": f"Bearer {create_token(s, 'limits-admin', 'admin', hub.clock.now())}"}


def chunks(data: bytes, size: int = 16 * KIB):
    """``data`` sent with Transfer-Encoding: chunked (httpx sends no Content-Length for a generator)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _is_json_413(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text[:300]
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body"] and error["type"] == "body_too_large"
    assert str(limit) in error["msg"]


def _is_page_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "Too large" in response.text


# -- the table ----------------------------------------------------------------------------------------------
def test_the_caps_table():
    assert DEFAULT_LIMIT == 64 * KIB
    assert limit_for("POST", "/api/alerts/1/resolve") == 64 * KIB
    assert limit_for("POST", "/twilio/sms") == 64 * KIB
    assert limit_for("POST", "/assistant/actions/webhook") == 1 * MIB
    assert limit_for("PUT", "/api/site") == 2 * MIB
    assert limit_for("GET", "/api/site") == DEFAULT_LIMIT  # only the upload gets the bigger cap
    assert limit_for("POST", "/console/site/import") == 2 * MIB
    assert limit_for("POST", "/console/directory/import") == 2 * MIB
    assert limit_for("POST", "/login") == DEFAULT_LIMIT
    assert all(cap <= 2 * MIB for _, _, cap in LIMITS)


# -- dependencies: the lock file pins everything pyproject.toml asks for, above the advisory floors ------------
def test_the_lock_file_pins_every_dependency_within_its_bounds():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pins = {
        canonicalize_name(m.group(1)): m.group(2)
        for m in re.finditer(
            r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", (root / "requirements.lock").read_text(), re.M
        )
    }
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    stale = [
        str(r)
        for r in wanted
        if canonicalize_name(r.name) not in pins
        or not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not stale, f"requirements.lock is out of step with pyproject.toml for {stale}: run `make lock`"
    for name, floor in (
        ("starlette", "0.40"),
        ("python-multipart", "0.0.18"),
        ("orjson", "3.9.15"),
        ("jinja2", "3.1.5"),
        ("h11", "0.16"),
    ):
        assert Requirement(f"{name}>={floor}").specifier.contains(pins[name]), (name, pins[name])


# -- 413: with Content-Length (refused before reading) and chunked (counted while read) -------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_api_body_is_413(sqlite_served, chunked):
    headers = {**admin_headers(sqlite_served), "Content-Type": "application/json"}
    alert_id = alarm(sqlite_served.hub)
    body = b'{"outcome": "false_alarm", "detail": "' + b"x" * (100 * KIB) + b'"}'
    with httpx.Client(base_url=sqlite_served.url, timeout=30) as c:
        r = c.post(f"/api/alerts/{alert_id}/resolve", headers=headers, content=chunks(body) if chunked else body)
        _is_json_413(r, 64 * KIB)
        assert c.get(f"/api/alerts/{alert_id}", headers=headers).json()["state"] == "open"  # nothing was done
        # positive control: the same request at a sensible size works
        ok = c.post(
            f"/api/alerts/{alert_id}/resolve",
            headers=headers,
            json={"outcome": "false_alarm", "detail": "pressed by mistake"},
        )
        assert ok.status_code == 200 and ok.json()["state"] == "resolved"


def test_a_promised_body_that_never_comes_is_refused_without_waiting_for_it(sqlite_served):
    import socket

    with socket.create_connection(("127.0.0.1", sqlite_served.port), timeout=20) as sock:
        sock.sendall(
            f"POST /api/alerts/1/resolve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {200 * KIB}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_an_oversized_site_upload_is_413_and_a_large_one_loads(sqlite_served, sample_site_text):
    headers = admin_headers(sqlite_served)
    with httpx.Client(base_url=sqlite_served.url, timeout=60) as c:
        too_big = sample_site_text.encode() + b"#" * (2 * MIB)
        _is_json_413(c.put("/api/site", headers=headers, content=too_big), 2 * MIB)
        _is_json_413(c.put("/api/site", headers=headers, content=chunks(too_big)), 2 * MIB)
        # positive control: 1.5 MB of site (padded with a YAML comment) is within the cap for this route
        large = sample_site_text + "\n# " + "x" * (1500 * KIB) + "\n"
        r = c.put("/api/site", headers=headers, content=large.encode())
        assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_twilio_webhook_is_413(sqlite_served, monkeypatch, chunked):
    sqlite_served.hub.settings.twilio.auth_token = TWILIO_TOKEN  # TWILIO_AUTH_TOKEN, as hub/config.py reads it
    form = {"From": "+447700900201", "To": "+447700900000", "Body": "1" + " " * (100 * KIB)}
    url = f"{sqlite_served.url}/twilio/sms"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    body = httpx.QueryParams(form).__str__().encode()
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(timeout=30) as c:
        r = c.post(url, headers=headers, content=chunks(body) if chunked else body)
        _is_json_413(r, 64 * KIB)
        # positive control: a small signed webhook gets through the cap (and is answered by the route)
        small = {"From": "+447700900999", "To": "+447700900000", "Body": "hello"}
        ok = c.post(
            url,
            data=small,
            headers={"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, small)},
        )
        assert ok.status_code == 200, ok.text[:300]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_action_call_is_413(sqlite_served, chunked):
    headers = {"Authorization": f"Bearer {ACTIONS_TOKEN}", "Content-Type": "application/json"}
    body = b'{"next_action": "action_listen", "padding": "' + b"x" * (1 * MIB + 10 * KIB) + b'"}'
    with httpx.Client(base_url=sqlite_served.url, timeout=60) as c:
        r = c.post("/assistant/actions/webhook", headers=headers, content=chunks(body) if chunked else body)
        _is_json_413(r, 1 * MIB)
        # positive control: 900 KB is under this route's cap, so the route itself answers (not 413)
        medium = b'{"next_action": "no_such_action", "padding": "' + b"x" * (900 * KIB) + b'"}'
        assert c.post("/assistant/actions/webhook", headers=headers, content=medium).status_code != 413


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_console_form_is_a_413_page(sqlite_served, chunked):
    with httpx.Client(base_url=sqlite_served.url, timeout=30) as c:
        page = c.get("/login")
        body = (
            httpx.QueryParams({"username": "carol", "password": "p" * (100 * KIB), "csrf_token": csrf_of(page.text)})
            .__str__()
            .encode()
        )
        r = c.post(
            "/login",
            content=chunks(body) if chunked else body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        _is_page_413(r)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_site_import_in_the_console_is_413(sqlite_served, sample_site_text, chunked):
    with httpx.Client(base_url=sqlite_served.url, timeout=60) as c:
        assert log_in(c, "carol").status_code == 303
        csrf = csrf_of(c.get("/console/site").text)
        files = {"file": ("site.yml", sample_site_text.encode() + b"#" * (2 * MIB + 10 * KIB), "application/yaml")}
        request = c.build_request("POST", "/console/site/import", data={"csrf_token": csrf}, files=files)
        content = request.read()
        headers = {"Content-Type": request.headers["Content-Type"]}
        r = c.post("/console/site/import", headers=headers, content=chunks(content) if chunked else content)
        _is_page_413(r)
        # positive control: the sample site itself imports
        csrf = csrf_of(c.get("/console/site").text)
        ok = c.post(
            "/console/site/import",
            data={"csrf_token": csrf},
            files={"file": ("site.yml", sample_site_text.encode(), "application/yaml")},
        )
        assert ok.status_code in (200, 303), ok.text[:300]


# -- ids outside the database's range: 404, never 500 -------------------------------------------------------
API_ID_ROUTES = (
    ("GET", "/api/alerts/{n}"),
    ("POST", "/api/alerts/{n}/acknowledge"),
    ("POST", "/api/alerts/{n}/arrived"),
    ("POST", "/api/alerts/{n}/cancel"),
    ("POST", "/api/callbacks/{n}/done"),
    ("POST", "/api/wellbeing/drift/{n}/clear"),
    ("DELETE", "/api/checkins/betty/pauses/{n}"),
    ("POST", "/api/checkin-requests/{n}/confirm"),
    ("GET", "/api/notifications?alert={n}"),
)


def test_ids_beyond_the_integer_range_are_404(served):
    headers = admin_headers(served)
    with httpx.Client(base_url=served.url, timeout=30) as c:
        for n in BIG_IDS:
            for method, path in API_ID_ROUTES:
                r = c.request(method, path.format(n=n), headers=headers)
                assert r.status_code == 404, (method, path, n, r.status_code, r.text[:200])
                assert isinstance(r.json()["detail"], str)
            r = c.post(f"/api/alerts/{n}/resolve", headers=headers, json={"outcome": "false_alarm"})
            assert r.status_code == 404, (n, r.text[:200])
        # positive control: a real id still works after all that
        alert_id = alarm(served.hub)
        assert c.get(f"/api/alerts/{alert_id}", headers=headers).status_code == 200
        assert c.get("/api/notifications", params={"alert": alert_id}, headers=headers).status_code == 200


def test_console_ids_beyond_the_integer_range_are_404_pages(served):
    with httpx.Client(base_url=served.url, timeout=30) as c:
        assert log_in(c, "ada").status_code == 303
        for n in BIG_IDS:
            for path in (
                f"/console/alerts/{n}",
                f"/console/enquiries/{n}",
                f"/console/notifications?alert={n}",
                f"/m/alerts/{n}",
            ):
                r = c.get(path)
                assert r.status_code in (404, 200), (path, r.status_code, r.text[:200])  # a list may be empty
                if path.startswith(("/console/alerts", "/console/enquiries", "/m/alerts")):
                    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path


# -- 422: the documented shape --------------------------------------------------------------------------------
def test_a_hand_written_422_has_the_list_shape(sqlite_served):
    headers = admin_headers(sqlite_served)
    with httpx.Client(base_url=sqlite_served.url, timeout=30) as c:
        r = c.get("/api/alerts", params={"state": "sleeping"}, headers=headers)
        assert r.status_code == 422
        (error,) = r.json()["detail"]
        assert error["loc"] == ["query", "state"] and error["msg"].startswith("state must be") and error["type"]

        alert_id = alarm(sqlite_served.hub)
        r = c.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "fixed"}, headers=headers)
        assert r.status_code == 422
        (error,) = r.json()["detail"]
        assert error["loc"] == ["body", "outcome"] and "'fixed'" in error["msg"]

        r = c.put("/api/site", content="contacts:\n  - {id: sue, name: [\n", headers=headers)
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert isinstance(detail, list) and all({"loc", "msg", "type"} <= set(d) for d in detail)
        assert detail[0]["msg"] == "site refused, nothing was loaded"
        assert r.json()["problems"][0]["line"] == 3  # the extra field stays

        # FastAPI's own validation errors were already in this shape, and still are
        r = c.get("/api/alerts", params={"limit": "many"}, headers=headers)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


# -- OpenAPI ----------------------------------------------------------------------------------------------------
def test_openapi_declares_the_errors(sqlite_served):
    doc = httpx.get(f"{sqlite_served.url}/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]
    assert schemas["Error"]["properties"]["detail"]["type"] == "string"
    for action in ("acknowledge", "arrived", "resolve", "cancel"):
        responses = doc["paths"][f"/api/alerts/{{alert_id}}/{action}"]["post"]["responses"]
        assert {"200", "401", "403", "404", "409", "413", "422"} <= set(responses), (action, sorted(responses))
        assert responses["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert responses["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TooLarge"}
    get_one = doc["paths"]["/api/alerts/{alert_id}"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(get_one) and "409" not in get_one
    listing = doc["paths"]["/api/alerts"]["get"]["responses"]
    assert {"401", "403"} <= set(listing) and "404" not in listing
    health = doc["paths"]["/api/health"]["get"]["responses"]
    assert "401" not in health  # no token needed there
    for path, item in doc["paths"].items():  # every bearer-token operation declares 401 and 403
        for method, op in item.items():
            if isinstance(op, dict) and op.get("security"):
                assert {"401", "403"} <= set(op["responses"]), (method, path)


# -- /docs and /redoc offline -------------------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "data-url", "spec-url"):
            if a.get(key):
                self.urls.append(a[key])
        self._in_script = tag == "script" and not a.get("src")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_only_local_files(sqlite_served, page):
    with httpx.Client(base_url=sqlite_served.url, timeout=30) as c:
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        refs = _Refs()
        refs.feed(r.text)
        assert refs.inline_scripts == 0
        assert len(refs.urls) >= 3, refs.urls
        for url in refs.urls:
            assert url.startswith("/") and not url.startswith("//"), url  # this host only: no CDN
            got = c.get(url)
            assert got.status_code == 200 and len(got.content) > 0, url
        js = [u for u in refs.urls if u.endswith(".js")]
        assert js and all(len(c.get(u).content) > 1000 or u.endswith("init.js") for u in js)
        assert not re.search(r"https?://(?!127\.0\.0\.1)", r.text)


def test_swagger_ui_renders_in_a_browser_with_no_network(sqlite_served, browser):
    outside: list[str] = []
    problems: list[str] = []
    page = browser.new_page()  # the module's Chromium (tests/browser.py)
    page.set_default_timeout(20_000)

    def gate(route):
        if route.request.url.startswith(sqlite_served.url):
            route.continue_()
        else:  # nothing leaves the machine: a page that needed a CDN would be blank
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", gate)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{sqlite_served.url}/docs")
    page.wait_for_selector(".opblock-summary-path", state="attached")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/alerts" in t for t in paths), paths[:10]
    page.goto(f"{sqlite_served.url}/redoc")
    # a locator, not wait_for_function: a string predicate is eval'd in the page, which its CSP forbids
    page.get_by_text("/api/alerts/{alert_id}/acknowledge").first.wait_for(state="attached")
    page.close()
    assert outside == []
    assert not [m for m in problems if "Content Security Policy" in m], problems
