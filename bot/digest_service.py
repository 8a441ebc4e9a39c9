"""The worker's digest pass: each channel's digest recorded in the outbox.

A digest is recorded under the key `digest:{channel}:{local_date}`, so two
workers, or a worker restarted mid-pass, record it once; the outbox sends it.
"""

import logging
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import messages
from bot.config import Config
from bot.db import session_scope
from bot.domain import outbox
from bot.domain.digest import build_digest, previous_business_day
from bot.domain.digest_schedule import (
    DueDigest,
    due_digests,
    key_prefix,
    outbox_key,
)
from bot.domain.sla import schedule_of
from bot.models import OutboxMessage

logger = logging.getLogger(__name__)

# (session, config, channel, day reported on, zone) -> (text, blocks)
Render = Callable[..., tuple[str, list]]


def enqueue_digests(
    engine: Engine, config: Config, now: datetime, *, render: Render | None = None
) -> int:
    """Record every digest due by `now` that is not recorded yet; how many."""
    targets = config.digest.targets(config)
    if not targets:
        return 0
    render = render or render_digest
    schedule = schedule_of(config.sla)
    zones = {channel: zone for channel, _, zone in targets}

    with Session(engine) as session:
        due = due_digests(
            targets,
            now,
            lambda channel: last_sent_day(channel, session=session),
            is_working_day=schedule.is_working_day,
        )
    recorded = 0
    for digest in due:
        with session_scope(engine) as session:
            recorded += _record(
                session, config, digest, zones[digest.channel], render, now
            )
    return recorded


def last_sent_day(channel: str, *, session: Session) -> date | None:
    """The latest local day a digest was recorded for `channel`, if any."""
    prefix = key_prefix(channel)
    key = session.scalar(
        select(func.max(OutboxMessage.idempotency_key)).where(
            OutboxMessage.idempotency_key.startswith(prefix, autoescape=True)
        )
    )
    return None if key is None else date.fromisoformat(key[len(prefix) :])


def render_digest(
    *, session: Session, config: Config, channel: str, day: date, zone: ZoneInfo
) -> tuple[str, list]:
    """The digest of `day` as a Slack message."""
    # Imported here so the schedule runs (and is tested) apart from the blocks.
    from bot.slack.digest_blocks import digest_message

    message = digest_message(
        build_digest(session=session, config=config, day=day, zone=zone)
    )
    return message.text, message.blocks


def mark_late(text: str, blocks: list, due_at: datetime) -> tuple[str, list]:
    """The message with "(late: due 08:30)" on its first line and its header."""
    late = messages.DIGEST_LATE.format(due=due_at.strftime("%H:%M"))
    first, _, rest = text.partition("\n")
    text = f"{first} {late}" + (f"\n{rest}" if rest else "")
    blocks = [dict(block) for block in blocks]
    for block in blocks:
        if block.get("type") == "header":
            title = block["text"]
            block["text"] = {**title, "text": f"{title['text']} {late}"[:150]}
            break
    return text, blocks


def _record(
    session: Session,
    config: Config,
    digest: DueDigest,
    zone: ZoneInfo,
    render: Render,
    now: datetime,
) -> bool:
    day = previous_business_day(digest.local_date, schedule_of(config.sla))
    text, blocks = render(
        session=session, config=config, channel=digest.channel, day=day, zone=zone
    )
    if digest.is_late:
        text, blocks = mark_late(text, blocks, digest.due_at)
    recorded = outbox.enqueue(
        session,
        key=outbox_key(digest.channel, digest.local_date),
        target=digest.channel,
        text=text,
        blocks=blocks,
        now=now,
    )
    logger.info(
        "digest queued channel=%s local_date=%s day=%s late=%s recorded=%s",
        digest.channel,
        digest.local_date,
        day,
        digest.is_late,
        recorded,
    )
    return recorded


def chart_for(engine: Engine, config: Config, message: OutboxMessage):
    """The 14-day chart that goes with a digest message, None for others.

    Rendered when the digest is sent, from the same day the digest reports
    on (the key names the local day it was due).
    """
    from bot.chart import render_chart
    from bot.domain.digest_series import daily_series
    from bot.outbox_sender import Attachment

    key = message.idempotency_key
    if not key.startswith("digest:"):
        return None
    channel, _, local_date = key.removeprefix("digest:").rpartition(":")
    zones = {target: zone for target, _, zone in config.digest.targets(config)}
    zone = zones.get(channel, ZoneInfo(config.digest.time_zone))
    day = previous_business_day(date.fromisoformat(local_date), schedule_of(config.sla))
    with Session(engine) as session:
        series = daily_series(session=session, config=config, end_day=day, zone=zone)
    return Attachment(
        filename=f"qualify-digest-{day.isoformat()}.png",
        content=render_chart(series),
        title=messages.DIGEST_CHART_TITLE.format(day=day.isoformat()),
    )
