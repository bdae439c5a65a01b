"""Issue 10, attack 5 ("50 wrong passwords in a row on one CSRF token, no slowdown, then the right
one logged in") and "Tokens and logins": throttling per account and per client address kept in
the database (an increasing delay after 5 failures, refused with 429 and Retry-After, never a
sleeping worker; a 15-minute lock after 10), the same answers for an account that does not
exist, an administrator's unlock (audited), a login form's CSRF token good once, password checks
bounded (refused at once when busy), and live-board streams capped per user.

Against a real uvicorn on a loopback port (tests/served.py) serving a hub with the sample site
(tests/console_helpers.make_runtime), on SQLite and PostgreSQL, driven by httpx. Each client
binds its own loopback address (127.0.0.x), so "per client address" is real. Time is the hub's
FakeClock: nothing waits."""

from __future__ import annotations

import re
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import httpx
from sqlalchemy import select

from telecare.audit.models import AuditEntry

from ..console_helpers import PASSWORD, csrf_of, log_in
from ..served import Served

ATTACKER, USER_ELSEWHERE, PROBER, ADMIN_DESK = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"


@contextmanager
def client(served, address: str = "127.0.0.1"):
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=served.url, transport=transport, timeout=20, follow_redirects=False) as c:
        yield c


def attempt(c, username: str, password: str) -> httpx.Response:
    """One login from a fresh form, as a browser (or a script that reads the form) would."""
    form = c.get("/login")
    return c.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(form.text)})


def error_of(r: httpx.Response) -> str:
    m = re.search(r'class="banner error"[^>]*>\s*<p>(.*?)</p>', r.text, re.S)
    return m.group(1) if m else r.text[:200]


def hammer(hub, c, username: str, tries: int = 50) -> list[httpx.Response]:
    """``tries`` wrong passwords, each on a fresh form, back to back; after a refusal waiting (by the hub's
    clock) as long as its Retry-After says when it is a delay, one second when it is the lock."""
    out = []
    for _ in range(tries):
        r = attempt(c, username, "not the password")
        out.append(r)
        if r.status_code == 429:
            wait = int(r.headers["Retry-After"])
            hub.clock.advance(timedelta(seconds=wait if wait <= 60 else 1))
    return out


def post_form(served, token: str, nonce: str, username: str, password: str) -> httpx.Response:
    """Post a captured login form (its token and its cookie) again, from a client with no other cookies."""
    with httpx.Client(base_url=served.url, timeout=20, follow_redirects=False) as c:
        return c.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            headers={"Cookie": f"linkage_login={nonce}"},
        )


def audit(hub, action: str) -> list[AuditEntry]:
    with hub.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_fifty_wrong_passwords_are_slowed_then_locked_and_an_admin_unlocks(runtime, served):
    with client(served, ATTACKER) as attacker:
        answers = hammer(runtime, attacker, "carol")
        checked = [r for r in answers if r.status_code == 401]  # the password was actually tried
        refused = [r for r in answers if r.status_code == 429]
        assert len(checked) == 10 and len(checked) + len(refused) == 50
        assert [r.status_code for r in answers[:5]] == [401] * 5  # the first five cost nothing
        assert answers[5].status_code == 429 and answers[5].headers["Retry-After"] == "2"
        delays = [int(r.headers["Retry-After"]) for r in refused[:5]]
        assert delays == [2, 4, 8, 16, 32]  # then an increasing delay
        assert "Too many failed logins" in error_of(answers[5])
        locked = answers[-1]
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 13 * 60  # the 15-minute lock
        assert "unlock" in error_of(locked)
        # the right password during the lock is refused too, from anywhere
        assert attempt(attacker, "carol", PASSWORD).status_code == 429
    with client(served, USER_ELSEWHERE) as carol:
        right = attempt(carol, "carol", PASSWORD)
        assert right.status_code == 429 and "linkage_session" not in right.cookies
    assert len(audit(runtime, "login.failed")) == 10

    # the lock is in the database: a new runtime process (another app on the same database) holds it too
    with Served(runtime) as other, client(other, USER_ELSEWHERE) as carol:
        assert attempt(carol, "carol", PASSWORD).status_code == 429

    # an administrator sees the locked account and the attacker's address, and unlocks the account
    with client(served, ADMIN_DESK) as ada:
        assert log_in(ada, "ada").status_code == 303
        page = ada.get("/console/users").text
        assert "account <strong>carol</strong>" in page and f"address <strong>{ATTACKER}</strong>" in page
        r = ada.post("/console/users/unlock", data={"csrf_token": csrf_of(page), "key": "user:carol"})
        assert r.status_code == 303
        assert "account <strong>carol</strong>" not in ada.get("/console/users").text
    (unlocked,) = audit(runtime, "login.unlock")
    assert unlocked.actor == "Ada Admin" and unlocked.target == "user:carol"
    with client(served, USER_ELSEWHERE) as carol:
        assert attempt(carol, "carol", PASSWORD).status_code == 303  # the positive control
    with client(served, ATTACKER) as attacker:  # the attacker's address is still held
        assert attempt(attacker, "carol", PASSWORD).status_code == 429

    # a lock ends by itself after 15 minutes
    runtime.clock.advance(timedelta(minutes=15, seconds=1))
    with client(served, ATTACKER) as attacker:
        assert attempt(attacker, "ada", PASSWORD).status_code == 303


