"""The emergency patterns on their own (telecare/assistant/emergency.py), without Rasa.

The recall of the model and the rules together, through the running server, is tested
with the same message sets (assistant/tests/*.yml) in the stack's tests.
"""

from __future__ import annotations

import ast
import subprocess
import time
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
    # described, not named (issue 14): the NHS's 999 signs, about oneself or another person
    "my husband's lips have gone blue and he's not making sense": "unconscious",
    "she's gone grey and clammy": "breathing",
    "he's gone all blue around the mouth": "breathing",
    "mum is talking gibberish and doesn't know where she is": "unconscious",
    "she's having a seizure": "seizure",
    "he's been fitting for ten minutes": "seizure",
    "my husband is shaking all over and he won't stop": "seizure",
    "he's wheezing and can't speak": "breathing",
    "something is stuck in his throat": "breathing",
    "one side of his face is drooping and his arm is weak": "stroke",
    "she cut her hand badly and the blood won't stop": "bleeding",
    "my dad has gone very confused all of a sudden and can't speak properly": "unconscious",
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


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "can you help me with my council tax",
        "my smoke alarm needs a new battery",
        "I'd like a pendant alarm in case I fall",
        "I fell behind with my rent",
        "my phone isn't responding",
        "i can't get up the stairs any more",
        "my mum's flat is on the fourth floor",
        "help",
        "i had a stroke three years ago",
        "i'm worried my dad might fall and not be able to get up",
        "my gums are bleeding",
        "dad lives on the floor above me",
        "I nearly fainted at the price",
        "i worry i'll fall and be stuck on the floor for hours",
        "she could be lying on the floor and nobody would know",
        "my feet are on fire at night",
        "i smoke in bed",
        "the bathroom ceiling collapsed after a leak",
        "i can't speak to my doctor and my arm hurts",
        "my mum is bleeding money to scammers",
        "my husband's hair has gone grey",
        "mum's fingers go blue in the cold",
        "he's fitting a stair lift for me",
        "my mum would have a fit if she saw this",
        "the council isn't making any sense",
        "he cut his hair badly",
        "she doesn't recognise me anymore",
        "i keep worrying someone will break in at night",
        "my husband has epilepsy and has fits sometimes",
        "what should i do if my husband has a fit",
        "i get chest pains when i'm anxious, the gp says it's nothing",
        "my face is drooping from age",
    ],
)
def test_ordinary_messages_do_not_match(text):
    assert emergency.match(text) is None, emergency.explain(text)


def test_typos_and_no_punctuation():
    for text in (
        "ive falen cant getup",
        "IM ON THE FLOR",
        "cant brethe",
        "chest pian",
        "my wife is unconcious",
        "mum fell in kitchen cant get up plz help",
        "hes colapsed",
    ):
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
        out = subprocess.run(
            [
                str(py310),
                "-c",
                "import sys; sys.modules['telecare'] = type(sys)('telecare'); "
                "sys.modules['telecare'].__path__ = ['telecare']; "
                "from telecare.assistant import emergency as e; print(e.match('ive fallen'))",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and out.stdout.strip() == "fall", out.stderr


@pytest.mark.parametrize(
    "unit",
    [
        "shaking all over ",
        "hes gone ",
        "my husbands hair ",
        "fitting ",
        "seizure wont ",
        "gone very confused ",
        "wheezing ",
        "grey and ",
        "he cut his ",
        "my mum is not ",
    ],
)
def test_the_described_signs_stay_linear_on_100kb(unit):
    text = (unit * (100_000 // len(unit) + 1))[:100_000]
    start = time.perf_counter()
    emergency.match(text, limit=None)
    assert time.perf_counter() - start < 2.0  # linear against quadratic (tests/security), not speed


@pytest.mark.parametrize(
    "text",
    [
        "what should i do if someone is choking",
        "how do i know if someone is having a heart attack",
        "what are the signs of a stroke",
        "I faint sometimes when I stand up too quickly",
        "my nose bleeds now and then, is that normal",
        "he bleeds easily on his blood thinners",
        "i had a seizure last year",
        "i worry i might fall and be stuck",
        "my face is drooping from age",
    ],
)
def test_doubtful_questions_past_and_possibilities(text):
    """The EmergencyRules component does not trust the model's own "emergency" for these."""
    assert emergency.doubtful(text) and emergency.match(text) is None


def test_no_emergency_of_the_test_set_is_doubtful():
    assert [t for _, t in _examples(TESTS / "emergency_messages.yml") if emergency.doubtful(t)] == []
    assert not emergency.doubtful("help quickly hes fallen") and not emergency.doubtful("")


def test_doubtful_is_linear_on_100kb():
    for unit in ("what should i do if ", "sometimes ", "now and then quickly ", "signs of a stroke "):
        text = (unit * (100_000 // len(unit) + 1))[:100_000]
        start = time.perf_counter()
        emergency.doubtful(text, limit=None)
        assert time.perf_counter() - start < 2.0
