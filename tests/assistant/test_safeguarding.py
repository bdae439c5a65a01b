"""Abuse and neglect described in plain words (telecare/assistant/safeguarding.py), without Rasa.

The server's recall (the model and these rules together) on the same set is tested in
test_emergency_recall.py; the conversation's handoff in test_frontdoor.py.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from telecare.assistant import frontdoor, safeguarding
from telecare.directory.loader import load_directory
from telecare.enquiry.models import CallbackRequest, Enquiry

from .test_emergency_rules import _examples

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "assistant" / "tests"
SAFEGUARDING = [t for _, t in _examples(TESTS / "safeguarding_messages.yml")]


@pytest.mark.parametrize(
    "text, kind",
    [
        ("her son takes her pension and she's got no food in", "financial"),
        ("he hasn't washed or eaten for weeks and the house is full of rubbish", "self_neglect"),
        ("the carers leave her in a wet bed all day", "neglect"),
        ("her new 'friend' has her bank card", "financial"),
        ("my husband hits me", "domestic"),
        ("I want to report elder abuse", "named"),
        ("nobody has seen the man across the road for a week", "welfare"),
    ],
)
def test_described_abuse_and_neglect(text, kind):
    assert safeguarding.kind(text) == kind
    assert safeguarding.detect(text)


def test_the_rules_alone_catch_nearly_all_of_the_safeguarding_set():
    """The model covers the rest; together they must reach recall 1.0 (the stack's test)."""
    assert len(SAFEGUARDING) >= 40 and len(set(SAFEGUARDING)) == len(SAFEGUARDING)
    missed = [t for t in SAFEGUARDING if not safeguarding.detect(t)]
    assert len(missed) <= len(SAFEGUARDING) // 20, missed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "Hope",
        "Joy Church",
        "Mr Fell",
        "my name is Margaret Hughes",
        "AV1 2AB",
        "07700 900123",
        "yes please",
        "12 Elm Road, Ashvale",
        "no thanks",
        # scams and crime by strangers, not someone in the person's life
        "I've been scammed out of my savings by someone on the phone",
        "someone rang pretending to be my bank and took my money",
        "my bank card was stolen in town",
        "someone took money from my account",
        "i keep worrying someone will break in at night",
        # help from family, everyday needs
        "my husband takes my pension to the post office for me",
        "my son helps me with my money",
        "my daughter has power of attorney and does my banking",
        "I need help with shopping, there's no food in the house",
        "I can't wash myself properly, I need help getting washed and dressed",
        "the carers don't stay long enough",
        "my grandson pushes me to use the computer",
        "I'm lonely and haven't seen anyone for days",
        "I haven't been out for weeks",
        "my mum is frightened of falling",
        "I'm scared of the dark",
        "the garden is neglected and overgrown, I need a gardener",
        "can you help my son with his alcohol abuse",
        "she won't eat much since her stroke",
        "hoarding fire risk",
        "I look after my wife who has dementia",
    ],
)
def test_ordinary_messages_are_not_safeguarding(text):
    assert safeguarding.kind(text) is None


def test_precise_on_the_training_data_of_every_other_intent():
    """Thousands of messages about other needs: at most a handful may look like abuse."""
    flagged, n = [], 0
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if block.get("intent") in (None, "safeguarding"):
                continue
            for line in block["examples"].splitlines():
                text = line.strip()[2:]
                n += 1
                if safeguarding.detect(text):
                    flagged.append(text)
    assert n > 2000 and len(flagged) <= 3, flagged


SIZE = 100_000


@pytest.mark.parametrize(
    "unit",
    [
        "a",
        "my son ",
        "takes my ",
        "left ",
        "he hasnt ",
        "the carers ",
        "my son takes my ",
        "nobody has seen ",
        "not eating ",
        "isnt answering the door ",
        "stealing from ",
        "abuse of ",
        "garden is neglected ",
    ],
)
def test_linear_time_on_100kb(unit):
    text = (unit * (SIZE // len(unit) + 1))[:SIZE]
    start = time.perf_counter()
    safeguarding.kind(text)
    safeguarding.kind(text, limit=None)
    assert time.perf_counter() - start < 2.0  # generous: linear against quadratic, not speed


def test_imports_only_re_and_the_emergency_normaliser():
    tree = ast.parse((ROOT / "telecare" / "assistant" / "safeguarding.py").read_text(encoding="utf-8"))
    imported = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in (n.names if isinstance(n, ast.Import) else [None])
    }
    assert imported <= {"__future__", "re", "emergency"}


# --- the conversation hands it to a person whatever the model said ------------------------------------
DIRECTORY = ROOT / "data" / "directory" / "services.yml"


@pytest.fixture
def db(site, clock):
    with site() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), clock.now(), source=str(DIRECTORY))
    return site


def test_the_rules_send_described_neglect_to_a_person_when_the_model_missed_it(db, clock):
    with db() as s, s.begin():
        reply = frontdoor.turn(
            s,
            frontdoor.Turn(
                intent="need_food_shopping",
                channel="sms",
                phone="+447700900999",
                conversation_id="sms:+447700900999",
                text="her son takes her pension and she's got no food in",
            ),
            None,
            clock.now(),
        )
    with db() as s:
        e = s.get(Enquiry, reply.state["enquiry"])
        assert e.outcome == "handoff" and "safeguarding" in e.needs
        cb = s.scalars(select(CallbackRequest).where(CallbackRequest.enquiry_id == e.id)).one()
        assert cb.urgent and cb.reason == "safeguarding"
