"""Who gets the next lead: rotations that skip people away or at capacity."""

import logging
from collections.abc import Collection
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser
from sqlalchemy import func, select
from sqlmodel import Session

from bot.config import Config
from bot.db import insert_ignoring_conflicts
from bot.models import Absence, Handoff, Lead, Mql, RoutingCursor

logger = logging.getLogger(__name__)

AE_POOL = "ae"
SDR_POOL = "sdr"
# Handoffs that still take an AE's time: not answered, or accepted with no
# meeting booked yet.
OPEN_HANDOFF_STATUSES = ("pending", "accepted")


def team_zone(config: Config) -> ZoneInfo:
    return ZoneInfo(config.sla.time_zone)


def parse_until(text: str, *, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The end of the day `text` names, in the team's zone, as an instant.

    "2026-12-10", "Dec 10", "friday", "next monday": someone away until a
    day is away all of that day, so the absence ends at the next midnight.
    None when the text names no date.
    """
    local_now = now.astimezone(zone)
    parsed = dateparser.parse(
        text,
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "TIMEZONE": str(zone),
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        return None
    next_day = parsed.date() + timedelta(days=1)
    return datetime.combine(next_day, time(0), tzinfo=zone)


def set_away(
    user_id: str, until: datetime, *, set_by: str, session: Session, now: datetime
) -> Absence:
    """Mark someone away until an instant, replacing any absence they had."""
    absence = session.get(Absence, user_id, with_for_update=True)
    if absence is None:
        absence = Absence(user_id=user_id, until=until, set_by=set_by, created_at=now)
        session.add(absence)
    else:
        absence.until, absence.set_by, absence.created_at = until, set_by, now
    logger.info("away set user_id=%s set_by=%s until=%s", user_id, set_by, until)
    return absence


def end_absence(user_id: str, *, session: Session, now: datetime) -> bool:
    """Bring someone back; False when they were not away."""
    absence = session.get(Absence, user_id, with_for_update=True)
    if absence is None:
        return False
    session.delete(absence)
    logger.info("away ended user_id=%s", user_id)
    return absence.until > now


def away_until(
    user_ids: Collection[str], *, session: Session, now: datetime
) -> dict[str, datetime]:
    """When each of these people who is away now comes back."""
    rows = session.execute(
        select(Absence.user_id, Absence.until).where(
            Absence.user_id.in_(set(user_ids)), Absence.until > now
        )
    )
    return {user_id: until for user_id, until in rows}


def is_away(user_id: str, *, session: Session, now: datetime) -> bool:
    return user_id in away_until([user_id], session=session, now=now)


def aes_at_capacity(config: Config, *, session: Session) -> set[str]:
    """AEs holding `routing.max_open_handoffs_per_ae` open handoffs or more."""
    limit = config.routing.max_open_handoffs_per_ae
    if not limit:
        return set()
    counts = session.execute(
        select(Handoff.ae_user_id, func.count())
        .where(
            Handoff.ae_user_id.in_(config.team.aes),
            Handoff.status.in_(OPEN_HANDOFF_STATUSES),
        )
        .group_by(Handoff.ae_user_id)
    )
    return {ae for ae, count in counts if count >= limit}


def sdrs_at_capacity(config: Config, *, session: Session) -> set[str]:
    """SDRs holding `routing.max_claimed_mqls_per_sdr` claimed MQLs or more."""
    limit = config.routing.max_claimed_mqls_per_sdr
    if not limit:
        return set()
    counts = session.execute(
        select(Mql.claimed_by, func.count())
        .where(Mql.claimed_by.in_(config.team.sdrs), Mql.status == "claimed")
        .group_by(Mql.claimed_by)
    )
    return {sdr for sdr, count in counts if count >= limit}


def next_in_rotation(
    pool: str,
    people: list[str],
    *,
    session: Session,
    now: datetime,
    skip: Collection[str] = (),
) -> str | None:
    """The next of `people` in the pool's turn who is not away or in `skip`.

    The turn moves past whoever is chosen; None when nobody can be chosen.
    """
    away = away_until(people, session=session, now=now)
    eligible = [p for p in people if p not in away and p not in skip]
    return _rotate(pool, people, eligible, session=session)


def _rotate(
    pool: str, people: list[str], eligible: list[str], *, session: Session
) -> str | None:
    if not eligible:
        return None
    insert_ignoring_conflicts(session, RoutingCursor, {"pool": pool, "position": 0})
    cursor = session.get(RoutingCursor, pool, with_for_update=True)
    for step in range(len(people)):
        index = (cursor.position + step) % len(people)
        if people[index] in eligible:
            cursor.position = (index + 1) % len(people)
            return people[index]
    return None


def pick_ae(
    lead: Lead,
    *,
    session: Session,
    config: Config,
    now: datetime,
    exclude: Collection[str] = (),
) -> str | None:
    """The lead's owner when an AE and not away, else the next AE in rotation.

    The rotation skips AEs who are away, at capacity or in `exclude`; when
    everyone else is at capacity, the least bad choice is an AE over it.
    None when every AE not excluded is away.
    """
    aes = config.team.aes
    owner = lead.owner_user_id
    if owner in aes and owner not in exclude:
        if not is_away(owner, session=session, now=now):
            return owner
        logger.info("owner away, routing on lead_id=%s owner=%s", lead.id, owner)

    full = aes_at_capacity(config, session=session)
    chosen = next_in_rotation(
        AE_POOL, aes, session=session, now=now, skip={*exclude, *full}
    )
    if chosen is None and full:
        logger.warning("every available AE is at capacity lead_id=%s", lead.id)
        chosen = next_in_rotation(AE_POOL, aes, session=session, now=now, skip=exclude)
    return chosen


def pick_ae_anyway(
    lead: Lead, *, session: Session, config: Config, now: datetime
) -> str:
    """pick_ae, falling back to the plain rotation when every AE is away.

    An SQL must go to someone: better an AE who is away than no one.
    """
    aes = config.team.aes
    if not aes:
        raise ValueError("team.aes is empty: no AE can receive the SQL")
    chosen = pick_ae(lead, session=session, config=config, now=now)
    if chosen is None:
        logger.warning("every AE is away, routing anyway lead_id=%s", lead.id)
        chosen = _rotate(AE_POOL, aes, aes, session=session)
    return chosen


def pick_sdr(
    config: Config,
    *,
    session: Session,
    now: datetime,
    exclude: Collection[str] = (),
) -> str | None:
    """The next SDR in rotation not away, at capacity or in `exclude`."""
    full = sdrs_at_capacity(config, session=session)
    return next_in_rotation(
        SDR_POOL,
        config.team.sdrs,
        session=session,
        now=now,
        skip={*exclude, *full},
    )
