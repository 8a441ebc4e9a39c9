"""The qualification conversation: what the bot posts as an SDR goes along.

Listeners (and the terminal demo) call these functions with a Poster. Each
function stores what happened first, in one transaction, and only then talks
to Slack, so a failed or repeated Slack call never loses or doubles an answer.
"""

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot import messages
from bot.config import Config
from bot.db import insert_ignoring_conflicts, session_scope, utcnow
from bot.domain import decisions, handoffs, interviews, leads
from bot.domain.interpret import Interpreter, OfflineInterpreter
from bot.domain.interviews import InterviewState
from bot.models import Lead, SlackEvent
from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.mrkdwn import channel, date, escape, link, user
from bot.slack.poster import Poster, PostError

logger = logging.getLogger(__name__)

Reply = Callable[[Message], None]


@dataclass
class Services:
    """What every conversation step needs besides the request itself."""

    engine: Engine
    config: Config
    poster: Poster
    clock: Callable[[], datetime] = field(default=utcnow)
    command: str = "/qualify"
    interpreter: Interpreter = field(default_factory=OfflineInterpreter)


def new_reference() -> str:
    """A short code shown to the user and written to the log line of a failure."""
    return uuid.uuid4().hex[:8]


def is_allowed(services: Services, user_id: str) -> bool:
    team = services.config.team
    return user_id in team.sdrs or user_id in team.managers


def qualify(
    services: Services,
    *,
    user_id: str,
    query: str,
    trigger_id: str,
    channel_id: str,
    reply: Reply,
) -> None:
    """Handle `/qualify <lead>`: start, offer a choice, or ask for a new lead."""
    if not is_allowed(services, user_id):
        reply(Message(messages.NOT_ALLOWED.format(user_id=user_id)))
        return
    if query.lower() == "cancel":
        cancel_open_interview(services, user_id=user_id, reply=reply)
        return

    query, notes = split_call_notes(query)
    with session_scope(services.engine) as session:
        matches = leads.find_leads(query, session=session)
    if len(matches) == 1:
        begin(
            services, lead_id=matches[0].id, user_id=user_id, reply=reply, notes=notes
        )
        return
    if notes:
        # The notes cannot ride along through the picker or the modal.
        reply(Message(messages.NOTES_NOT_USED))
    if matches:
        reply(blocks.pick_lead_message(matches, query))
    else:
        _ask_for_new_lead(services, query, trigger_id, channel_id, reply)


def split_call_notes(text: str) -> tuple[str, str]:
    """`acme.com -- notes` or `acme.com` then notes on the next lines."""
    lead, separator, notes = text.partition("\n")
    if not separator:
        lead, separator, notes = text.partition(" -- ")
    return lead.strip(), notes.strip()


def _ask_for_new_lead(
    services: Services, query: str, trigger_id: str, channel_id: str, reply: Reply
) -> None:
    try:
        services.poster.open_modal(trigger_id, blocks.new_lead_modal(query, channel_id))
    except PostError as error:
        # A trigger_id lives 3 seconds; past that Slack refuses the modal.
        logger.warning("new lead modal not opened error=%s", error.code)
        reply(Message(messages.MODAL_FAILED.format(query=escape(query))))


def begin(
    services: Services,
    *,
    lead_id: int,
    user_id: str,
    reply: Reply,
    announce: bool = True,
    notes: str = "",
) -> None:
    """Open the interview in the SDR's DM and ask the first question."""
    if not is_allowed(services, user_id):
        reply(Message(messages.NOT_ALLOWED.format(user_id=user_id)))
        return
    dm_channel_id = services.poster.open_dm(user_id)
    now = services.clock()
    try:
        with session_scope(services.engine) as session:
            state = interviews.start_interview(
                lead_id,
                user_id,
                dm_channel_id,
                session=session,
                config=services.config,
                now=now,
            )
    except interviews.LeadTaken as taken:
        reply(_lead_taken_message(services, lead_id, taken))
        return
    except interviews.SdrBusy as busy:
        if busy.lead_id != lead_id:
            text = messages.SDR_BUSY.format(
                lead=escape(busy.lead_name), command=services.command
            )
            reply(Message(text))
            return
        # The same lead again: pick up where the SDR left off.
        with session_scope(services.engine) as session:
            interview_id = interviews.open_interview_of(user_id, session=session)
            state = interviews.load_interview(interview_id, session=session)

    if notes:
        state = prefill_from_notes(services, state, notes)
    posted = ask_next(services, state)
    if not announce:
        return
    url = services.poster.permalink(posted.channel_id, posted.ts) if posted else None
    lead = blocks.lead_title(state.lead)
    text = (
        messages.STARTED.format(lead=lead, link=link(url, "open it"))
        if url
        else messages.STARTED_NO_LINK.format(lead=lead)
    )
    reply(Message(text))


