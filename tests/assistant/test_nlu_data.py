"""The training data's generator (tools/gen_nlu.py): the committed data/nlu/variations.yml is
exactly what it makes from tools/nlu_variations.yml, and it makes the same file every time."""

from __future__ import annotations

import yaml

from tools import gen_nlu


def test_the_committed_variations_are_the_generators_output():
    made = gen_nlu.render(gen_nlu.load_spec())
    assert gen_nlu.OUT.read_text(encoding="utf-8") == made, "run `make nlu-data` and commit data/nlu/variations.yml"


def test_the_generator_is_deterministic():
    spec = gen_nlu.load_spec()
    assert gen_nlu.render(spec) == gen_nlu.render(gen_nlu.load_spec())


def test_editing_one_intent_does_not_reshuffle_the_others():
    spec = gen_nlu.load_spec()
    before = gen_nlu.examples(spec, "need_transport", spec["intents"]["need_transport"])
    spec["intents"]["need_housing"]["statements"].append("a brand new statement about housing")
    assert gen_nlu.examples(spec, "need_transport", spec["intents"]["need_transport"]) == before


def test_every_intent_gets_its_count_of_distinct_filled_examples():
    spec = gen_nlu.load_spec()
    doc = yaml.safe_load(gen_nlu.OUT.read_text(encoding="utf-8"))
    got = {b["intent"]: [ln[2:] for ln in b["examples"].splitlines()] for b in doc["nlu"]}
    assert list(got) == list(spec["intents"])
    for intent, block in spec["intents"].items():
        texts = got[intent]
        assert len(texts) == block.get("count", spec["count"]) == len(set(texts)), intent
        assert not any("{" in t or "}" in t for t in texts), intent
