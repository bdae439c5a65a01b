"""Multi-need recording (issue 14): every need a trained advisor would write down, from the model's
intent ranking and the lexicon together (telecare.assistant.needs.record), scored per need on the
hand-written set assistant/tests/multi_need_messages.yml through the running server.

The thresholds sit a little below what was measured (docs/assistant.md gives the figures; `make
bench` prints them): a fall below them is a regression in the data, the lexicon or the rule that
combines them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from telecare.assistant import needs

SET = Path(__file__).resolve().parents[2] / "assistant" / "tests" / "multi_need_messages.yml"
MESSAGES = yaml.safe_load(SET.read_text(encoding="utf-8"))["messages"]

MICRO_PRECISION, MICRO_RECALL = 0.93, 0.94
MACRO_PRECISION, MACRO_RECALL = 0.92, 0.93
PER_NEED_RECALL = 0.80  # no category may be mostly missed


def test_the_set_is_big_and_mostly_several_needs():
    assert len(MESSAGES) >= 200 and len({m["text"] for m in MESSAGES}) == len(MESSAGES)
    assert sum(len(m["needs"]) > 1 for m in MESSAGES) >= 100
    assert {n for m in MESSAGES for n in m["needs"]} == set(needs.CATEGORIES)


def test_score_counts_per_need():
    s = needs.score([({"a", "b"}, {"a"}), ({"b"}, {"b", "c"})], categories=("a", "b", "c"))
    assert s["per_need"]["a"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert s["per_need"]["b"]["recall"] == 0.5 and s["per_need"]["c"]["precision"] == 0.0
    assert s["micro"] == {"precision": 2 / 3, "recall": 2 / 3}


@pytest.mark.parametrize(
    "ranking, want",
    [
        (
            [{"name": "need_memory_dementia", "confidence": 0.7}, {"name": "need_food_shopping", "confidence": 0.45}],
            ["memory_dementia", "food_shopping"],
        ),
        (
            [{"name": "need_memory_dementia", "confidence": 0.9}, {"name": "need_food_shopping", "confidence": 0.05}],
            ["memory_dementia"],
        ),
    ],
)
def test_record_takes_the_models_second_need_when_it_is_sure_enough(ranking, want):
    assert needs.record("something", "need_memory_dementia", ranking) == want


def test_record_reads_the_ranking_only_for_needs():
    ranking = [{"name": "greet", "confidence": 0.5}, {"name": "need_housing", "confidence": 0.45}]
    assert needs.record("hello there", "greet", ranking) == []
    assert needs.record("Dad's memory is going and he's stopped eating properly", "need_memory_dementia") == [
        "memory_dementia",
        "food_shopping",
    ]


def test_every_need_of_the_multi_need_set_is_recorded(assistant_stack):
    pairs = []
    for m in MESSAGES:
        parsed = assistant_stack.parse(m["text"])
        got = set(needs.record(m["text"], parsed["intent"]["name"], parsed.get("intent_ranking") or []))
        pairs.append((set(m["needs"]), got & set(needs.CATEGORIES)))
    s = needs.score(pairs)
    report = needs.format_score(s)
    assert s["micro"]["precision"] >= MICRO_PRECISION and s["micro"]["recall"] >= MICRO_RECALL, report
    assert s["macro"]["precision"] >= MACRO_PRECISION and s["macro"]["recall"] >= MACRO_RECALL, report
    weak = {n: v["recall"] for n, v in s["per_need"].items() if v["recall"] < PER_NEED_RECALL}
    assert not weak, report
