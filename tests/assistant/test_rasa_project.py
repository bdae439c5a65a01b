"""The Rasa project itself: domain, rules and data agree with docs/assistant.md, Rasa validates
them, and the test stories (assistant/tests/test_stories.yml) route as designed with the
trained model (NLU on the stories' text, emergency rules included: `rasa test core --e2e`).

Rasa runs in its own environment (.venv-rasa), as a subprocess from the repository root.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from hub import assistant_runner as runner

from ..assistant_stack import _rasa_available

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "assistant.md"
NEEDS = [
    "money_benefits",
    "loneliness_befriending",
    "falls_prevention",
    "home_repairs_adaptations",
    "telecare_alarms",
    "carers_support",
    "transport",
    "housing",
    "health_wellbeing",
    "memory_dementia",
    "fire_home_safety",
    "scams_crime",
    "digital_skills",
    "food_shopping",
    "social_care_assessment",
]


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _domain() -> dict:
    merged: dict = {}
    for path in sorted((ROOT / "assistant" / "domain").glob("*.yml")):
        for key, value in _yaml(path).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged


def _documented_intents() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    full_list = text.split("The full list:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"`([a-z_]+)`", full_list)


def _rasa(*args: str, timeout: float) -> subprocess.CompletedProcess:
    _rasa_available()  # skips on a machine without .venv-rasa; fails under CI, which promises it
    rasa = runner.rasa_bin()
    return subprocess.run(
        [str(rasa), *args], cwd=ROOT, env=runner.rasa_env(), capture_output=True, text=True, timeout=timeout
    )


def test_the_domain_has_exactly_the_documented_intents_and_the_hubs_actions():
    documented = _documented_intents()
    assert len(documented) == 27 and {f"need_{n}" for n in NEEDS} <= set(documented)
    domain = _domain()
    assert sorted(domain["intents"]) == sorted(documented)
    assert set(domain["actions"]) == {
        "action_greet",
        "action_goodbye",
        "action_thank",
        "action_yes",
        "action_no",
        "action_bot_challenge",
        "action_cannot_help",
        "action_take_postcode",
        "action_handoff",
        "action_checkin_signup",
        "action_emergency",
        "action_safeguarding",
        "action_signpost",
    }
    assert domain["slots"] == {
        "conversation": {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
    }
    assert domain["session_config"] == {"session_expiration_time": 60, "carry_over_slots_to_new_session": False}
    assert not domain.get("responses"), "every reply comes from the hub's actions"


def test_one_rule_per_intent_as_the_design_table_says():
    table = {
        "greet": "action_greet",
        "goodbye": "action_goodbye",
        "thank": "action_thank",
        "affirm": "action_yes",
        "deny": "action_no",
        "bot_challenge": "action_bot_challenge",
        "out_of_scope": "action_cannot_help",
        "nlu_fallback": "action_cannot_help",
        "inform_postcode": "action_take_postcode",
        "request_human": "action_handoff",
        "checkin_signup": "action_checkin_signup",
        "emergency": "action_emergency",
        "safeguarding": "action_safeguarding",
    }
    table |= {f"need_{n}": "action_signpost" for n in NEEDS}
    found = {}
    for path in (ROOT / "data" / "rules").glob("*.yml"):
        for rule in _yaml(path).get("rules", []):
            steps = rule["steps"]
            assert len(steps) == 2 and "intent" in steps[0] and "action" in steps[1], rule
            assert steps[0]["intent"] not in found, f"two rules for {steps[0]['intent']}"
            found[steps[0]["intent"]] = steps[1]["action"]
    assert found == table


def test_every_intent_has_training_examples_and_no_test_message_is_in_the_training_data():
    def norm(t: str) -> str:
        return re.sub(r"[^a-z0-9 ]", "", t.lower()).strip()

    counts: dict[str, int] = {}
    training: set[str] = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in _yaml(path).get("nlu", []):
            if "intent" in block:
                lines = [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
                counts[block["intent"]] = counts.get(block["intent"], 0) + len(lines)
                training |= {norm(t) for t in lines}
    assert set(counts) == set(_documented_intents())
    for intent, n in counts.items():
        assert n >= (40 if intent.startswith("need_") or intent in ("emergency", "safeguarding") else 30), (intent, n)
    tests = ROOT / "assistant" / "tests"
    held_out = []
    for name in ("emergency_messages.yml", "not_emergency_messages.yml"):
        for block in _yaml(tests / name)["nlu"]:
            held_out += [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
    held_out += re.findall(r"user: \|\n\s+(.*)", (tests / "test_stories.yml").read_text(encoding="utf-8"))
    for block in _yaml(tests / "safeguarding_messages.yml")["nlu"]:
        held_out += [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
    held_out += [m["text"] for m in _yaml(tests / "multi_need_messages.yml")["messages"]]
    assert not [t for t in held_out if norm(t) in training]


def test_config_uses_the_emergency_rules_between_diet_and_the_fallback():
    config = _yaml(ROOT / "config.yml")
    names = [c["name"] for c in config["pipeline"]]
    assert (
        names.index("DIETClassifier")
        < names.index("assistant.components.emergency_rules.EmergencyRules")
        < names.index("FallbackClassifier")
    )
    assert [p["name"] for p in config["policies"]] == ["RulePolicy"]
    assert config["policies"][0]["core_fallback_action_name"] == "action_cannot_help"
    assert config["assistant_id"] == "linkage-helpline"


@pytest.mark.timeout(900)
def test_rasa_validates_the_domain_and_data_without_warnings():
    out = _rasa(
        "data",
        "validate",
        "--domain",
        runner.DOMAIN,
        "--data",
        *runner.TRAINING_DATA,
        "--config",
        runner.CONFIG,
        "--fail-on-warnings",
        timeout=600,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "UserWarning" not in text, text[-4000:]
    conflicts = [
        ln
        for ln in text.splitlines()
        if "conflict" in ln.lower()
        and "No story structure conflicts found" not in ln
        and "Considering all preceding turns" not in ln
    ]
    assert not conflicts, conflicts


@pytest.mark.timeout(900)
def test_the_test_stories_route_every_path(trained_model, tmp_path):
    out = _rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "assistant/tests/test_stories.yml",
        "--e2e",
        "--out",
        str(tmp_path),
        timeout=600,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    failed_file = tmp_path / "failed_test_stories.yml"
    failed = _yaml(failed_file).get("stories") if failed_file.exists() else None
    assert not failed, failed_file.read_text(encoding="utf-8")
    report = json.loads((tmp_path / "story_report.json").read_text(encoding="utf-8"))
    assert report["conversation_accuracy"]["accuracy"] == 1.0, report["conversation_accuracy"]
    assert report["conversation_accuracy"]["total"] >= 20
