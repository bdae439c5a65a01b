"""Site YAML without access notes: what the audit trail stores of a site file or snippet, and
what an export writes unless asked for the secrets (docs/security.md, "Secrets at rest").

An access note is written as ``'[access note]'`` (quoted: bare, YAML would read a list). The
site loader reads that placeholder as "keep the note this resident has", so a redacted file
loads back without losing anything."""

from __future__ import annotations

import re

import yaml

from telecare.storage.secrets import ACCESS_PLACEHOLDER

QUOTED_PLACEHOLDER = f"'{ACCESS_PLACEHOLDER}'"
_ACCESS_LINE = re.compile(r"(\baccess\s*:[ \t]*)([^\n]*)")


def _spans(text: str) -> list[tuple[int, int]]:
    """Where the value of every ``access:`` key is, as (start, end) character offsets."""
    spans: list[tuple[int, int]] = []
    for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
        stack: list[yaml.Node] = [root] if root is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if (
                        isinstance(key, yaml.ScalarNode)
                        and key.value == "access"
                        and isinstance(value, yaml.ScalarNode)
                    ):
                        if value.tag != "tag:yaml.org,2002:null" and value.value != "":
                            spans.append((value.start_mark.index, value.end_mark.index))
                    else:
                        stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
    return spans


def redact_site_yaml(text: str | None) -> str | None:
    """``text`` with every resident's access note replaced by the placeholder, the rest as written.
    Text that is not YAML loses everything after ``access:`` on each line that has one."""
    if not text or "access" not in text:
        return text
    try:
        spans = _spans(text)
    except yaml.YAMLError:
        return _ACCESS_LINE.sub(lambda m: m.group(1) + QUOTED_PLACEHOLDER, text)
    for start, end in sorted(spans, reverse=True):
        value = text[start:end]
        tail = value[len(value.rstrip("\n")) :]  # a block scalar (|, >) ends with its line break
        text = text[:start] + QUOTED_PLACEHOLDER + tail + text[end:]
    return text


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.strip() == ACCESS_PLACEHOLDER


__all__ = ["redact_site_yaml", "is_placeholder", "QUOTED_PLACEHOLDER", "ACCESS_PLACEHOLDER"]