def _lead_taken_message(
    services: Services, lead_id: int, taken: interviews.LeadTaken
) -> Message:
    with session_scope(services.engine) as session:
        lead = session.get(Lead, lead_id)
    return Message(
        messages.LEAD_TAKEN.format(
            holder=user(taken.holder_user_id),
            lead=blocks.lead_title(lead),
            since=date(taken.since),
        )
    )


def ask_next(services: Services, state: InterviewState):
    """Post the open question, or the review when every question is answered."""
    if state.interview.status == interviews.REVIEW:
        return post_review(services, state)
    criterion = state.interview.current_criterion
    fit = interviews.fit_from_data(state.lead, services.config)
    message = blocks.question_message(state, criterion, services.config, fit)
    posted = services.poster.post(state.interview.dm_channel_id, message)
    with session_scope(services.engine) as session:
        interviews.record_asked(state.id, criterion, posted.ts, session=session)
    state.answers[criterion].question_ts = posted.ts
    return posted


def post_review(services: Services, state: InterviewState):
    now = services.clock()
    with session_scope(services.engine) as session:
        assessment = decisions.assess_interview(
            state, session=session, config=services.config, now=now
        )
    posted = services.poster.post(
        state.interview.dm_channel_id, blocks.review_message(state, assessment, now)
    )
    with session_scope(services.engine) as session:
        interviews.record_review_posted(state.id, posted.ts, session=session)
    state.interview.review_ts = posted.ts
    return posted


def refresh_review(services: Services, state: InterviewState) -> None:
    """Redraw the review in place after an answer changed."""
    if not state.interview.review_ts:
        post_review(services, state)
        return
    now = services.clock()
    with session_scope(services.engine) as session:
        assessment = decisions.assess_interview(
            state, session=session, config=services.config, now=now
        )
    _redraw(
        services,
        state.interview.dm_channel_id,
        state.interview.review_ts,
        blocks.review_message(state, assessment, now),
    )


def answer(
    services: Services,
    *,
    user_id: str,
    interview_id: int,
    criterion: str,
    level: int,
    channel_id: str,
    message_ts: str,
    reply: Reply,
) -> None:
    """A level button was clicked: record it, mark the question, move on."""
    try:
        with session_scope(services.engine) as session:
            progress = interviews.record_level(
                interview_id,
                criterion,
                level,
                user_id=user_id,
                session=session,
                now=services.clock(),
            )
    except interviews.InterviewError as error:
        reply(_refusal(error))
        return

    state = progress.state
    _redraw(
        services,
        channel_id,
        message_ts,
        blocks.answered_message(state, criterion, services.config),
    )
    if progress.advanced:
        ask_next(services, state)
    elif state.interview.status == interviews.REVIEW:
        refresh_review(services, state)


def note(
    services: Services,
    *,
    user_id: str,
    text: str,
    channel_id: str,
    event_id: str | None,
) -> None:
    """Typed text in the DM: the note of the open question, and proposals."""
    now = services.clock()
    with session_scope(services.engine) as session:
        if event_id and (
            insert_ignoring_conflicts(
                session, SlackEvent, {"event_id": event_id, "received_at": now}
            )
            is None
        ):
            logger.info("duplicate event ignored event_id=%s", event_id)
            return
        interview_id = interviews.open_interview_of(user_id, session=session)
        state, criterion = None, None
        if interview_id is not None:
            state, criterion = interviews.record_note(
                interview_id, text, user_id=user_id, session=session, now=now
            )

    if state is None:
        services.poster.post(
            channel_id,
            Message(messages.NO_OPEN_INTERVIEW_DM.format(command=services.command)),
        )
        return
    if criterion is None:
        services.poster.post(channel_id, Message(messages.REVIEW_PENDING_DM))
        return

    # Outside any transaction: a model may take seconds, and the note is safe.
    first, proposals = _propose(services, state, text, now)
    with session_scope(services.engine) as session:
        kept = interviews.record_proposals(
            interview_id, proposals, user_id=user_id, session=session
        )
        state = interviews.load_interview(interview_id, session=session)
    _redraw_question(services, state, criterion)
    services.poster.post(channel_id, _note_reply(services, criterion, first, kept))


