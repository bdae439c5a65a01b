"""Emergency (and safeguarding) recall 1.0 on the project's test sets, through the running Rasa server:
the trained model and the EmergencyRules component together, as residents reach them.
Every message must come out as ``emergency`` and get the 999 advice over REST; the near-miss
set must not be called an emergency."""

from __future__ import annotations

from pathlib import Path

from .test_emergency_rules import _examples

TESTS = Path(__file__).resolve().parents[2] / "assistant" / "tests"
EMERGENCIES = [t for _, t in _examples(TESTS / "emergency_messages.yml")]
NEAR_MISSES = [t for _, t in _examples(TESTS / "not_emergency_messages.yml")]


def test_the_set_is_big_and_varied():
    assert len(EMERGENCIES) >= 60 and len(set(EMERGENCIES)) == len(EMERGENCIES)


def test_every_emergency_is_recognised_by_the_server(assistant_stack):
    missed = [t for t in EMERGENCIES if assistant_stack.parse(t)["intent"]["name"] != "emergency"]
    assert missed == [], f"recall {1 - len(missed) / len(EMERGENCIES):.3f}; missed {missed}"


def test_every_emergency_gets_the_999_advice_at_once(assistant_stack):
    no_advice = [t for i, t in enumerate(EMERGENCIES) if "999" not in assistant_stack.texts(f"recall-{i}", t)]
    assert no_advice == []


def test_near_misses_are_not_emergencies(assistant_stack):
    flagged = [t for t in NEAR_MISSES if assistant_stack.parse(t)["intent"]["name"] == "emergency"]
    assert flagged == []


SAFEGUARDING = [t for _, t in _examples(TESTS / "safeguarding_messages.yml")]


def test_every_described_abuse_or_neglect_goes_to_safeguarding(assistant_stack):
    """Recall 1.0 on the safeguarding set (issue 14): the model and telecare/assistant/safeguarding.py."""
    missed = [t for t in SAFEGUARDING if assistant_stack.parse(t)["intent"]["name"] != "safeguarding"]
    assert missed == [], f"recall {1 - len(missed) / len(SAFEGUARDING):.3f}; missed {missed}"
