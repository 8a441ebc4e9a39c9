"""The SDR queue in Slack: MQLs posted for a claim, high-intent alerts by DM.

Like bot/conversation.py, each function stores what happened first and then
talks to Slack. What may not happen twice (a queue post, an alert) is taken
with a compare-and-set in a short transaction of its own before the Web API
call, so two runs at once never send one thing twice.
"""

import logging
from itertools import groupby

from bot import messages
from bot.conversation import Reply, Services, is_allowed
from bot.db import session_scope
from bot.domain import alerts as pending_alerts
from bot.domain import mql as mqls
from bot.domain.alerts import Alert
from bot.models import Lead, Mql
from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.mrkdwn import date, escape, user
from bot.slack.poster import PostError

logger = logging.getLogger(__name__)


def deliver_intent(services: Services) -> None:
    """Post every MQL not yet in the queue, then send every pending alert."""
    post_new_mqls(services)
    send_intent_alerts(services)


def _may_have_happened(error: PostError) -> bool:
    # The connection dropped after the request left: Slack may have acted.
    return error.code == "connection_error"


def post_new_mqls(services: Services) -> None:
    queue = services.config.channels.queue
    if not queue:
        with session_scope(services.engine) as session:
            waiting = mqls.count_unposted(session=session)
        if waiting:
            logger.warning(
                "mqls not posted: channels.queue is not set in the config waiting=%s",
                waiting,
            )
        return

    with session_scope(services.engine) as session:
        taken = [
            (mql, session.get(Lead, mql.lead_id))
            for mql in mqls.take_unposted(session=session)
        ]
    for mql, lead in taken:
        _post_mql(services, queue, mql, lead)


def _post_mql(services: Services, queue: str, mql: Mql, lead: Lead) -> None:
    try:
        posted = services.poster.post(
            queue, blocks.mql_post(mql, lead, services.config)
        )
    except PostError as error:
        if _may_have_happened(error):
            # Slack may have posted it; posting again could show the lead
            # twice and let two SDRs claim two copies, so it stays 'posting'.
            logger.error(
                "mql post unconfirmed, not retried mql_id=%s channel=%s",
                mql.id,
                queue,
            )
            return
        logger.error(
            "mql post failed, will retry mql_id=%s channel=%s error=%s",
            mql.id,
            queue,
            error.code,
        )
        with session_scope(services.engine) as session:
            mqls.release_unposted(mql.id, session=session)
        return

    with session_scope(services.engine) as session:
        mqls.mark_posted(
            mql.id,
            channel_id=posted.channel_id,
            message_ts=posted.ts,
            session=session,
        )
    logger.info("mql posted mql_id=%s lead_id=%s channel=%s", mql.id, lead.id, queue)


def send_intent_alerts(services: Services) -> None:
    now = services.clock()
    with session_scope(services.engine) as session:
        taken = pending_alerts.take_pending(session=session, now=now)

    for user_id, group in groupby(taken, key=lambda alert: alert.user_id):
        latest = {alert.lead.id: alert for alert in group}
        alerts = sorted(latest.values(), key=lambda alert: alert.moment.at)
        for start in range(0, len(alerts), blocks.MAX_ALERT_LEADS):
            chunk = alerts[start : start + blocks.MAX_ALERT_LEADS]
            _send_alert(services, user_id, chunk, taken)


def _send_alert(
    services: Services, user_id: str, alerts: list[Alert], taken: list[Alert]
) -> None:
    lead_ids = {alert.lead.id for alert in alerts}
    # An SDR hears of a lead once per run, with its latest moment; the
    # earlier moments of those leads are sent (or released) with it.
    moment_ids = [
        alert.moment.id
        for alert in taken
        if alert.user_id == user_id and alert.lead.id in lead_ids
    ]
    try:
        dm_channel_id = services.poster.open_dm(user_id)
        services.poster.post(
            dm_channel_id, blocks.intent_alert_dm(alerts, services.command)
        )
    except PostError as error:
        if error.method == "chat.postMessage" and _may_have_happened(error):
            logger.error(
                "intent alert unconfirmed, not retried user_id=%s leads=%s",
                user_id,
                len(alerts),
            )
            return
        logger.error(
            "intent alert failed, will retry user_id=%s leads=%s error=%s",
            user_id,
            len(alerts),
            error.code,
        )
        with session_scope(services.engine) as session:
            pending_alerts.release(moment_ids, session=session)
        return
    logger.info("intent alert sent user_id=%s leads=%s", user_id, len(alerts))


def claim_mql(
    services: Services,
    *,
    user_id: str,
    mql_id: int,
    channel_id: str,
    message_ts: str,
    reply: Reply,
) -> None:
    """The Claim button: the first SDR to click owns the lead."""
    if not is_allowed(services, user_id):
        reply(Message(messages.CLAIM_NOT_ALLOWED.format(user_id=user_id)))
        return
    now = services.clock()
    try:
        with session_scope(services.engine) as session:
            result = mqls.claim(
                mql_id,
                user_id=user_id,
                session=session,
                config=services.config,
                now=now,
            )
    except mqls.MqlNotFound:
        logger.info("claim of unknown mql mql_id=%s user_id=%s", mql_id, user_id)
        reply(Message(messages.MQL_GONE))
        return

    if result.mql.claimed_by:
        # The loser's view was stale too: redrawn, it shows who has the lead.
        _redraw(services, channel_id, message_ts, result.mql, result.lead)
    lead = blocks.lead_title(result.lead)
    if result.is_won:
        query = result.lead.email or result.lead.domain or result.lead.company
        text = messages.CLAIMED.format(
            lead=lead, command=services.command, query=escape(query)
        )
    elif result.mql.claimed_by:
        logger.info(
            "mql claim lost mql_id=%s user_id=%s owner=%s",
            mql_id,
            user_id,
            result.mql.claimed_by,
        )
        text = messages.ALREADY_CLAIMED.format(
            owner=user(result.mql.claimed_by),
            since=date(result.mql.claimed_at),
            lead=lead,
        )
    else:
        text = messages.CLAIM_CLOSED.format(lead=lead)
    reply(Message(text))


def _redraw(
    services: Services, channel_id: str, message_ts: str, mql: Mql, lead: Lead
) -> None:
    """Update the queue post; the stored claim counts even if this fails."""
    try:
        services.poster.update(
            channel_id, message_ts, blocks.mql_post(mql, lead, services.config)
        )
    except PostError as error:
        logger.warning(
            "mql post not updated mql_id=%s channel=%s error=%s",
            mql.id,
            channel_id,
            error.code,
        )