def prefill_from_notes(
    services: Services, state: InterviewState, notes: str
) -> InterviewState:
    """Propose every open question the call notes speak to."""
    today = services.clock().date()
    keys = [k for k in state.interview.questions if state.answers[k].level is None]
    if not keys:
        return state
    read = _read_all(services, keys, notes, today)
    distinct, seen = [], set()
    for proposal in read:
        if proposal.is_confident and proposal.evidence not in seen:
            seen.add(proposal.evidence)
            distinct.append(proposal)
    with session_scope(services.engine) as session:
        kept = interviews.record_proposals(
            state.id,
            distinct,
            user_id=state.interview.sdr_user_id,
            session=session,
            note_prefix=messages.FROM_NOTES,
        )
        state = interviews.load_interview(state.id, session=session)
    logger.info("call notes read interview_id=%s proposals=%s", state.id, len(kept))
    return state


def _own_interview(
    services: Services, interview_id: int, user_id: str, reply: Reply
) -> InterviewState | None:
    """The interview, when it is this SDR's; else they are told whose it is."""
    with session_scope(services.engine) as session:
        state = interviews.load_interview(interview_id, session=session)
    if state.interview.sdr_user_id != user_id:
        reply(_refusal(interviews.NotYourInterview(state.interview.sdr_user_id)))
        return None
    return state


def open_notes_modal(
    services: Services,
    *,
    user_id: str,
    interview_id: int,
    trigger_id: str,
    reply: Reply,
) -> None:
    state = _own_interview(services, interview_id, user_id, reply)
    if state is None:
        return
    try:
        services.poster.open_modal(trigger_id, blocks.call_notes_modal(interview_id))
    except PostError as error:
        logger.warning("notes modal not opened error=%s", error.code)
        reply(Message(messages.CHANGE_MODAL_FAILED))


def paste_notes(
    services: Services, *, user_id: str, interview_id: int, notes: str
) -> None:
    """Call notes from the modal: propose what they answer, redraw, summarise."""
    with session_scope(services.engine) as session:
        state = interviews.load_interview(interview_id, session=session)
    if state.interview.sdr_user_id != user_id or state.interview.status not in (
        interviews.OPEN_STATUSES
    ):
        logger.warning("call notes refused interview_id=%s", interview_id)
        return
    before = {k for k, a in state.answers.items() if a.proposed_level is not None}
    state = prefill_from_notes(services, state, notes)
    criteria = services.config.matrix.criteria
    lines = [
        blocks.proposal_line(criteria[k], a.proposed_level, a.proposal_evidence)
        for k, a in state.answers.items()
        if a.proposed_level is not None and a.level is None and k not in before
    ]
    current = state.interview.current_criterion
    if current:
        _redraw_question(services, state, current)
    text = (
        messages.NOTES_READ.format(lines="\n".join(lines))
        if lines
        else messages.NOTES_NOTHING
    )
    services.poster.post(state.interview.dm_channel_id, Message(text))


def _propose(services: Services, state: InterviewState, text: str, now: datetime):
    """What the interpreter reads in the text for every question still open.

    Words already taken as the open question's answer are not read again for
    another ("money set aside for Q3" is a budget, not a timeline).
    """
    today = now.date()
    current = state.interview.current_criterion
    keys = [current] + [
        key
        for key in state.interview.questions
        if key != current and state.answers[key].level is None
    ]
    read = _read_all(services, keys, text, today)
    first, others = read[0], read[1:]
    taken = first.evidence if first.is_confident else None
    return first, [first] + [p for p in others if p.evidence != taken]


def _read_all(services: Services, keys: list[str], text: str, today) -> list:
    """The interpreter's reading of `text` for each criterion, in order.

    One call per criterion, side by side: a slow model costs one timeout.
    """
    with ThreadPoolExecutor(len(keys)) as pool:
        return list(
            pool.map(lambda key: services.interpreter.interpret(key, text, today), keys)
        )


def _note_reply(services, criterion: str, first, proposals: list) -> Message:
    """What the bot understood, or the one question that would settle it."""
    criteria = services.config.matrix.criteria
    label = escape(criteria[criterion].label)
    if not any(p.criterion == criterion for p in proposals):
        if first.follow_up:
            return Message(
                messages.FOLLOW_UP.format(
                    criterion=label, question=escape(first.follow_up)
                )
            )
        return Message(messages.NOTE_SAVED.format(criterion=label))
    lines = [
        blocks.proposal_line(criteria[p.criterion], p.level, p.evidence)
        for p in proposals
    ]
    text = messages.UNDERSTOOD.format(lines="\n".join(lines))
    return Message(text)


