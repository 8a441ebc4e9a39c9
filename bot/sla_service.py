"""The worker's SLA pass: what the clocks call for, recorded in the outbox.

Deciding the notices and recording their messages happen in one transaction,
so a crash leaves either both or neither; the outbox sends them afterwards.
"""

import hashlib
import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.db import session_scope
from bot.domain import outbox
from bot.domain.sla import Notice, take_due
from bot.models import Lead
from bot.slack.sla_blocks import MAX_NOTICES, sla_message

logger = logging.getLogger(__name__)


def enqueue_due(engine: Engine, config: Config, now: datetime, limit: int = 500) -> int:
    """Take the clocks due by `now` and record one message per recipient.

    Returns how many clocks were taken: 0 means none is due any more.
    """
    with session_scope(engine) as session:
        work = take_due(session=session, config=config, now=now, limit=limit)
        notices = work.notices
        if not notices:
            return work.clocks
        lead_ids = {notice.lead_id for notice in notices}
        leads = {
            lead.id: lead
            for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))
        }

        recorded = 0
        for recipient, group in group_by_recipient(notices):
            message = sla_message(group, leads)
            recorded += outbox.enqueue(
                session,
                key=message_key(recipient, group),
                target=recipient,
                text=message.text,
                blocks=message.blocks,
                now=now,
            )
    logger.info(
        "sla notices queued clocks=%s notices=%s messages=%s",
        work.clocks,
        len(notices),
        recorded,
    )
    return work.clocks


def group_by_recipient(notices: list[Notice]) -> list[tuple[str, list[Notice]]]:
    """(recipient, notices) pairs, each small enough for one message.

    A recipient with more than MAX_NOTICES notices gets several messages.
    """
    by_recipient = defaultdict(list)
    for notice in notices:
        by_recipient[notice.recipient].append(notice)
    return [
        (recipient, group[start : start + MAX_NOTICES])
        for recipient, group in by_recipient.items()
        for start in range(0, len(group), MAX_NOTICES)
    ]


def message_key(recipient: str, notices: list[Notice]) -> str:
    """The outbox key of one grouped message: the same notices, the same key."""
    keys = "\n".join(sorted(notice.key for notice in notices))
    digest = hashlib.sha256(keys.encode()).hexdigest()[:32]
    return f"sla:{recipient}:{digest}"
