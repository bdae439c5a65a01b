"""Splitting replies into SMS parts, and making them speakable (telecare/assistant/sms.py)."""

from __future__ import annotations

import random
import re

import pytest

from telecare.assistant.sms import PHONE, is_gsm7, plain, sms_length, speakable, split

SERVICES = (
    "Age UK Ashvale: free, confidential advice on benefits, pensions and bills. Call 01632 960123 or "
    "https://www.ageuk.org.uk/ashvale. Warm Homes Ashvale: grants and help with heating costs for people over 60 "
    "in Ashvale. Call 0800 123 4567. Ashvale Carers Centre: a break and a chat for people who look after someone. "
    "Call +44 1632 960456.\nIs there anything else that matters to you today?"
)


def words(text: str) -> list[str]:
    return text.split()


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_nothing_lost(text: str, parts: list[str]) -> None:
    assert squeezed("".join(parts)) == squeezed(text)
    assert words(" ".join(parts)) == words(text)


def test_short_text_is_one_part_unchanged():
    assert split("Hello, this is Ashvale Linkage.") == ["Hello, this is Ashvale Linkage."]
    assert split("  Hello.\n") == ["Hello."]


def test_empty_text_is_no_parts():
    assert split("") == []
    assert split("   \n ") == []


def test_parts_fit_the_limit_and_lose_nothing():
    parts = split(SERVICES)
    assert len(parts) > 1
    assert all(sms_length(p) <= 153 for p in parts)
    assert_nothing_lost(SERVICES, parts)


def test_cuts_at_sentence_ends_where_it_can():
    parts = split(SERVICES)
    for p in parts[:-1]:
        assert p.endswith((".", "?", "!")), p


def test_cuts_at_line_breaks():
    text = (
        "First line that is fairly long and says something useful to the reader.\n"
        "Second line that is also fairly long and says something else to the reader."
    )
    assert split(text, limit=100) == text.split("\n")


def test_never_splits_mid_word():
    text = " ".join(["wellbeing"] * 60)
    parts = split(text, limit=40, max_parts=100)
    for p in parts:
        assert len(p) <= 40
        assert set(p.split()) == {"wellbeing"}
    assert_nothing_lost(text, parts)


@pytest.mark.parametrize(
    "number", ["01632 960000", "0800 123 4567", "+44 7700 900123", "07700-900-123", "(01632) 960000"]
)
def test_a_phone_number_is_never_split(number):
    for pad in range(0, 60):
        text = "x" * pad + " " + "Please call " + number + " any weekday between nine and five, or text us."
        for limit in (20, 30, 40, 153):
            if pad >= limit:  # the x's alone are longer than a part: cut mid-"word" (tested below)
                continue
            parts = split(text, limit=limit, max_parts=100)
            assert_nothing_lost(text, parts)
            assert any(number in p for p in parts), (pad, limit, parts)


def test_phone_pattern():
    assert PHONE.search("call 01632 960000 now").group(0) == "01632 960000"
    assert PHONE.search("call +44 7700 900123.").group(0) == "+44 7700 900123"
    assert PHONE.search("postcode AV1 2AB") is None


def test_a_word_longer_than_a_part_is_cut_without_losing_text():
    url = "https://www.example.org.uk/" + "a" * 200
    text = f"See {url} for more."
    parts = split(text, limit=50)
    assert all(len(p) <= 50 for p in parts)
    assert squeezed("".join(parts)) == squeezed(text)


def test_at_most_six_parts_the_rest_goes_in_the_last():
    text = " ".join(f"Sentence number {i} is here." for i in range(80))
    parts = split(text, limit=60, max_parts=6)
    assert len(parts) == 6
    assert all(len(p) <= 60 for p in parts[:5])
    assert_nothing_lost(text, parts)


def test_gsm_extension_characters_count_twice():
    assert sms_length("a€b") == 4
    text = "€" * 100
    parts = split(text, limit=153)
    assert [sms_length(p) for p in parts] == [152, 48]


def test_text_outside_gsm7_uses_the_unicode_limit():
    text = "Hello 😀 " + "word " * 40
    assert not is_gsm7(text)
    parts = split(text)
    assert all(sms_length(p) <= 67 for p in parts)
    assert_nothing_lost(text, parts)


def test_plain_swaps_typographic_punctuation_for_gsm7():
    text = "It’s “fine” – really…"
    assert plain(text) == 'It\'s "fine" - really...'
    assert is_gsm7(plain(text))


def test_random_texts_lose_nothing_and_fit():
    rng = random.Random(7)
    vocab = [
        "help",
        "with",
        "heating",
        "bills.",
        "Call",
        "01632 960000",
        "or",
        "0800 123 4567.",
        "Age",
        "UK",
        "Ashvale:",
        "befriending",
        "\n",
        "questions?",
        "supercalifragilistic" * 3,
        "£20",
        "a",
        "I",
    ]
    for _ in range(300):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 120)))
        limit = rng.choice([30, 70, 153])
        parts = split(text, limit=limit, max_parts=100)
        if all(len(w) <= limit for w in text.split()):
            assert_nothing_lost(text, parts)
        else:  # a word longer than a part has to be cut
            assert squeezed("".join(parts)) == squeezed(text)
        assert all(sms_length(p) <= limit for p in parts), (limit, parts)
        for p in parts:
            assert p == p.strip() and p


def test_speakable_reads_phone_numbers_digit_by_digit():
    assert speakable("Call 01632 960000.") == "Call 0 1 6 3 2, 9 6 0 0 0 0."
    assert speakable("Call +44 7700 900123") == "Call plus 4 4, 7 7 0 0, 9 0 0 1 2 3"
    assert speakable("Ring 01632960000") == "Ring 0 1 6 3 2, 9 6 0 0 0 0"
    # short numbers, times, years and postcodes are left alone
    assert speakable("Call 999 at 10:00 in 2026 from AV1 2AB.") == "Call 999 at 10:00 in 2026 from AV1 2AB."


def test_speakable_drops_web_addresses():
    said = speakable("Age UK: advice. Call 01632 960123 or https://www.ageuk.org.uk/ashvale. Next one.")
    assert "http" not in said and "www" not in said
    assert said == "Age UK: advice. Call 0 1 6 3 2, 9 6 0 1 2 3. Next one."
    assert speakable("Mind: support. Visit www.mind.org.uk.") == "Mind: support."