def _redraw_question(services: Services, state: InterviewState, criterion: str) -> None:
    answer_row = state.answers[criterion]
    if answer_row.question_ts:
        fit = interviews.fit_from_data(state.lead, services.config)
        _redraw(
            services,
            state.interview.dm_channel_id,
            answer_row.question_ts,
            blocks.question_message(state, criterion, services.config, fit),
        )


def open_change_modal(
    services: Services,
    *,
    user_id: str,
    interview_id: int,
    trigger_id: str,
    reply: Reply,
) -> None:
    state = _own_interview(services, interview_id, user_id, reply)
    if state is None:
        return
    if state.interview.status not in interviews.OPEN_STATUSES:
        reply(_refusal(interviews.InterviewClosed(state.interview.status)))
        return
    try:
        services.poster.open_modal(
            trigger_id, blocks.change_answers_modal(state, services.config)
        )
    except PostError as error:
        logger.warning("change modal not opened error=%s", error.code)
        reply(Message(messages.CHANGE_MODAL_FAILED))


def change(
    services: Services,
    *,
    user_id: str,
    interview_id: int,
    changes: dict[str, tuple[int | None, str | None]],
) -> None:
    """Edits saved from the Change modal: store them and redraw the review."""
    try:
        with session_scope(services.engine) as session:
            state = interviews.change_answers(
                interview_id,
                changes,
                user_id=user_id,
                session=session,
                now=services.clock(),
            )
    except interviews.InterviewError as error:
        # The modal was already closed; nothing changed, and the review says
        # how the interview stands.
        logger.warning("change refused interview_id=%s reason=%s", interview_id, error)
        return
    if state.interview.status == interviews.REVIEW:
        refresh_review(services, state)
    else:
        ask_next(services, state)


def cancel(
    services: Services, *, user_id: str, interview_id: int, reply: Reply
) -> None:
    now = services.clock()
    try:
        with session_scope(services.engine) as session:
            state = interviews.finish_interview(
                interview_id,
                interviews.CANCELLED,
                user_id=user_id,
                session=session,
                now=now,
            )
            assessment = decisions.assess_interview(
                state, session=session, config=services.config, now=now
            )
    except interviews.InterviewError as error:
        reply(_refusal(error))
        return
    summary = messages.CANCELLED.format(lead=blocks.lead_title(state.lead))
    _close_review(services, state, assessment, summary, now)
    reply(Message(summary))


def _close_review(services, state, assessment, summary: str, now: datetime) -> None:
    """Replace the review's buttons with how it ended."""
    if state.interview.review_ts:
        _redraw(
            services,
            state.interview.dm_channel_id,
            state.interview.review_ts,
            blocks.closed_review_message(state, assessment, summary, now),
        )


def cancel_open_interview(services: Services, *, user_id: str, reply: Reply) -> None:
    with session_scope(services.engine) as session:
        interview_id = interviews.open_interview_of(user_id, session=session)
    if interview_id is None:
        reply(Message(messages.NOTHING_TO_CANCEL.format(command=services.command)))
        return
    cancel(services, user_id=user_id, interview_id=interview_id, reply=reply)


def submit(
    services: Services, *, user_id: str, interview_id: int, reply: Reply
) -> None:
    """Decide, store, then post: a second click finds the interview submitted."""
    now = services.clock()
    try:
        with session_scope(services.engine) as session:
            state = interviews.finish_interview(
                interview_id,
                interviews.SUBMITTED,
                user_id=user_id,
                session=session,
                now=now,
            )
            result = decisions.record_decision(
                state, session=session, config=services.config, now=now
            )
    except interviews.InterviewError as error:
        reply(_refusal(error))
        return

    summary = publish(services, state, result, now)
    _close_review(services, state, result.assessment, summary, now)
    services.poster.post(state.interview.dm_channel_id, Message(summary))


def publish(
    services: Services,
    state: InterviewState,
    result: decisions.DecisionResult,
    now: datetime,
) -> str:
    """Post the decision where the team sees it; the SDR's summary comes back."""
    channels = services.config.channels
    scorecard = result.assessment.scorecard
    problems: list[str] = []
    if scorecard.is_sql:
        post_link = _publish_sql(services, state, result, now, problems)
        summary = messages.SUBMITTED_SQL.format(
            lead=blocks.lead_title(state.lead),
            total=scorecard.total,
            max_total=scorecard.max_total,
            ae=user(result.handoff.ae_user_id),
            link=link(post_link, messages.VIEW_POST) if post_link else "",
        )
    else:
        posted = _try_post(
            services,
            channels.nurture,
            blocks.nurture_post(state, result, now),
            problems,
        )
        post_link = (
            services.poster.permalink(posted.channel_id, posted.ts) if posted else None
        )
        with session_scope(services.engine) as session:
            decisions.record_posts(
                result.decision.id,
                session=session,
                channel_id=posted and posted.channel_id,
                message_ts=posted and posted.ts,
                permalink=post_link,
            )
        summary = messages.SUBMITTED_NURTURE.format(
            lead=blocks.lead_title(state.lead),
            total=scorecard.total,
            max_total=scorecard.max_total,
            link=link(post_link, messages.VIEW_POST) if post_link else "",
        )
    return "\n".join([summary.strip(), *problems])


