"""Block Kit for SLA notices: reminders, breaches and reassignments.

Times are Slack date tokens, which every reader sees in their own time zone
(their profile's), so no users.info lookup is needed.
"""

from bot import messages
from bot.domain.sla import Notice
from bot.models import Lead
from bot.slack.blocks import Message, context, lead_title, section
from bot.slack.mrkdwn import date, user

# Notices per message: a block each, far below Slack's 50 blocks.
MAX_NOTICES = 20


def sla_message(notices: list[Notice], leads: dict[int, Lead]) -> Message:
    """One message for one recipient, naming every notice (at most MAX_NOTICES)."""
    lines = [notice_line(notice, leads.get(notice.lead_id)) for notice in notices]
    blocks = []
    if len(notices) > 1:
        blocks.append(context(messages.SLA_UPDATES.format(count=len(notices))))
    blocks += [section(line) for line in lines[:MAX_NOTICES]]

    if len(notices) == 1:
        text = lines[0]
    else:
        names = ", ".join(
            _lead_name(leads.get(notice.lead_id), notice) for notice in notices[:3]
        )
        more = f" and {len(notices) - 3} more" if len(notices) > 3 else ""
        text = messages.SLA_SUMMARY.format(count=len(notices), leads=names + more)
    return Message(text=text, blocks=blocks)


def notice_line(notice: Notice, lead: Lead | None) -> str:
    """What one notice says, in mrkdwn."""
    fields = {
        "lead": _lead_name(lead, notice),
        "clock": messages.SLA_CLOCKS[notice.clock_kind],
        "task": messages.SLA_TASKS[notice.clock_kind],
        "due": date(notice.due_at),
        "owner": _person(notice.owner_user_id),
        "new_owner": _person(notice.new_owner_user_id),
    }
    if notice.kind == "reminder":
        return messages.SLA_REMINDER.format(**fields)
    if notice.kind == "breach":
        return messages.SLA_BREACH.format(**fields)
    if notice.kind == "reassigned_away":
        return messages.SLA_REASSIGNED_AWAY.format(**fields)
    if notice.clock_kind == "mql_claim":
        # The breach claimed the MQL for them: the next task is the meeting.
        fields["task"] = messages.SLA_TASKS["sql_meeting"]
    if notice.owner_user_id is None:
        return messages.SLA_REASSIGNED_UNOWNED.format(**fields)
    return messages.SLA_REASSIGNED_TO.format(**fields)


def _lead_name(lead: Lead | None, notice: Notice) -> str:
    if lead is None:
        return f"lead {notice.lead_id}"
    return lead_title(lead)


def _person(user_id: str | None) -> str:
    return user(user_id) if user_id else messages.SLA_NO_OWNER
