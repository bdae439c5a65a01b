"""The emergency patterns on their own (telecare/assistant/emergency.py), without Rasa.

The recall of the model and the rules together, through the running server, is tested
with the same message sets (assistant/tests/*.yml) in the stack's tests.
"""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
import yaml

from telecare.assistant import emergency

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "assistant" / "tests"


def _examples(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                out.append((block["intent"], line[2:].strip()))
    return out


OBVIOUS = {
    "ive fallen and cant get up": "fall",
    "I've fallen and I can't get up": "fall",
    "i'm on the floor": "fall",
    "fell over cant get up": "fall",
    "my mum is on the floor and can't get up": "fall",
    "Help, I've had a fall and I'm stuck on the bathroom floor": "fall",
    "chest pains": "chest_pain",
    "I've got a terrible pain in my chest": "chest_pain",
    "cant breath": "breathing",
    "he's not breathing": "breathing",
    "house is on fire": "fire",
    "I can smell smoke": "fire",
    "there's smoke everywhere": "fire",
    "my husband has collapsed": "unconscious",
    "she's unconscious": "unconscious",
    "he won't wake up": "unconscious",
    "she's bleeding a lot": "bleeding",
    "it won't stop bleeding": "bleeding",
    "his head is bleeding": "bleeding",
    "I think he's having a stroke": "stroke",
    "her face has dropped and her speech is slurred": "stroke",
    "someone is breaking in": "danger",
    "help me please": "danger",
    "call an ambulance": "danger",
}


@pytest.mark.parametrize("text,kind", sorted(OBVIOUS.items()))
def test_obvious_emergencies_match_with_their_kind(text, kind):
    assert emergency.match(text) == kind, emergency.explain(text)
    assert emergency.is_emergency(text)


@pytest.mark.parametrize("text", [t for _, t in _examples(TESTS / "not_emergency_messages.yml")])
def test_near_misses_do_not_match(text):
    assert emergency.match(text) is None, emergency.explain(text)


def test_the_near_miss_and_emergency_sets_are_big_enough():
    assert len(_examples(TESTS / "emergency_messages.yml")) >= 70
    assert {i for i, _ in _examples(TESTS / "emergency_messages.yml")} == {"emergency"}
    negatives = _examples(TESTS / "not_emergency_messages.yml")
    assert len(negatives) >= 40 and "emergency" not in {i for i, _ in negatives}


def test_the_rules_alone_catch_nearly_all_of_the_emergency_set():
    """The model covers the rest; together they must reach recall 1.0 (the stack's test)."""
    texts = [t for _, t in _examples(TESTS / "emergency_messages.yml")]
    missed = [t for t in texts if not emergency.match(t)]
    assert len(missed) <= len(texts) // 10, missed


@pytest.mark.parametrize("text", [
    "", "   ", "hello", "can you help me with my council tax", "my smoke alarm needs a new battery",
    "I'd like a pendant alarm in case I fall", "I fell behind with my rent", "my phone isn't responding",
    "i can't get up the stairs any more", "my mum's flat is on the fourth floor", "help",
    "i had a stroke three years ago", "i'm worried my dad might fall and not be able to get up",
    "my gums are bleeding", "dad lives on the floor above me", "I nearly fainted at the price",
    "i worry i'll fall and be stuck on the floor for hours", "she could be lying on the floor and nobody would know",
    "my feet are on fire at night", "i smoke in bed", "the bathroom ceiling collapsed after a leak",
    "i can't speak to my doctor and my arm hurts", "my mum is bleeding money to scammers",
])
def test_ordinary_messages_do_not_match(text):
    assert emergency.match(text) is None, emergency.explain(text)


def test_typos_and_no_punctuation():
    for text in ("ive falen cant getup", "IM ON THE FLOR", "cant brethe", "chest pian", "my wife is unconcious",
                 "mum fell in kitchen cant get up plz help", "hes colapsed"):
        assert emergency.is_emergency(text), text


def test_the_module_imports_only_re_and_runs_under_python_3_10():
    source = (ROOT / "telecare" / "assistant" / "emergency.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"__future__", "re"}
    init = ast.parse((ROOT / "telecare" / "assistant" / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(init) if isinstance(n, (ast.Import, ast.ImportFrom))]
    py310 = ROOT / ".venv-rasa" / "bin" / "python"
    if py310.exists():  # the Rasa side imports it (assistant/components/emergency_rules.py)
        out = subprocess.run([str(py310), "-c", "import sys; sys.modules['telecare'] = type(sys)('telecare'); "
                              "sys.modules['telecare'].__path__ = ['telecare']; "
                              "from telecare.assistant import emergency as e; print(e.match('ive fallen'))"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "fall", out.stderr