def _publish_sql(
    services: Services,
    state: InterviewState,
    result: decisions.DecisionResult,
    now: datetime,
    problems: list[str],
) -> str | None:
    channels = services.config.channels
    posted = _try_post(
        services, channels.sql, blocks.sql_post(state, result, now), problems
    )
    sql_link = (
        services.poster.permalink(posted.channel_id, posted.ts) if posted else None
    )
    brief = services.interpreter.write_brief(_recorded_notes(services, state))
    # The DM and the post are drawn from what is stored, as every answer
    # to the handoff redraws them.
    with session_scope(services.engine) as session:
        decisions.record_posts(
            result.decision.id,
            session=session,
            channel_id=posted and posted.channel_id,
            message_ts=posted and posted.ts,
            permalink=sql_link,
        )
        handoffs.record_brief(result.handoff.id, brief, session=session)
        card = handoffs.load_card(result.handoff.id, session=session)
    ae_user_id = result.handoff.ae_user_id
    dm = None
    try:
        dm_channel_id = services.poster.open_dm(ae_user_id)
        dm = services.poster.post(
            dm_channel_id, blocks.handoff_dm(card, services.config)
        )
    except PostError as error:
        ref = new_reference()
        logger.error(
            "handoff dm failed ref=%s decision_id=%s error=%s",
            ref,
            result.decision.id,
            error.code,
        )
        problems.append(
            messages.DM_FAILED.format(user=user(ae_user_id), error=error.code, ref=ref)
        )
    handoff_posted = _try_post(
        services,
        channels.handoff,
        blocks.handoff_post(card, services.config),
        problems,
    )
    with session_scope(services.engine) as session:
        decisions.record_handoff_posts(
            result.handoff.id,
            session=session,
            dm_channel_id=dm and dm.channel_id,
            dm_ts=dm and dm.ts,
            channel_id=handoff_posted and handoff_posted.channel_id,
            channel_ts=handoff_posted and handoff_posted.ts,
        )
    return sql_link


def _recorded_notes(services: Services, state: InterviewState) -> dict[str, str]:
    criteria = services.config.matrix.criteria
    return {
        criteria[key].label: answer.note
        for key, answer in state.answers.items()
        if answer.note and key in criteria
    }


def _try_post(
    services: Services, channel_id: str, message: Message, problems: list[str]
):
    try:
        return services.poster.post(channel_id, message)
    except PostError as error:
        ref = new_reference()
        logger.error(
            "channel post failed ref=%s channel=%s error=%s",
            ref,
            channel_id,
            error.code,
        )
        problems.append(
            messages.POST_FAILED.format(
                channel=channel(channel_id), error=error.code, ref=ref
            )
        )
        return None


def _redraw(services: Services, channel_id: str, ts: str, message: Message) -> None:
    """Update a message in place; a stale message is no reason to stop.

    What was stored is what counts, so a refused chat.update (the message was
    deleted, say) is logged and the conversation goes on.
    """
    try:
        services.poster.update(channel_id, ts, message)
    except PostError as error:
        logger.warning(
            "message not updated channel=%s error=%s", channel_id, error.code
        )


def _refusal(error: interviews.InterviewError) -> Message:
    if isinstance(error, interviews.NotYourInterview):
        return Message(messages.NOT_YOURS.format(owner=user(error.owner_user_id)))
    if isinstance(error, interviews.InterviewClosed):
        return Message(messages.CLOSED.format(status=error.status))
    return Message(messages.NOT_ASKED)


def create_and_begin(
    services: Services, *, user_id: str, company: str, domain: str
) -> None:
    """The New lead modal was submitted: store the lead (or reuse it) and begin."""
    with session_scope(services.engine) as session:
        lead = leads.find_company_lead(
            company, domain, session=session
        ) or leads.create_lead(company, domain, session=session)
        lead_id = lead.id
    dm_channel_id = services.poster.open_dm(user_id)

    def reply_in_dm(message: Message) -> None:
        services.poster.post(dm_channel_id, message)

    begin(services, lead_id=lead_id, user_id=user_id, reply=reply_in_dm, announce=False)
