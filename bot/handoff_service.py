"""The AE's answer to a handoff in Slack, and the SDR's Contacted click.

Like bot/conversation.py, each function stores the answer first, in one
transaction with its compare-and-set, and only then talks to Slack: the DM
and the channel post are redrawn so that stale buttons go away, and the
people concerned are told. A refused Slack call never undoes the answer.
"""

import logging
from datetime import date

from bot import messages
from bot.conversation import Reply, Services, new_reference
from bot.db import session_scope
from bot.domain import handoffs, routing, touches
from bot.domain.handoffs import HandoffCard, HandoffChange, HandoffError
from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.mrkdwn import channel, escape, user
from bot.slack.mrkdwn import date as slack_date
from bot.slack.poster import PostError

logger = logging.getLogger(__name__)


def accept(services: Services, *, user_id: str, handoff_id: int, reply: Reply):
    change = _apply(services, reply, handoffs.accept, handoff_id, user_id=user_id)
    if change is None:
        return
    card = change.card
    lead = blocks.lead_title(card.lead)
    _redraw(services, card)
    _tell(
        services,
        card.sdr_user_id,
        Message(messages.ACCEPTED_SDR.format(ae=user(user_id), lead=lead)),
    )
    text = messages.ACCEPTED_REPLY.format(
        lead=lead, ae=user(card.handoff.ae_user_id), sdr=user(card.sdr_user_id)
    )
    reply(Message(text))


def reassign(services: Services, *, user_id: str, handoff_id: int, reply: Reply):
    """Move the handoff to the next AE in rotation, and tell both AEs."""
    change = _apply(services, reply, handoffs.reassign, handoff_id, user_id=user_id)
    if change is None:
        return
    card = change.card
    lead = blocks.lead_title(card.lead)
    new_ae = card.handoff.ae_user_id
    _redraw(services, card, dm_active=False)
    try:
        dm_channel_id = services.poster.open_dm(new_ae)
        dm = services.poster.post(
            dm_channel_id, blocks.handoff_dm(card, services.config)
        )
        with session_scope(services.engine) as session:
            handoffs.record_dm(card.handoff.id, dm.channel_id, dm.ts, session=session)
    except PostError as error:
        ref = new_reference()
        logger.error(
            "reassigned handoff dm failed ref=%s handoff_id=%s error=%s",
            ref,
            card.handoff.id,
            error.code,
        )
        reply(
            Message(
                messages.DM_FAILED.format(user=user(new_ae), error=error.code, ref=ref)
            )
        )
    if change.previous_ae != user_id:
        text = messages.REASSIGNED_AWAY.format(
            lead=lead, ae=user(new_ae), by=user(user_id)
        )
        _tell(services, change.previous_ae, Message(text))
    reply(Message(messages.REASSIGNED_REPLY.format(lead=lead, ae=user(new_ae))))


def open_modal(
    services: Services,
    *,
    action: str,
    user_id: str,
    handoff_id: int,
    trigger_id: str,
    reply: Reply,
) -> None:
    """Reject and Meeting booked ask for more first: check, then open the form."""
    try:
        with session_scope(services.engine) as session:
            card = handoffs.check_answerable(
                handoff_id,
                action,
                user_id=user_id,
                session=session,
                config=services.config,
            )
    except HandoffError as error:
        reply(_refusal(error))
        return
    if action == handoffs.REJECTED:
        view = blocks.reject_modal(card, services.config)
    else:
        today = services.clock().astimezone(routing.team_zone(services.config))
        view = blocks.meeting_modal(card, today.date())
    try:
        services.poster.open_modal(trigger_id, view)
    except PostError as error:
        # A trigger_id lives 3 seconds; past that Slack refuses the modal.
        logger.warning("handoff modal not opened error=%s", error.code)
        reply(Message(messages.HANDOFF_MODAL_FAILED))


def reject(
    services: Services, *, user_id: str, handoff_id: int, reason_code: str, note: str
) -> None:
    """From the Reject modal: the lead goes back to its SDR and to nurture."""
    reply = _reply_in_dm(services, user_id)
    change = _apply(
        services,
        reply,
        handoffs.reject,
        handoff_id,
        user_id=user_id,
        reason_code=reason_code,
        note=note,
    )
    if change is None:
        return
    card = change.card
    lead = card.lead
    _redraw(services, card)
    reason = services.config.handoff.reject_reasons[reason_code]
    said = f" “{escape(note)}”" if note else ""
    query = lead.email or lead.domain or lead.company
    _tell(
        services,
        card.sdr_user_id,
        Message(
            messages.REJECTED_SDR.format(
                ae=user(user_id),
                lead=blocks.lead_title(lead),
                reason=escape(reason),
                note=said,
                command=services.command,
                query=escape(query),
            )
        ),
    )
    _post_to_nurture(services, card, reply)


