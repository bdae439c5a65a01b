"""How the assistant says things on each channel: SMS short, voice shorter and plain, web with links.

Plain language, short sentences, the person's own words where we can ("what matters to you?").
"""

from __future__ import annotations

import re

from telecare.directory.models import Service

NEED_LABELS = {
    "emergency": "an emergency",
    "safeguarding": "keeping someone safe",
    "money_benefits": "money and benefits",
    "loneliness_befriending": "company and someone to talk to",
    "falls_prevention": "avoiding falls",
    "home_repairs_adaptations": "repairs and changes at home",
    "telecare_alarms": "personal alarms",
    "carers_support": "support for carers",
    "transport": "getting out and about",
    "housing": "housing",
    "health_wellbeing": "health and wellbeing",
    "memory_dementia": "memory and dementia",
    "fire_home_safety": "fire and home safety",
    "scams_crime": "scams and crime",
    "digital_skills": "phones, computers and the internet",
    "food_shopping": "food and shopping",
    "social_care_assessment": "care and support at home",
    "other": "other things",
}

EXAMPLES = "money, feeling lonely, getting out and about, repairs at home, or a daily phone call"


def label(need: str) -> str:
    return NEED_LABELS.get(need, need.replace("_", " "))


def service_line(svc: Service, channel: str) -> str:
    """One service: name, what it does and how to reach it."""
    how = []
    if svc.phone:
        how.append(f"call {svc.phone}")
    if channel == "web" and svc.web:
        how.append(svc.web)
    elif not svc.phone and svc.web:
        how.append(svc.web)
    reach = (" " + " or ".join(how).capitalize() + ".") if how else ""
    if channel == "voice":
        return f"{svc.name}. {svc.description.rstrip('.')}.{reach}"
    return f"{svc.name}: {svc.description.rstrip('.')}.{reach}"


def you(on_behalf: bool, relative: str | None = None) -> tuple[str, str]:
    """('your', 'you') or ('their', 'them') for someone asking for a relative."""
    return ("their", "them") if on_behalf else ("your", "you")


def greeting(channel: str, name: str | None) -> str:
    hello = f"Hello {name.split()[0]}" if name else "Hello"
    if channel == "voice":
        return f"{hello}, this is Ashvale Linkage. In your own words, what would help you at the moment?"
    return (
        f"{hello}, this is Ashvale Linkage. I can help you find support and local services. "
        "What matters to you at the moment? Tell me in your own words what would help."
    )


# What people tell us before they say what they need: a word for it first (strengths-based
# practice: listen, acknowledge, then ask). Matched on their own words, most significant first.
_LOSS = re.compile(
    r"\b(?:died|passed away|passed on|passed last|lost my (?:wife|husband|partner|son|daughter|mum|"
    r"mother|dad|father|sister|brother|friend)|bereave\w*|widow(?:ed|er)?|since .{0,30}death|"
    r"funeral|lost (?:him|her) (?:last|this|in))\b",
    re.I,
)
_ALONE = re.compile(
    r"\b(?:on my own|by myself|all alone|alone|lonely|lonley|isolated|no one to talk|nobody to talk|"
    r"no-one to talk|never see anyone|don'?t see anyone)\b",
    re.I,
)
_STUCK = re.compile(
    r"\b(?:housebound|stuck (?:at home|indoors|in the house)|can'?t get out|since my (?:\w+ )?op)\b", re.I
)
_WORRY = re.compile(
    r"\b(?:worr(?:y|ied|ying)|anxious|scared|frightened|afraid|nervous|stress(?:ed|ful)?|"
    r"at my wits|can'?t cope|struggling|overwhelmed|desperate)\b",
    re.I,
)
_CARING = re.compile(
    r"\b(?:i look after|i care for|i'?m (?:his|her|their|a) carer|caring for|looking after my)\b", re.I
)


def acknowledge(text: str, on_behalf: bool = False) -> str:
    """A word for what the person told us (a loss, being alone, a worry, caring), or ""."""
    t = text or ""
    said: list[str] = []
    if _LOSS.search(t):
        said.append("I'm so sorry for your loss.")
    if _ALONE.search(t) and not on_behalf:
        said.append(
            "Being on your own can be really hard, and I'm glad you got in touch."
            if not said
            else "Being on your own after that can be really hard."
        )
    elif _CARING.search(t):
        said.append("Looking after someone is a lot to carry. Thank you for reaching out.")
    elif _STUCK.search(t) and not on_behalf:
        said.append("Being stuck at home is hard. Let's see what can help.")
    if _WORRY.search(t) and len(said) < 2:
        said.append(
            "It sounds like this has been a real worry." if on_behalf or not said else "Let's see what help there is."
        )
    return " ".join(said[:2])


