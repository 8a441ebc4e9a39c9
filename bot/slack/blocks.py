"""Block Kit layouts for every message and modal the bot sends.

Only this module (with bot/slack/mrkdwn.py) decides how things look in Slack;
everything typed by a person or imported from a file goes through `escape`.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime

from bot import messages
from bot.config import Config
from bot.domain.alerts import Alert
from bot.domain.decisions import Assessment, DecisionResult
from bot.domain.fit import FitAssessment
from bot.domain.handoffs import ACCEPTED, PENDING, HandoffCard
from bot.domain.interviews import InterviewState
from bot.domain.scoring import CriterionScore, Scorecard
from bot.models import Lead, Mql
from bot.slack.mrkdwn import clip, date, escape, link, quote, user
from bot.templating import render

ANSWER = "answer"
PICK_LEAD = "pick_lead"
SUBMIT = "review_submit"
CHANGE = "review_change"
CANCEL = "review_cancel"
NEW_LEAD_VIEW = "new_lead"
CHANGE_VIEW = "change_answers"
PASTE_NOTES = "paste_notes"
NOTES_VIEW = "call_notes"
CLAIM_MQL = "claim_mql"
HANDOFF_ACCEPT = "handoff_accept"
HANDOFF_REJECT = "handoff_reject"
HANDOFF_REASSIGN = "handoff_reassign"
HANDOFF_MEETING = "handoff_meeting"
REJECT_VIEW = "handoff_reject"
MEETING_VIEW = "handoff_meeting"
CONTACTED = "contacted"
SECTION_LIMIT = 3000
MAX_PICKS = 10
MAX_INPUT = 3000
# Leads per alert DM: a block each, far below Slack's 50 blocks per message.
MAX_ALERT_LEADS = 20
MAX_SIGNALS = 6


@dataclass(frozen=True)
class Message:
    """What chat.postMessage needs: a notification text and the blocks."""

    text: str
    blocks: list[dict] = field(default_factory=list)


def section(text: str) -> dict:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)},
    }


def context(text: str) -> dict:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(text, 3000)}],
    }


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, 75)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def lead_title(lead: Lead) -> str:
    """The lead as a reader recognises it, escaped for mrkdwn.

    Also used in a message's top-level `text`, which Slack parses for
    mentions just like a block's mrkdwn.
    """
    return escape(clip(lead.display_name, 150))


def lead_facts(lead: Lead) -> str:
    facts = [lead.title, lead.email, lead.domain, lead.industry, lead.country]
    if lead.employees is not None:
        facts.append(f"{lead.employees:,} employees")
    return " · ".join(escape(clip(fact, 120)) for fact in facts if fact)


def help_message(config: Config, command: str) -> Message:
    matrix = config.matrix
    fit_key = matrix.criterion_for("icp")
    text = render(
        "help.mrkdwn.j2",
        command=command,
        questions=[
            c.label for c in matrix.criteria.values() if c.source == "interview"
        ],
        fit_label=matrix.criteria[fit_key].label if fit_key else "",
        rules=[rule.reason.lower() for rule in matrix.rules.values()],
        threshold=matrix.threshold,
        max_total=matrix.max_total,
    )
    return Message(text=text, blocks=[section(text)])


def pick_lead_message(leads: list[Lead], query: str) -> Message:
    if len(leads) > MAX_PICKS:
        text = messages.PICK_LEAD_MORE.format(
            count=MAX_PICKS, query=escape(clip(query, 200))
        )
    else:
        text = messages.PICK_LEAD.format(
            count=len(leads), query=escape(clip(query, 200))
        )
    blocks = [section(text)]
    for lead in leads[:MAX_PICKS]:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{lead_title(lead)}*\n{lead_facts(lead)}",
                },
                "accessory": button("Qualify", f"{PICK_LEAD}:{lead.id}", str(lead.id)),
            }
        )
    return Message(text=text, blocks=blocks)


def new_lead_modal(query: str, channel_id: str) -> dict:
    guess_domain = query if "." in query and " " not in query else ""
    guess_company = "" if guess_domain else query
    return {
        "type": "modal",
        "callback_id": NEW_LEAD_VIEW,
        "private_metadata": json.dumps({"channel_id": channel_id}),
        "title": {"type": "plain_text", "text": messages.NO_MATCH_MODAL_TITLE},
        "submit": {"type": "plain_text", "text": "Start interview"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(messages.NO_MATCH_INTRO.format(query=escape(clip(query, 200)))),
            _text_input("company", messages.MODAL_COMPANY_LABEL, guess_company, 200),
            _text_input("domain", messages.MODAL_DOMAIN_LABEL, guess_domain, 253),
        ],
    }


def _text_input(
    block_id: str, label: str, initial: str, max_length: int, multiline: bool = False
) -> dict:
    element = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = clip(initial, max_length)
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": multiline,
    }


def question_message(
    state: InterviewState, criterion_key: str, config: Config, fit: FitAssessment | None
) -> Message:
    criterion = config.matrix.criteria[criterion_key]
    step, steps = state.step_of(criterion_key)
    answer = state.answers[criterion_key]
    text = (
        f"*{lead_title(state.lead)}* · question {step} of {steps}\n"
        f"*{escape(criterion.label)}* (weight {criterion.weight}×)\n"
        f"{escape(criterion.question)}"
    )
    blocks = [section(text)]
    if criterion.source == "icp" and fit is not None:
        known = fit.explain() or "no firmographics stored"
        blocks.append(context(f"Stored data: {escape(known)}"))
    if answer.note:
        blocks.append(section(f"*Your note*\n{quote(answer.note)}"))
    proposed = answer.proposed_level
    if proposed is not None:
        blocks.append(
            section(proposal_line(criterion, proposed, answer.proposal_evidence))
        )
    value = {"i": state.id, "c": criterion_key}

    def level_button(level: int, action: str, text: str, style=None) -> dict:
        payload = json.dumps({**value, "l": level}, separators=(",", ":"))
        return button(text, f"{ANSWER}:{action}", payload, style)

    elements = [
        level_button(level, str(level), f"{level} · {label}")
        for level, label in enumerate(criterion.levels)
        if level != proposed
    ]
    if proposed is not None:
        accept = f"Accept {proposed} · {criterion.levels[proposed]}"
        elements.insert(0, level_button(proposed, "accept", accept, "primary"))
    elements.append(button("Paste call notes", PASTE_NOTES, str(state.id)))
    blocks.append(
        {"type": "actions", "block_id": f"levels:{criterion_key}", "elements": elements}
    )
    blocks.append(
        context("Or type what you heard; I'll keep it as the note for this question.")
    )
    return Message(text=f"{criterion.label}: {criterion.question}", blocks=blocks)


def proposal_line(criterion, level: int, evidence: str) -> str:
    """*Budget* → *2 · Planned, not yet allocated* — “money set aside for q3”."""
    line = (
        f"*{escape(criterion.label)}* → *{level} · {escape(criterion.levels[level])}*"
    )
    return f"{line} — “{escape(clip(evidence, 300))}”" if evidence else line


def answered_message(
    state: InterviewState, criterion_key: str, config: Config
) -> Message:
    criterion = config.matrix.criteria[criterion_key]
    answer = state.answers[criterion_key]
    step, steps = state.step_of(criterion_key)
    recorded = f"{answer.level} · {escape(criterion.levels[answer.level])}"
    text = (
        f"*{lead_title(state.lead)}* · question {step} of {steps}\n"
        f":white_check_mark: *{escape(criterion.label)}* → *{recorded}*"
    )
    blocks = [section(text)]
    if answer.note:
        blocks.append(section(f"*Note*\n{quote(answer.note)}"))
    return Message(text=f"{criterion.label}: recorded {answer.level}", blocks=blocks)


def _score_line(score: CriterionScore) -> str:
    line = (
        f"*{escape(score.label)}* · {score.level} · {escape(score.level_text)}"
        f" · {score.weight}× = *{score.points}*"
    )
    return f"{line}\n{quote(score.note, 600)}" if score.note else line


def _total(scorecard: Scorecard) -> str:
    return f"{scorecard.total}/{scorecard.max_total}"


def _outcome_line(scorecard: Scorecard) -> str:
    outcome = "Sales Qualified Lead" if scorecard.is_sql else "Nurture"
    return (
        f"*Total {scorecard.total}/{scorecard.max_total}* → *{outcome}* "
        f"(bar {scorecard.threshold})\n"
        + "\n".join(f"• {escape(r)}" for r in scorecard.reasons)
    )


def _breakdown_blocks(assessment: Assessment, now: datetime) -> list[dict]:
    """One section per criterion (engagement's note names its signals)."""
    scorecard = assessment.scorecard
    blocks = [section(_score_line(score)) for score in scorecard.scores]
    blocks.append(section(_outcome_line(scorecard)))
    return blocks


def review_message(
    state: InterviewState, assessment: Assessment, now: datetime
) -> Message:
    value = str(state.id)
    blocks = [header(f"Review: {clip(state.lead.display_name, 130)}")]
    blocks += _breakdown_blocks(assessment, now)
    blocks.append(
        {
            "type": "actions",
            "block_id": "review",
            "elements": [
                button("Submit", SUBMIT, value, style="primary"),
                button("Change an answer", CHANGE, value),
                {
                    **button("Cancel", CANCEL, value, style="danger"),
                    "confirm": {
                        "title": {
                            "type": "plain_text",
                            "text": "Cancel this interview?",
                        },
                        "text": {
                            "type": "plain_text",
                            "text": "Your answers will not be posted.",
                        },
                        "confirm": {"type": "plain_text", "text": "Cancel interview"},
                        "deny": {"type": "plain_text", "text": "Keep it"},
                    },
                },
            ],
        }
    )
    scorecard = assessment.scorecard
    return Message(
        text=f"Review {lead_title(state.lead)}: {_total(scorecard)}",
        blocks=blocks,
    )


def closed_review_message(
    state: InterviewState, assessment: Assessment, summary: str, now: datetime
) -> Message:
    """The review once submitted or cancelled: same breakdown, no buttons."""
    blocks = [header(f"Review: {clip(state.lead.display_name, 130)}")]
    blocks += _breakdown_blocks(assessment, now)
    blocks.append(section(summary))
    return Message(text=summary, blocks=blocks)


def call_notes_modal(interview_id: int) -> dict:
    return {
        "type": "modal",
        "callback_id": NOTES_VIEW,
        "private_metadata": str(interview_id),
        "title": {"type": "plain_text", "text": "Paste call notes"},
        "submit": {"type": "plain_text", "text": "Read them"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            section(messages.NOTES_INTRO),
            {
                "type": "input",
                "block_id": "notes",
                "label": {"type": "plain_text", "text": "Call notes"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_INPUT,
                },
            },
        ],
    }


def change_answers_modal(state: InterviewState, config: Config) -> dict:
    blocks = []
    for key in state.interview.questions:
        criterion = config.matrix.criteria[key]
        answer = state.answers[key]
        options = [
            {
                "text": {"type": "plain_text", "text": clip(f"{level} · {label}", 75)},
                "value": str(level),
            }
            for level, label in enumerate(criterion.levels)
        ]
        select = {"type": "static_select", "action_id": "level", "options": options}
        if answer.level is not None:
            select["initial_option"] = options[answer.level]
        blocks.append(
            {
                "type": "input",
                "block_id": f"level:{key}",
                "label": {"type": "plain_text", "text": criterion.label},
                "element": select,
            }
        )
        if len(answer.note) <= MAX_INPUT:
            label = f"{criterion.label} note"
            blocks.append(
                _text_input(f"note:{key}", label, answer.note, MAX_INPUT, True)
            )
        else:
            # Slack's inputs hold 3,000 characters; editing here would cut it.
            blocks.append(
                context(messages.NOTE_TOO_LONG.format(length=len(answer.note)))
            )
    return {
        "type": "modal",
        "callback_id": CHANGE_VIEW,
        "private_metadata": str(state.id),
        "title": {"type": "plain_text", "text": messages.MODAL_CHANGE_TITLE},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": blocks,
    }


def _people_line(state: InterviewState, ae_user_id: str | None) -> str:
    line = f"SDR {user(state.interview.sdr_user_id)}"
    return f"{line} · AE {user(ae_user_id)}" if ae_user_id else line


def sql_post(state: InterviewState, result: DecisionResult, now: datetime) -> Message:
    """The SQL channel post: everything the SDR learned, for the AE and the team."""
    scorecard = result.assessment.scorecard
    ae = result.handoff.ae_user_id if result.handoff else None
    blocks = [
        header(f"SQL: {clip(state.lead.display_name, 140)}"),
        section(f"{lead_facts(state.lead)}\n{_people_line(state, ae)}"),
        *_breakdown_blocks(result.assessment, now),
        context(f"Matrix {scorecard.matrix_version} · decided {date(now)}"),
    ]
    return Message(
        text=f"SQL: {lead_title(state.lead)} ({_total(scorecard)})",
        blocks=blocks,
    )


def handoff_dm(card: HandoffCard, config: Config, active: bool = True) -> Message:
    """The AE's DM: the call, the score, and the buttons the handoff has now.

    An inactive DM (the handoff moved to another AE) keeps no buttons.
    """
    scorecard = card.scorecard
    intro = (
        f"{user(card.sdr_user_id)} qualified *{lead_title(card.lead)}* "
        f"and it's yours: *{scorecard.total}/{scorecard.max_total}*."
    )
    if card.decision.permalink:
        intro += f" {link(card.decision.permalink, 'See the SQL post')}"
    brief = card.handoff.brief
    blocks = [
        section(intro),
        section(f"*Call summary*\n{escape(brief)}" if brief else ae_brief(card)),
        section(lead_facts(card.lead) or "No firmographics stored."),
    ]
    blocks += [section(_score_line(score)) for score in scorecard.scores]
    blocks.append(section(_outcome_line(scorecard)))
    blocks += _handoff_footer(card, config, active)
    return Message(text=f"New SQL for you: {lead_title(card.lead)}", blocks=blocks)


def ae_brief(card: HandoffCard) -> str:
    """The call in the SDR's words: each asked question's note, else its level."""
    asked = set(card.questions)
    items = [
        {
            "label": escape(score.label),
            "said": f"“{escape(clip(score.note, 400))}”"
            if score.note
            else escape(score.level_text.lower()),
        }
        for score in card.scorecard.scores
        if score.criterion in asked
    ]
    lead = card.lead
    contact = " · ".join(
        escape(part) for part in (lead.name, lead.title, lead.email) if part
    )
    return render("ae_brief.mrkdwn.j2", items=items, contact=contact or "not stored")


def handoff_post(card: HandoffCard, config: Config) -> Message:
    """The handoff channel's line, with the same buttons for a manager."""
    scorecard = card.scorecard
    text = (
        f"*{lead_title(card.lead)}* → {user(card.handoff.ae_user_id)} "
        f"from {user(card.sdr_user_id)} · {_total(scorecard)}"
    )
    if card.decision.permalink:
        text += f" · {link(card.decision.permalink, 'details')}"
    blocks = [section(text), *_handoff_footer(card, config)]
    return Message(text=f"Handoff: {lead_title(card.lead)}", blocks=blocks)


def handoff_day(day) -> str:
    """A calendar day as people write it: Tuesday 15 December 2026."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _answer_line(answer, reasons: dict[str, str]) -> str:
    who, when = user(answer.user_id), date(answer.at)
    if answer.action == "accepted":
        line = messages.HANDOFF_ACCEPTED_LINE.format(user=who, at=when)
    elif answer.action == "rejected":
        reason = reasons.get(answer.reason_code, answer.reason_code or "")
        line = messages.HANDOFF_REJECTED_LINE.format(
            user=who, at=when, reason=escape(reason)
        )
    elif answer.action == "reassigned":
        line = messages.HANDOFF_REASSIGNED_LINE.format(
            user=who,
            at=when,
            from_ae=user(answer.ae_user_id),
            to_ae=user(answer.to_user_id),
        )
    else:
        line = messages.HANDOFF_MEETING_LINE.format(
            user=who, at=when, day=handoff_day(answer.meeting_on.date())
        )
    return f"{line} — “{escape(clip(answer.note, 300))}”" if answer.note else line


def _handoff_footer(card: HandoffCard, config: Config, active: bool = True) -> list:
    """How the handoff stands, then the buttons it has now (none once closed)."""
    blocks = []
    if card.answers:
        reasons = config.handoff.reject_reasons
        lines = [_answer_line(answer, reasons) for answer in card.answers[-5:]]
        blocks.append(context("\n".join(lines)))
    value = str(card.handoff.id)
    reject = button("Reject", HANDOFF_REJECT, value, style="danger")
    if not active:
        elements = []
    elif card.status == PENDING:
        elements = [
            button("Accept", HANDOFF_ACCEPT, value, style="primary"),
            reject,
            button("Reassign", HANDOFF_REASSIGN, value),
        ]
    elif card.status == ACCEPTED:
        elements = [
            button("Meeting booked", HANDOFF_MEETING, value, style="primary"),
            reject,
        ]
    else:
        elements = []
    if elements:
        blocks.append({"type": "actions", "block_id": "handoff", "elements": elements})
    return blocks


def handoff_returned_post(card: HandoffCard, config: Config) -> Message:
    """Nurture's post of a lead an AE sent back, with the AE's reason."""
    answer = card.answers[-1]
    reason = config.handoff.reject_reasons.get(answer.reason_code, "")
    text = messages.HANDOFF_RETURNED_POST.format(
        lead=lead_title(card.lead),
        ae=user(answer.user_id),
        sdr=user(card.sdr_user_id),
        reason=escape(reason),
    )
    if answer.note:
        text += f"\n{quote(answer.note, 600)}"
    blocks = [
        header(f"Nurture: {clip(card.lead.display_name, 130)}"),
        section(f"{lead_facts(card.lead)}\n{text}"),
    ]
    return Message(
        text=f"Nurture: {lead_title(card.lead)} (returned: {escape(reason)})",
        blocks=blocks,
    )


def reject_modal(card: HandoffCard, config: Config) -> dict:
    reasons = config.handoff
    options = [
        {"text": {"type": "plain_text", "text": clip(label, 75)}, "value": code}
        for code, label in reasons.reject_reasons.items()
    ]
    needs_note = [reasons.reject_reasons[code] for code in reasons.note_required]
    note = _text_input("note", messages.REJECT_NOTE_LABEL, "", MAX_INPUT, True)
    if needs_note:
        note["hint"] = {
            "type": "plain_text",
            "text": messages.REJECT_NOTE_HINT.format(reasons=", ".join(needs_note)),
        }
    metadata = {"h": card.handoff.id, "n": reasons.note_required}
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": {"type": "plain_text", "text": "Reject handoff"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            section(messages.REJECT_INTRO.format(lead=lead_title(card.lead))),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": "reason",
                    "options": options,
                },
            },
            note,
        ],
    }


def meeting_modal(card: HandoffCard, today) -> dict:
    note = _text_input("note", messages.MEETING_NOTE_LABEL, "", MAX_INPUT, True)
    return {
        "type": "modal",
        "callback_id": MEETING_VIEW,
        "private_metadata": str(card.handoff.id),
        "title": {"type": "plain_text", "text": "Meeting booked"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            section(messages.MEETING_INTRO.format(lead=lead_title(card.lead))),
            {
                "type": "input",
                "block_id": "date",
                "label": {"type": "plain_text", "text": "Meeting date"},
                "element": {
                    "type": "datepicker",
                    "action_id": "date",
                    "initial_date": today.isoformat(),
                },
            },
            note,
        ],
    }


def nurture_post(
    state: InterviewState, result: DecisionResult, now: datetime
) -> Message:
    scorecard = result.assessment.scorecard
    weakest = scorecard.weakest()
    why = "\n".join(
        f"• {escape(score.label)} {score.level} · {escape(score.level_text)}"
        for score in weakest
    )
    blocks = [
        header(f"Nurture: {clip(state.lead.display_name, 130)}"),
        section(f"{lead_facts(state.lead)}\n{_people_line(state, None)}"),
        section(f"*Why nurture*\n{why}" if why else "*Why nurture*"),
        *_breakdown_blocks(result.assessment, now),
        context(f"Matrix {scorecard.matrix_version} · decided {date(now)}"),
    ]
    labels = ", ".join(score.label for score in weakest) or "total below the bar"
    return Message(
        text=f"Nurture: {lead_title(state.lead)} ({labels})",
        blocks=blocks,
    )


def _level(config: Config, source: str, level: int | None) -> str:
    """`3 · Strong recent intent`, with the rubric's words where there are any."""
    if level is None:
        return "unknown"
    key = config.matrix.criterion_for(source)
    if key is None:
        return str(level)
    return f"{level} · {escape(config.matrix.criteria[key].levels[level])}"


def _signal_lines(signals: list[str]) -> str:
    shown = [f"• {escape(clip(str(signal), 200))}" for signal in signals[:MAX_SIGNALS]]
    return "\n".join(shown) or "• none stored"


def mql_post(mql: Mql, lead: Lead, config: Config) -> Message:
    """The queue post of an MQL: a Claim button, or who claimed it and when."""
    if mql.reason == "hand_raiser":
        why = messages.MQL_WHY_HAND_RAISER.format(days=config.mql.hand_raiser_days)
    else:
        why = messages.MQL_WHY_SCORE.format(
            min_engagement=config.mql.min_engagement, min_fit=config.mql.min_fit
        )
    levels = (
        f"*Engagement {_level(config, 'engagement', mql.engagement_level)}* · "
        f"*Fit {_level(config, 'icp', mql.fit_level)}*"
    )
    blocks = [
        header(f"MQL: {clip(lead.display_name, 140)}"),
        section(lead_facts(lead) or "No firmographics stored."),
        section(f"{levels}\n{why}"),
        section(f"*Signals*\n{_signal_lines(mql.signals)}"),
    ]
    if mql.claimed_by:
        claimed = messages.MQL_CLAIMED.format(
            owner=user(mql.claimed_by), since=date(mql.claimed_at)
        )
        blocks.append(section(claimed))
        text = f"MQL: {lead_title(lead)}, claimed by {user(mql.claimed_by)}"
    else:
        claim = button("Claim", CLAIM_MQL, str(mql.id), style="primary")
        blocks.append({"type": "actions", "block_id": "mql", "elements": [claim]})
        blocks.append(context(messages.MQL_OPEN.format(since=date(mql.reached_at))))
        text = (
            f"MQL: {lead_title(lead)} (engagement {mql.engagement_level}, "
            f"fit {'unknown' if mql.fit_level is None else mql.fit_level})"
        )
    return Message(text=text, blocks=blocks)


def intent_alert_dm(alerts: list[Alert], command: str) -> Message:
    """One DM to an SDR naming each of their leads that shows intent now.

    At most MAX_ALERT_LEADS alerts; the caller splits longer lists.
    """
    if len(alerts) == 1:
        intro = messages.INTENT_ALERT_ONE.format(lead=lead_title(alerts[0].lead))
    else:
        intro = messages.INTENT_ALERT_MANY.format(count=len(alerts))
    blocks = [section(intro)]
    for alert in alerts[:MAX_ALERT_LEADS]:
        lead = alert.lead
        detail = alert.moment.detail or {}
        line = f"*{lead_title(lead)}*"
        if detail.get("intent"):
            line += f" · {escape(clip(str(detail['intent']), 200))}"
        facts = lead_facts(lead)
        signals = _signal_lines(detail.get("signals", []))
        block = section("\n".join(part for part in (line, facts, signals) if part))
        block["block_id"] = f"lead:{lead.id}"
        block["accessory"] = button("Contacted", CONTACTED, str(lead.id))
        blocks.append(block)
    blocks.append(context(messages.INTENT_ALERT_NEXT.format(command=command)))
    names = ", ".join(lead_title(alert.lead) for alert in alerts[:3])
    more = f" and {len(alerts) - 3} more" if len(alerts) > 3 else ""
    return Message(text=f"Buying intent now: {names}{more}", blocks=blocks)


def contacted_alert(alert_blocks: list[dict], lead_id: int, line: str) -> Message:
    """The alert DM again, the lead's Contacted button replaced by who did it."""
    blocks = []
    for block in alert_blocks:
        if block.get("block_id") == f"lead:{lead_id}":
            block = {key: value for key, value in block.items() if key != "accessory"}
            text = f"{block['text']['text']}\n{line}"
            block["text"] = {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}
        blocks.append(block)
    return Message(text=line, blocks=blocks)