def book_meeting(
    services: Services, *, user_id: str, handoff_id: int, meeting_on: date, note: str
) -> None:
    """From the Meeting booked modal: store the date, tell the SDR."""
    reply = _reply_in_dm(services, user_id)
    change = _apply(
        services,
        reply,
        handoffs.book_meeting,
        handoff_id,
        user_id=user_id,
        meeting_on=meeting_on,
        note=note,
    )
    if change is None:
        return
    card = change.card
    _redraw(services, card)
    text = messages.MEETING_SDR.format(
        ae=user(user_id),
        lead=blocks.lead_title(card.lead),
        day=blocks.handoff_day(meeting_on),
    )
    _tell(services, card.sdr_user_id, Message(text))


def contacted(
    services: Services,
    *,
    user_id: str,
    lead_id: int,
    channel_id: str,
    message_ts: str,
    alert_blocks: list[dict],
    reply: Reply,
) -> None:
    """The Contacted button of a high-intent alert: the first touch is logged."""
    now = services.clock()
    try:
        with session_scope(services.engine) as session:
            lead = touches.record_touch(
                lead_id, user_id=user_id, session=session, now=now
            )
    except touches.LeadGone:
        reply(Message(messages.CONTACTED_GONE))
        return
    line = messages.CONTACTED_LINE.format(user=user(user_id), at=slack_date(now))
    if alert_blocks:
        _update(
            services,
            channel_id,
            message_ts,
            blocks.contacted_alert(alert_blocks, lead_id, line),
        )
    reply(Message(messages.CONTACTED_REPLY.format(lead=blocks.lead_title(lead))))


def _apply(services: Services, reply: Reply, step, handoff_id: int, **kwargs):
    """Run one domain answer in a transaction; a refusal is told, None returned."""
    try:
        with session_scope(services.engine) as session:
            change: HandoffChange = step(
                handoff_id,
                session=session,
                config=services.config,
                now=services.clock(),
                **kwargs,
            )
    except HandoffError as error:
        logger.info(
            "handoff answer refused handoff_id=%s user_id=%s reason=%s",
            handoff_id,
            kwargs.get("user_id"),
            type(error).__name__,
        )
        reply(_refusal(error))
        return None
    return change


def _refusal(error: HandoffError) -> Message:
    if isinstance(error, handoffs.NotYourHandoff):
        return Message(messages.HANDOFF_NOT_YOURS.format(ae=user(error.ae_user_id)))
    if isinstance(error, handoffs.HandoffAnswered):
        status = messages.HANDOFF_STATUS.get(error.status, error.status)
        return Message(messages.HANDOFF_ALREADY.format(status=status))
    if isinstance(error, handoffs.NoAeAvailable):
        return Message(messages.NO_AE_AVAILABLE.format(ae=user(error.ae_user_id)))
    if isinstance(error, handoffs.BadRejection):
        return Message(messages.REJECT_NOTE_NEEDED)
    return Message(messages.HANDOFF_GONE)


def _redraw(services: Services, card: HandoffCard, dm_active: bool = True) -> None:
    """Redraw the AE's DM and the handoff channel post as the handoff stands."""
    handoff = card.handoff
    config = services.config
    if handoff.dm_ts:
        _update(
            services,
            handoff.dm_channel_id,
            handoff.dm_ts,
            blocks.handoff_dm(card, config, active=dm_active),
        )
    if handoff.channel_ts:
        _update(
            services,
            handoff.channel_id,
            handoff.channel_ts,
            blocks.handoff_post(card, config),
        )


def _post_to_nurture(services: Services, card: HandoffCard, reply: Reply) -> None:
    nurture = services.config.channels.nurture
    try:
        services.poster.post(
            nurture, blocks.handoff_returned_post(card, services.config)
        )
    except PostError as error:
        ref = new_reference()
        logger.error(
            "returned handoff post failed ref=%s handoff_id=%s channel=%s error=%s",
            ref,
            card.handoff.id,
            nurture,
            error.code,
        )
        reply(
            Message(
                messages.HANDOFF_POST_FAILED.format(
                    channel=channel(nurture), error=error.code, ref=ref
                )
            )
        )


def _tell(services: Services, user_id: str, message: Message) -> None:
    """DM a person; the answer is stored either way, so a refusal is logged."""
    try:
        services.poster.post(services.poster.open_dm(user_id), message)
    except PostError as error:
        logger.warning("dm not sent user_id=%s error=%s", user_id, error.code)


def _reply_in_dm(services: Services, user_id: str) -> Reply:
    """A modal's submission has no response_url: replies go to the DM."""

    def reply(message: Message) -> None:
        _tell(services, user_id, message)

    return reply


def _update(services: Services, channel_id: str, ts: str, message: Message) -> None:
    try:
        services.poster.update(channel_id, ts, message)
    except PostError as error:
        logger.warning(
            "message not updated channel=%s error=%s", channel_id, error.code
        )