def ask_postcode(on_behalf: bool, channel: str, ack: str = "") -> str:
    your, _ = you(on_behalf)
    near = "them" if on_behalf else "you"
    first = (ack + " ") if ack else "Thank you. "
    if channel == "voice":
        return f"{first}What's {your} postcode? You can also say the name of {your} town or village, or say skip."
    if channel == "sms":
        return f"{first}What's {your} postcode? Then I can find services near {near}. Or reply SKIP."
    return (
        f"{first}What's {your} postcode, or {your} town or village? Then I can find services near {near}. "
        "If you'd rather not say, choose Skip."
    )


def ask_postcode_again(channel: str) -> str:
    if channel == "voice":
        return (
            "Sorry, I didn't catch a postcode. Please say it again slowly, letter by letter, or say the name of "
            "your town or village. Or say skip."
        )
    if channel == "sms":
        return "Sorry, I didn't recognise a postcode. It looks like AV1 2AB. Or reply SKIP."
    return (
        "Sorry, I didn't recognise a postcode. It looks like AV1 2AB, or tell me your town or village. Or choose Skip."
    )


def outside_area(postcode: str, council: str) -> str:
    return f"{postcode} is outside {council}, so here are services that help anywhere in the UK."


def no_postcode(council: str) -> str:
    return f"That's fine. Here are services for everyone in {council} and across the UK."


def emergency(kind: str | None, channel: str) -> str:
    if kind == "fire":
        return "If there is a fire: get out, stay out and call 999 now."
    if channel == "voice":
        return "This sounds like an emergency. Please hang up and call 999 now."
    if kind in ("fall", None):
        return (
            "This sounds like an emergency. Please call 999 now. If you have a pendant alarm, press it. "
            "If you're on the floor, keep warm and don't try to get up too fast."
        )
    return (
        "This sounds like an emergency. Please call 999 now. If someone is unwell with you, stay with them "
        "if it's safe, and do what the 999 call handler tells you."
    )


def emergency_alerted(name: str | None) -> str:
    who = f"{name.split()[0]}'s" if name else "your"
    return f"I've also alerted {who} Linkage responders. Someone will call you."


def emergency_flagged() -> str:
    return "I've also told our team straight away."


def emergency_ask_phone(channel: str) -> str:
    """To someone in an emergency whose number we do not have: the same words whoever they say they are."""
    if channel == "voice":
        return "I've also told our team. What phone number can they call you back on?"
    return "I've also told our team, so someone can call you back urgently. What phone number can they call you on?"


def safeguarding(has_phone: bool, channel: str) -> str:
    first = "Thank you for telling me. This needs a person: someone from our team will call you back today"
    if has_phone:
        return first + ". If anyone is in danger right now, call 999."
    return "Thank you for telling me. This needs a person from our team. If anyone is in danger right now, call 999."


def ask_callback_phone(channel: str) -> str:
    return "What phone number can they call you on?"


def handoff(phone_known: bool, helpline: str, channel: str) -> str:
    if channel == "voice":
        return "Of course. Someone from our team will call you back, usually within one working day."
    return (
        "Of course. Someone from our team will call you back, usually within one working day. "
        f"If it's urgent, call {helpline}."
    )


def call_me_ask() -> str:
    return "Of course, we can ring you rather than write."


def call_me_booked(channel: str, again: bool) -> str:
    if again:
        return "Yes, someone from our team will ring you; you don't need to ask again. Is there anything else?"
    return (
        "Of course. Someone from our team will ring you on this number, usually within one working day, and "
        "we'll call rather than text from now on. Is there anything else?"
    )


def callback_booked(helpline: str) -> str:
    return f"Thank you. Someone will call you on that number. If it's urgent, call {helpline}."


def cannot_help_first(channel: str) -> str:
    if channel == "voice":
        return "Sorry, I'm not sure I understood. In a few words, what would help? For example money, company, or help at home."
    return f"Sorry, I'm not sure I understood. In a few words, what would help? For example: {EXAMPLES}."


def cannot_help(channel: str) -> str:
    return (
        "I'm sorry, I can't help with that myself. Would you like someone from our team to call you back? "
        + yes_or_no(channel)
    )


def no_callback(helpline: str) -> str:
    return f"OK. You can ring us on {helpline}, Monday to Friday 9am to 5pm. Take care."


def offer_intro(service_name: str, on_behalf: bool, channel: str = "web") -> str:
    _, them = you(on_behalf)
    return f"Would you like me to ask {service_name} to contact {them}? {yes_or_no(channel)}"


