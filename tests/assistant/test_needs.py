"""What a message says besides its main intent (telecare/assistant/needs.py)."""

from __future__ import annotations

import pytest

from telecare.assistant.needs import find_needs, find_phone, read, read_name


@pytest.mark.parametrize(
    "text, needs",
    [
        ("im 82 my heating is broken and i cant afford the bills", {"money_benefits", "home_repairs_adaptations"}),
        (
            "my husband died and im so lonely and i cant afford the heating bills",
            {"money_benefits", "loneliness_befriending"},
        ),
        ("need grab rails fitted and someone to help with my shopping", {"home_repairs_adaptations", "food_shopping"}),
        ("i want to learn to use my ipad to video call the grandchildren", {"digital_skills"}),
        (
            "I keep falling over at home and I feel so alone since my wife died",
            {"falls_prevention", "loneliness_befriending"},
        ),
        (
            "mum has been on her own since dad passed and she has stopped eating",
            {"loneliness_befriending", "food_shopping"},
        ),
        ("someone rang saying they were from my bank and wanted my bank details", {"scams_crime"}),
    ],
)
def test_several_needs_in_one_message(text, needs):
    assert needs <= set(find_needs(text))


@pytest.mark.parametrize(
    "text",
    [
        "please leave me alone",
        "I live alone but my daughter visits every day and I'm fine",
        "I can manage the stairs alone",
    ],
)
def test_alone_on_its_own_is_not_loneliness(text):
    assert "loneliness_befriending" not in find_needs(text)


@pytest.mark.parametrize(
    "text, on_behalf",
    [
        ("I feel lonely since my wife died", False),
        ("I miss my husband", False),
        ("my mum keeps forgetting things", True),
        ("my nan's lonely", True),
        ("can you help my mother", True),
        ("im ringing about my dad he cant get to his appointments", True),
    ],
)
def test_someone_asking_for_a_relative(text, on_behalf):
    assert read(text).on_behalf is on_behalf


def test_age_and_carer():
    assert read("I'm 82 and on my own").age == 82
    assert read("she's 91 years old").age == 91
    assert read("I look after my husband who has dementia").carer is True
    assert read("I have 10 cats").age is None


@pytest.mark.parametrize(
    "text, phone",
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("01632 960123", "+441632960123"),
        ("call me on 0163-296-0123 please", "+441632960123"),
        ("12345", None),
        ("my name is Mary", None),
    ],
)
def test_phone_numbers(text, phone):
    assert find_phone(text) == phone


@pytest.mark.parametrize(
    "text, name",
    [
        ("Mary Jones", "Mary Jones"),
        ("my name is edna price", "Edna Price"),
        ("it's Bob", "Bob"),
        ("07700 900123", None),
        ("", None),
    ],
)
def test_names(text, name):
    assert read_name(text) == name
