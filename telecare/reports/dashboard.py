"""The dashboard's figures, from the alerts and devices tables.

Time to answer is measured against the telecare standard (TSA: 97.5% of alarm calls answered
within 60 s, 99% within 180 s). Here "answered" is the first of: someone accepted the alert,
help arrived, or staff resolved it. Alerts cancelled before anyone answered are left out
(nobody needed to answer); an alert still unanswered counts as a miss for each threshold it
has already passed, and is left out of a threshold it has not reached yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES, CANCELLED
from telecare.checkin.models import Checkin
from telecare.clock import from_epoch
from telecare.site.models import Device, Home, Resident

TSA_TARGETS = ((60, 0.975), (180, 0.99))
LOW_BATTERY = 20
ANSWER_BUCKETS = (
    (30, "≤30 s"),
    (60, "≤60 s"),
    (120, "≤2 min"),
    (180, "≤3 min"),
    (300, "≤5 min"),
    (600, "≤10 min"),
    (None, ">10 min"),
)
ARRIVAL_BUCKETS = (
    (900, "≤15 min"),
    (1800, "≤30 min"),
    (2700, "≤45 min"),
    (3600, "≤1 h"),
    (5400, "≤1½ h"),
    (None, ">1½ h"),
)


@dataclass
class Standard:
    within_s: int
    target: float
    answered: int = 0
    counted: int = 0

    @property
    def share(self) -> float | None:
        return self.answered / self.counted if self.counted else None

    @property
    def met(self) -> bool | None:
        return None if self.share is None else self.share >= self.target


@dataclass
class DeviceIssue:
    home: str
    device: str
    kind: str
    resident: str | None
    online: bool
    battery: int | None
    last_seen: datetime | None


@dataclass
class Dashboard:
    since: datetime
    until: datetime
    days: int
    alarms: int = 0
    by_type: list[tuple[str, int]] = field(default_factory=list)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    standards: list[Standard] = field(default_factory=list)
    answer_histogram: list[tuple[str, int]] = field(default_factory=list)
    answer_median_s: float | None = None
    arrival_histogram: list[tuple[str, int]] = field(default_factory=list)
    arrival_median_s: float | None = None
    arrival_p90_s: float | None = None
    arrivals: int = 0
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    open_by_priority: dict[str, int] = field(default_factory=dict)
    no_response_open: int = 0
    devices_total: int = 0
    devices_offline: int = 0
    devices_low_battery: int = 0
    device_issues: list[DeviceIssue] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _bucket(buckets: Sequence[tuple[int | None, str]], seconds: float) -> str:
    for limit, label in buckets:
        if limit is None or seconds <= limit:
            return label
    return buckets[-1][1]


def dashboard(
    session: Session, now: datetime, *, days: int = 7, tz: str = "Europe/London", issues_limit: int = 25
) -> Dashboard:
    since = now - timedelta(days=days)
    zone = ZoneInfo(tz)
    d = Dashboard(since=since, until=now, days=days, standards=[Standard(s, t) for s, t in TSA_TARGETS])
    rows = session.execute(
        select(
            Alert.type,
            Alert.state,
            Alert.opened_at,
            Alert.acknowledged_at,
            Alert.attending_at,
            Alert.resolved_at,
            Alert.outcome,
        ).where(Alert.category == "alarm", Alert.opened_at >= since)
    ).all()
    by_type: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    answers: list[float] = []
    arrivals: list[float] = []
    answer_hist: Counter[str] = Counter()
    arrival_hist: Counter[str] = Counter()
    for type_, state, opened, acked, attending, resolved, outcome in rows:
        d.alarms += 1
        by_type[type_] += 1
        d.by_hour[opened.astimezone(zone).hour] += 1
        if outcome:
            outcomes[outcome] += 1
        firsts = [t for t in (acked, attending) if t is not None]
        if not firsts and resolved is not None and state != CANCELLED:
            firsts = [resolved]
        if firsts:
            took = (min(firsts) - opened).total_seconds()
            answers.append(took)
            answer_hist[_bucket(ANSWER_BUCKETS, took)] += 1
            for st in d.standards:
                st.counted += 1
                st.answered += took <= st.within_s
        elif state != CANCELLED:
            waited = (now - opened).total_seconds()
            for st in d.standards:
                if waited > st.within_s:
                    st.counted += 1
        if attending is not None:
            took = (attending - opened).total_seconds()
            arrivals.append(took)
            arrival_hist[_bucket(ARRIVAL_BUCKETS, took)] += 1
    d.by_type = by_type.most_common()
    d.outcomes = outcomes.most_common()
    d.answer_histogram = [(label, answer_hist[label]) for _, label in ANSWER_BUCKETS]
    d.arrival_histogram = [(label, arrival_hist[label]) for _, label in ARRIVAL_BUCKETS]
    d.answer_median_s = _percentile(answers, 0.5)
    d.arrival_median_s = _percentile(arrivals, 0.5)
    d.arrival_p90_s = _percentile(arrivals, 0.9)
    d.arrivals = len(arrivals)

    d.open_by_priority = dict(
        session.execute(
            select(Alert.priority, func.count()).where(Alert.state.in_(ACTIVE_STATES)).group_by(Alert.priority)
        ).all()
    )
    d.no_response_open = (
        session.scalar(
            select(func.count()).select_from(Alert).where(Alert.state.in_(ACTIVE_STATES), Alert.no_response.is_(True))
        )
        or 0
    )

    d.devices_total = session.scalar(select(func.count()).select_from(Device)) or 0
    d.devices_offline = session.scalar(select(func.count()).select_from(Device).where(Device.online.is_(False))) or 0
    d.devices_low_battery = (
        session.scalar(select(func.count()).select_from(Device).where(Device.battery < LOW_BATTERY)) or 0
    )
    q = (
        select(Device, Home.ext_id, Resident.name)
        .join(Home, Home.id == Device.home_id)
        .outerjoin(Resident, Resident.id == Home.resident_id)
        .where((Device.online.is_(False)) | (Device.battery < LOW_BATTERY))
        .where(Resident.id.is_(None) | (Resident.state != "left"))  # the worklist: not homes whose resident left
        .order_by(Device.online, Device.battery, Home.ext_id)
        .limit(issues_limit)
    )
    for dev, home, resident in session.execute(q).all():
        d.device_issues.append(
            DeviceIssue(
                home,
                dev.ext_id,
                dev.kind,
                resident,
                dev.online,
                dev.battery,
                from_epoch(dev.last_seen_epoch) if dev.last_seen_epoch else None,
            )
        )
    return d


CHECKIN_ORDER = ("fine", "chat", "not_so_good", "help", "missed", "pending", "skipped", "cancelled")


def checkin_figures(session: Session, now: datetime, *, days: int = 7) -> list[tuple[str, int]]:
    """Check-ins due in the period by outcome (completed ones) or state (missed, pending...)."""
    rows = session.execute(
        select(Checkin.outcome, Checkin.state, func.count())
        .where(Checkin.due_at >= now - timedelta(days=days), Checkin.due_at <= now)
        .group_by(Checkin.outcome, Checkin.state)
    ).all()
    counts: Counter[str] = Counter()
    for outcome, state, n in rows:
        counts[outcome or state] += n
    return sorted(counts.items(), key=lambda kv: CHECKIN_ORDER.index(kv[0]) if kv[0] in CHECKIN_ORDER else 99)
