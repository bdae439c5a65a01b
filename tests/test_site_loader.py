"""The site file (DESIGN.md, "Site YAML") and ``linkage load``: load, reload, update, refuse."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import main
from telecare.site.loader import SiteError, load_site, parse_site
from telecare.site.models import Contact, Device, Home, Policy, Resident, ResidentContact, RotaShift, Team

SAMPLE_COUNTS = {
    "contacts": 5,
    "teams": 1,
    "rota_shifts": 3,
    "policies": 2,
    "residents": 1,
    "resident_contacts": 2,
    "homes": 1,
    "devices": 4,
}

BERT_ITEM = """\
  - id: bert
    name: Bert Brown
    contacts: [jim]
    home:
      id: {home}
      devices:
        - {{id: pendant-9, kind: pendant}}
"""
BERT = "residents:\n" + BERT_ITEM


def counts(sessions) -> dict[str, int]:
    with sessions() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Contact, Team, RotaShift, Policy, Resident, ResidentContact, Home, Device)
        }


def load(sessions, text, clock):
    with sessions() as s, s.begin():
        return load_site(s, text, clock.now())


def refuse(sessions, text, clock) -> SiteError:
    with pytest.raises(SiteError) as info:
        load(sessions, text, clock)
    return info.value


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line that contains ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def changed(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the sample"
    return text.replace(old, new)


# -- good files ---------------------------------------------------------------------------------
def test_design_example_loads_unchanged(sessions, clock, sample_site_text):
    report = load(sessions, sample_site_text, clock)

    assert counts(sessions) == SAMPLE_COUNTS
    assert report.changed
    assert report.created["residents"] == 1
    assert report.created["devices"] == 4


def test_loaded_site_keeps_what_the_file_says(site):
    with site() as s:
        betty = s.scalars(select(Resident).where(Resident.ext_id == "betty")).one()
        assert [c.ext_id for c in betty.contacts] == ["sue", "jim"]
        assert betty.befriender.ext_id == "anne"
        assert betty.checkin["policy"] == "wellbeing"
        devices = {d.ext_id: d for d in betty.homes[0].devices}
        assert devices["unit-1"].heartbeat_s == 15 * 60
        assert devices["bed-1"].watch == {"from": "22:00", "to": "07:00", "absence": 30 * 60}
        urgent = s.scalars(select(Policy).where(Policy.ext_id == "urgent")).one()
        assert [step["ack_within_s"] for step in urgent.steps] == [120, 180, None]
        assert urgent.attend_within_s == 45 * 60
        team = s.scalars(select(Team).where(Team.ext_id == "mobile-response")).one()
        assert [(sh.contact.ext_id, sh.start, sh.end) for sh in team.shifts] == [
            ("rhys", "08:00", "20:00"),
            ("priya", "20:00", "08:00"),
            ("priya", "08:00", "20:00"),
        ]


def test_second_load_changes_nothing(site, clock, sample_site_text):
    report = load(site, sample_site_text, clock)

    assert not report.changed
    assert sum(report.unchanged.values()) > 0
    assert counts(site) == SAMPLE_COUNTS


def test_update_changes_only_what_changed(site, clock, sample_site_text):
    text = changed(sample_site_text, '"+447700900202"', '"+447700900299"')
    text = changed(
        text,
        "        - {id: unit-1, kind: home_unit, heartbeat: 15m}\n",
        "        - {id: unit-1, kind: home_unit, heartbeat: 15m}\n        - {id: smoke-1, kind: smoke_detector}\n",
    )

    report = load(site, text, clock)

    assert dict(report.updated) == {"contacts": 1}
    assert dict(report.created) == {"devices": 1}
    assert counts(site) == {**SAMPLE_COUNTS, "devices": 5}
    with site() as s:
        assert s.scalars(select(Contact.phone).where(Contact.ext_id == "jim")).one() == "+447700900299"
        assert s.scalars(select(Contact.phone).where(Contact.ext_id == "sue")).one() == "+447700900201"


def test_whole_day_rota_and_compound_durations(site, clock, sample_site_text):
    text = changed(
        sample_site_text,
        '{contact: priya, days: [sat, sun], from: "08:00", to: "20:00"}',
        '{contact: priya, days: [sat, sun], from: "00:00", to: "24:00"}',
    )
    text = changed(text, "attend_within: 45m", "attend_within: 1h30m")

    report = load(site, text, clock)

    assert dict(report.updated) == {"teams": 1, "policies": 1}
    with site() as s:
        team = s.scalars(select(Team)).one()
        assert (team.shifts[2].start, team.shifts[2].end) == ("00:00", "24:00")
        assert s.scalars(select(Policy.attend_within_s).where(Policy.ext_id == "urgent")).one() == 5400


def test_empty_file_loads_nothing(sessions, clock):
    report = load(sessions, "", clock)

    assert not report.changed
    assert set(counts(sessions).values()) == {0}


# -- bad files: each refused with its line and a reason that names the thing ----------------------
def _bad_yaml_syntax(t):
    return changed(t, "name: Jim Brown,", "name: Jim Brown: x,"), "Jim Brown", "not valid YAML"


def _duplicate_key(t):
    t = changed(t, "    postcode: AV1 2AB\n", "    postcode: AV1 2AB\n    name: Betty Again\n")
    return t, "Betty Again", "'name' appears twice"


def _unknown_field(t):
    return changed(t, "postcode: AV1", "postcod: AV1"), "postcod:", "unknown field 'postcod'"


def _bad_duration(t):
    return changed(t, "ack_within: 3m", "ack_within: 3 minutes"), "3 minutes", "'3 minutes' is not a duration"


def _bad_time(t):
    t = changed(t, 'from: "20:00", to: "08:00"', 'from: "25:00", to: "08:00"')
    return t, "25:00", "'25:00' is not a time of day"


def _bad_phone(t):
    return changed(t, '"+447700900202"', '"07700 900202"'), "07700 900202", "'07700900202' is not a phone number"


def _unknown_rota_contact(t):
    return changed(t, "{contact: rhys,", "{contact: rhyss,"), "rhyss", "contact 'rhyss' is not defined"


def _unknown_resident_contact(t):
    return changed(t, "contacts: [sue, jim]", "contacts: [sue, jom]"), "jom", "contact 'jom' is not defined"


def _unknown_befriender(t):
    return changed(t, "befriender: anne", "befriender: anna"), "anna", "contact 'anna' is not defined"


def _unknown_team(t):
    t = changed(t, '["team:mobile-response"], via: [voice, sms]', '["team:mobile"], via: [voice, sms]')
    return t, '"team:mobile"', "team 'mobile' is not defined"


def _unknown_policy(t):
    return changed(t, "policy: wellbeing}", "policy: welbeing}"), "welbeing", "policy 'welbeing' is not defined"


def _device_twice(t):
    t = changed(
        t, "        - {id: bed-1,", "        - {id: pendant-1, kind: pendant, heartbeat: 1h}\n        - {id: bed-1,"
    )
    return t, "heartbeat: 1h", "device 'pendant-1' is listed twice"


def _home_of_two_residents(t):
    return t + BERT_ITEM.format(home="home-0001"), "id: home-0001\n", "home 'home-0001' also belongs to betty"


def _missing_ack_within(t):
    t = changed(
        t, "{notify: [resident.befriender], via: [sms], ack_within: 30m}", "{notify: [resident.befriender], via: [sms]}"
    )
    return t, "resident.befriender", "ack_within is needed"


BAD_FILES = [
    _bad_yaml_syntax,
    _duplicate_key,
    _unknown_field,
    _bad_duration,
    _bad_time,
    _bad_phone,
    _unknown_rota_contact,
    _unknown_resident_contact,
    _unknown_befriender,
    _unknown_team,
    _unknown_policy,
    _device_twice,
    _home_of_two_residents,
    _missing_ack_within,
]


def _expected_line(text: str, needle: str) -> int:
    if needle.endswith("\n"):  # the last occurrence (the second claim)
        return text[: text.rindex(needle)].count("\n") + 1
    return line_of(text, needle)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_bad_file_is_refused_with_line_and_reason(sessions, clock, sample_site_text, bad):
    text, needle, reason = bad(sample_site_text)

    error = refuse(sessions, text, clock)

    assert len(error.problems) == 1, error.problems
    problem = error.problems[0]
    assert problem.line == _expected_line(text, needle)
    assert reason in problem.message
    assert f"line {problem.line}:" in str(error)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_refused_file_loads_nothing(sessions, clock, sample_site_text, bad):
    text, _, _ = bad(sample_site_text)

    refuse(sessions, text, clock)

    assert set(counts(sessions).values()) == {0}


def test_refused_update_leaves_the_site_as_it_was(site, clock, sample_site_text):
    text = changed(sample_site_text, '"+447700900202"', '"+447700900299"')  # a good change...
    text = changed(text, "befriender: anne", "befriender: anna")  # ...and a bad one

    refuse(site, text, clock)

    assert counts(site) == SAMPLE_COUNTS
    with site() as s:
        assert s.scalars(select(Contact.phone).where(Contact.ext_id == "jim")).one() == "+447700900202"


def test_every_problem_is_listed_in_line_order(sessions, clock, sample_site_text):
    text = changed(sample_site_text, "befriender: anne", "befriender: anna")
    text = changed(text, "{contact: rhys,", "{contact: rhyss,")

    error = refuse(sessions, text, clock)

    assert [p.line for p in error.problems] == [line_of(text, "rhyss"), line_of(text, "anna")]


def test_home_already_owned_in_the_database_is_refused_with_its_line(site, clock):
    text = BERT.format(home="home-0001")

    error = refuse(site, text, clock)

    assert [p.line for p in error.problems] == [line_of(text, "id: home-0001")]
    assert "home 'home-0001' already belongs to resident 'betty'" in error.problems[0].message
    assert counts(site) == SAMPLE_COUNTS


def test_a_file_may_refer_to_contacts_already_loaded(site, clock):
    load(site, BERT.format(home="home-0002"), clock)

    assert counts(site)["residents"] == 2


def test_parse_site_rejects_a_file_that_is_not_a_mapping():
    with pytest.raises(SiteError) as info:
        parse_site("- just\n- a list\n")
    assert info.value.problems[0].line == 1


# -- the command line ----------------------------------------------------------------------------
def run_load(db_url, path):
    return CliRunner().invoke(main, ["load", str(path)], env={"DATABASE_URL": db_url})


def test_cli_load_good_file(db_url, tmp_path, sample_site_text):
    path = tmp_path / "site.yml"
    path.write_text(sample_site_text)

    first = run_load(db_url, path)
    second = run_load(db_url, path)

    assert first.exit_code == 0, first.output
    assert "residents: 1 new" in first.stdout
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.stdout


def test_cli_load_bad_file_exits_2_naming_the_line(db_url, tmp_path, sample_site_text):
    path = tmp_path / "site.yml"
    text = changed(sample_site_text, "ack_within: 3m", "ack_within: 3 minutes")
    path.write_text(text)

    result = run_load(db_url, path)

    assert result.exit_code == 2
    assert f"{path} line {line_of(text, '3 minutes')}:" in result.stderr
    assert "'3 minutes' is not a duration" in result.stderr
    assert "nothing was loaded" in result.stderr
