"""Who is on call for a team at an instant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from telecare.site.models import Contact, Team

from .windows import covers


def on_call(team: Team, when: datetime) -> list[Contact]:
    """Members whose shift covers ``when``, in rota order, each once."""
    out: list[Contact] = []
    for shift in team.shifts:
        if covers(shift.days, shift.start, shift.end, when, team.timezone) and shift.contact not in out:
            out.append(shift.contact)
    return out


def on_call_by_id(session: Session, team_ext: str, when: datetime) -> list[Contact]:
    from sqlalchemy import select

    team = session.scalars(select(Team).where(Team.ext_id == team_ext)).first()
    return on_call(team, when) if team else []
