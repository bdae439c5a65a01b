"""EmergencyRules: the emergency patterns as an NLU component, after DIET and before the FallbackClassifier.

When ``telecare.assistant.emergency.match`` finds an emergency in the text, the message's
intent becomes ``emergency`` with confidence 1.0, whatever the model said: a confident
misclassification cannot hide an emergency (docs/assistant.md). ``emergency`` goes first
in the intent ranking, and the model's own guesses stay below it with confidence 0, so
the FallbackClassifier's ambiguity check (top two closer than its threshold) cannot turn
the emergency into ``nlu_fallback``. What matched is in the message's ``emergency_rule``
(part of the parse result): ``{"kind": "fall", "model_intent": {...}}``.

When no emergency matches but ``telecare.assistant.safeguarding.kind`` finds abuse or neglect
described, the intent becomes ``safeguarding`` at 1.0 the same way (the model's other guesses
keep half their confidences, for the other needs of the message), with ``safeguarding_rule`` in the
parse result.

The other way round, when the model alone says ``emergency`` (no rule matched) for a message that
asks what to do or how to tell, or is about the past or only a possibility
(``emergency.doubtful``), its next guess stands instead: the near misses stay near misses.

Rasa runs from the repository root (``rasa`` puts the working directory on sys.path), so
the pure-Python ``telecare.assistant.emergency`` imports here without the rest of telecare.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from telecare.assistant import emergency, safeguarding

logger = logging.getLogger(__name__)

EMERGENCY_RULE_KEY = "emergency_rule"
SAFEGUARDING_RULE_KEY = "safeguarding_rule"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyRules(GraphComponent, IntentClassifier):
    """Sets the intent to the configured emergency intent when an emergency rule matches."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent": "emergency",  # the intent an emergency becomes
            "safeguarding_intent": "safeguarding",  # the intent abuse or neglect described becomes
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.component_config = config
        self.intent = config.get("intent", "emergency")
        self.safeguarding_intent = config.get("safeguarding_intent", "safeguarding")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyRules:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn: the rules are code."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or not isinstance(text, str):
                continue
            kind = emergency.match(text)
            if kind is not None:
                self._override(message, kind)
                continue
            if self._model_says(message, self.intent) and emergency.doubtful(text):
                self._demote(message)
            concern = safeguarding.kind(text)
            if concern is not None:
                self._safeguarding(message, concern)
        return messages

    @staticmethod
    def _model_says(message: Message, intent: Text) -> bool:
        return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == intent

    def _demote(self, message: Message) -> None:
        """The model alone said emergency for a question ("what should I do if someone is choking"),
        the past or a possibility, where no rule matched: its next guess stands instead (the
        FallbackClassifier may then ask again). ``emergency_rule`` says so: ``{"demoted": ...}``."""
        model_intent = message.get(INTENT)
        ranking = [dict(r) for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != self.intent]
        if not ranking:
            return
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        message.set(EMERGENCY_RULE_KEY, {"kind": None, "demoted": model_intent}, add_to_output=True)

    def _safeguarding(self, message: Message, concern: str) -> None:
        """Abuse or neglect described (telecare/assistant/safeguarding.py): intent ``safeguarding`` at
        1.0; the model's other guesses keep half their confidences (well below it), so the other needs a
        message names ("...and she's got no food in") can still be recorded from the ranking."""
        model_intent: Optional[Dict[Text, Any]] = message.get(INTENT)
        ranking = [
            dict(r)
            for r in (message.get(INTENT_RANKING_KEY) or [])
            if r.get(INTENT_NAME_KEY) != self.safeguarding_intent
        ]
        for entry in ranking:  # halved: never within the FallbackClassifier's ambiguity threshold of 1.0
            entry[PREDICTED_CONFIDENCE_KEY] = 0.5 * float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        top = {INTENT_NAME_KEY: self.safeguarding_intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, dict(top), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(top)] + ranking, add_to_output=True)
        message.set(SAFEGUARDING_RULE_KEY, {"kind": concern, "model_intent": model_intent}, add_to_output=True)

    def _override(self, message: Message, kind: str) -> None:
        model_intent: Optional[Dict[Text, Any]] = message.get(INTENT)
        ranking = [dict(r) for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != self.intent]
        for entry in ranking:  # below the rule's certainty: no ambiguity for the FallbackClassifier
            entry[PREDICTED_CONFIDENCE_KEY] = 0.0
        top = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, dict(top), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(top)] + ranking, add_to_output=True)
        message.set(EMERGENCY_RULE_KEY, {"kind": kind, "model_intent": model_intent}, add_to_output=True)
        if not model_intent or model_intent.get(INTENT_NAME_KEY) != self.intent:
            logger.info(
                "emergency rule %r overrode the model's intent %r", kind, (model_intent or {}).get(INTENT_NAME_KEY)
            )