def yes_or_no(channel: str) -> str:
    if channel == "voice":
        return "Say yes or no, or press 1 for yes and 2 for no."
    if channel == "sms":
        return "Reply YES or NO."
    return "Yes or no?"


def ask_consent(service_name: str, on_behalf: bool, channel: str = "web") -> str:
    if on_behalf:
        return (
            f"To do that I'll share a name and phone number with {service_name}, only so they can get in touch. "
            f"Please check they're happy with that. Is that OK? {yes_or_no(channel)}"
        )
    return (
        f"To do that I'll share your name and phone number with {service_name}, only so they can contact you. "
        f"Is that OK? {yes_or_no(channel)}"
    )


def ask_name(on_behalf: bool, channel: str = "web") -> str:
    return "What name should they ask for?"


def ask_phone(on_behalf: bool, channel: str = "web") -> str:
    if channel == "voice":
        return "What phone number should they call? Say it, or key it in."
    return "What phone number should they call?"


def phone_again(channel: str = "web") -> str:
    if channel == "voice":
        return "Sorry, I didn't catch a phone number. Please say it again, or key it in."
    return "Sorry, that doesn't look like a UK phone number. Please send it like 07700 900123."


def name_again(channel: str = "web") -> str:
    if channel == "voice":
        return "Sorry, I didn't catch a name. What name should they ask for? Or say skip."
    if channel == "sms":
        return "Sorry, I didn't catch a name. What name should they ask for? Or reply SKIP."
    return "Sorry, I didn't catch a name. What name should they ask for? You can say skip if you'd rather not."


def resume_offer() -> str:
    return "When you're ready, we can carry on where we left off. Just say carry on."


def introduced(service_name: str, days: int | None, channel: str = "web") -> str:
    within = f" within {days} working days" if days else " soon"
    check = (
        "I'll ring you in a week to see it worked."
        if channel == "voice"
        else "I'll text you in a week to see it worked."
    )
    return f"Done. {service_name} will contact you{within}. {check} Is there anything else that matters to you today?"


def checkin_requested() -> str:
    return (
        "Done. Someone from our team will ring you to agree a time for your daily call. "
        "Is there anything else that matters to you today?"
    )


def consent_refused(svc: Service, channel: str) -> str:
    how = f" on {svc.phone}" if svc.phone else (f" at {svc.web}" if svc.web else "")
    return (
        f"That's fine, I haven't shared anything. You can contact {svc.name} yourself{how} whenever suits you. "
        "Is there anything else?"
    )


def intro_declined() -> str:
    return "That's fine. Is there anything else I can help with?"


def checkin_offer(on_behalf: bool, channel: str = "web") -> str:
    who = "them" if on_behalf else "you"
    return (
        f"We can ring {who} every day to check {'they are' if on_behalf else 'you are'} OK and have a chat. "
        f"Our team will call first to agree a time. To set it up I'll pass a name and phone number to them. "
        f"Is that OK? {yes_or_no(channel)}"
    )


def ring_for_a_chat(on_behalf: bool, services: list[Service], channel: str) -> str:
    """Someone asking for a person to ring them for a chat: telephone befriending and our daily call."""
    who = "them" if on_behalf else "you"
    lines = [f"Yes, there are people who would love to ring {who} for a chat."]
    for svc in services:
        lines.append(service_line(svc, channel))
    lines.append(f"We can also ring {who} every day ourselves, a short friendly call at a time that suits.")
    return (" " if channel == "voice" else "\n").join(lines)


def which_call(channel: str, befriender: str | None) -> str:
    if not befriender:
        return "Would you like our daily call? " + yes_or_no(channel)
    if channel == "voice":
        return (
            f"Would you like {befriender} to contact you? Say yes, or say daily call for ours, "
            "or press 1 for yes and 2 for no."
        )
    if channel == "sms":
        return f"Would you like {befriender} to contact you? Reply YES, or DAILY for our daily call, or NO."
    return f"Would you like {befriender} to contact you, or our daily call?"


def nothing_found(need: str, helpline: str) -> str:
    return f"I couldn't find a service for {label(need)} here. Our team can help: call {helpline}."


def anything_else() -> str:
    return "Is there anything else that matters to you today?"


def goodbye(name: str | None) -> str:
    who = f", {name.split()[0]}" if name else ""
    return f"Thank you for getting in touch{who}. Take care. You can contact us again any time."


def thanks() -> str:
    return "You're welcome. Is there anything else I can help with?"


def bot() -> str:
    return "I'm the Ashvale Linkage automated assistant. You can ask to talk to a person at any time."


def what_help() -> str:
    return "What would help you at the moment?"
