"""The need categories (DESIGN.md, "Need categories"): the assistant's contract. Every
enquiry records needs from this list, and every service in the directory says which of
them it helps with."""

from __future__ import annotations

NEEDS = (
    "emergency",
    "safeguarding",
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
    "other",
)

__all__ = ["NEEDS"]
