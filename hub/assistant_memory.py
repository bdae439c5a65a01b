"""Clearing the assistant's memory of a conversation (``linkage person erase``): the Rasa server keeps
its trackers in memory, so the hub replaces a conversation's events with none through Rasa's HTTP API
(``PUT /conversations/{id}/tracker/events``, with ``LINKAGE_RASA_TOKEN``). Best effort: when Rasa is
not running there is nothing in its memory to clear (it forgets everything when it stops)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field


@dataclass
class Cleared:
    cleared: int = 0
    failed: list[str] = field(default_factory=list)  # why, one line per failure (no conversation ids)
    unreachable: bool = False


def clear(conversation_ids: list[str], *, base_url: str, token: str, timeout: float = 5.0) -> Cleared:
    out = Cleared()
    for cid in conversation_ids:
        url = (
            f"{base_url}/conversations/{urllib.parse.quote(cid, safe=':+@')}/tracker/events"
            f"?{urllib.parse.urlencode({'token': token})}"
        )
        req = urllib.request.Request(url, data=b"[]", method="PUT", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (our own configured URL)
                json.loads(resp.read() or b"{}")
            out.cleared += 1
        except urllib.error.HTTPError as exc:
            out.failed.append(
                f"Rasa answered {exc.code}" + (" (is LINKAGE_RASA_TOKEN right?)" if exc.code in (401, 403) else "")
            )
        except (urllib.error.URLError, OSError):
            out.unreachable = True
            break
    return out