def test_unknown_accounts_get_the_same_answers(runtime, served):
    with client(served, ATTACKER) as c:
        real = hammer(runtime, c, "carol", tries=12)
    with client(served, PROBER) as c:
        ghost = hammer(runtime, c, "nobody-at-all", tries=12)
    assert [r.status_code for r in real] == [r.status_code for r in ghost]
    assert [error_of(r) for r in real] == [error_of(r) for r in ghost]
    assert [r.headers.get("Retry-After") for r in real] == [r.headers.get("Retry-After") for r in ghost]


def test_spraying_many_accounts_from_one_address_is_slowed_too(runtime, served):
    with client(served, ATTACKER) as c:
        answers = [attempt(c, f"user{i}", "password123!") for i in range(12)]  # the clock does not move
    assert [r.status_code for r in answers[:5]] == [401] * 5
    assert {r.status_code for r in answers[5:]} == {429}
    with client(served, USER_ELSEWHERE) as carol:  # another address is not held
        assert attempt(carol, "carol", PASSWORD).status_code == 303


def test_a_login_forms_token_works_once(runtime, served):
    with client(served) as c:
        form = c.get("/login")
        token, nonce = csrf_of(form.text), form.cookies["linkage_login"]
    first = post_form(served, token, nonce, "carol", "wrong password!")
    assert first.status_code == 401
    replay = post_form(served, token, nonce, "carol", PASSWORD)
    assert replay.status_code == 403 and "linkage_session" not in replay.cookies
    assert "expired" in error_of(replay)

    # a successful login's form cannot be replayed either
    with client(served) as c:
        form = c.get("/login")
        token, nonce = csrf_of(form.text), form.cookies["linkage_login"]
    assert post_form(served, token, nonce, "carol", PASSWORD).status_code == 303
    assert post_form(served, token, nonce, "carol", PASSWORD).status_code == 403

    with client(served) as c:
        # a form left open longer than an hour has expired
        form = c.get("/login")
        runtime.clock.advance(timedelta(hours=1, minutes=1))
        stale = c.post("/login", data={"username": "carol", "password": PASSWORD, "csrf_token": csrf_of(form.text)})
        assert stale.status_code == 403


def test_password_checks_are_bounded_and_refused_at_once_when_busy(runtime, served):
    gate = served.server.config.app.state.login_gate
    held = []
    while gate._sem.acquire(blocking=False):  # every password-check slot busy
        held.append(1)
    assert len(held) == 2
    try:
        with client(served) as c:
            started = time.monotonic()
            busy = attempt(c, "carol", PASSWORD)
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
            assert time.monotonic() - started < 10  # refused, not queued behind the busy slots
    finally:
        for _ in held:
            gate._sem.release()
    with client(served) as c:
        assert attempt(c, "carol", PASSWORD).status_code == 303

    # a flood of logins from many addresses: every answer is a refusal or a wrong password, never a hang or a 500
    results: list[int] = []

    def flood(i: int) -> None:
        with client(served, f"127.0.1.{i + 1}") as c:
            for _ in range(3):
                results.append(attempt(c, f"carol{i}", "wrong password").status_code)

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 24 and set(results) <= {401, 503}


def test_live_board_streams_are_capped_per_user(runtime, served):
    def events(c):
        return c.stream("GET", "/console/events", headers={"Accept": "text/event-stream"})

    with client(served) as carol, client(served) as ada, ExitStack() as open_streams:
        assert log_in(carol, "carol").status_code == 303 and log_in(ada, "ada").status_code == 303
        for _ in range(4):
            r = open_streams.enter_context(events(carol))
            assert r.status_code == 200
        with events(carol) as fifth:
            assert fifth.status_code == 429 and fifth.headers["Retry-After"]
        with events(ada) as other_user:  # the cap is per user
            assert other_user.status_code == 200
        open_streams.close()  # close the four; the runtime notices within a second or so
        deadline = time.monotonic() + 15
        while True:
            with events(carol) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "a closed stream's place was not given back"
            time.sleep(0.2)
