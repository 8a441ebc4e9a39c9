"""Block Kit for the manager's digest: one section per topic, lists cut short.

Each list keeps to MAX_LINES lines and to Slack's 3000 characters per
section, ending with "…and N more"; the whole message stays far below 50
blocks (a header, a context and at most ten sections).
"""

from datetime import timedelta

from bot import messages
from bot.domain.digest import Digest, Waiting
from bot.slack.blocks import SECTION_LIMIT, Message, context, header, section
from bot.slack.mrkdwn import channel, date, escape, link, user

MAX_LINES = 8
# Room left in a section's text for the "…and N more" line.
MORE_ROOM = 40


def digest_message(digest: Digest) -> Message:
    """The digest as a channel message: readable in ten seconds."""
    day = digest.day.strftime("%a %d %b %Y")
    funnel = digest.funnel
    blocks = [header(messages.DIGEST_TITLE.format(day=day))]
    waiting = _waiting(digest)
    if digest.is_empty:
        empty = messages.DIGEST_EMPTY.format(day=day)
        if waiting:
            empty += " " + messages.DIGEST_EMPTY_WAITING
        blocks.append(section(empty))
        text = messages.DIGEST_EMPTY_TEXT.format(day=day)
    else:
        blocks += _activity(digest)
        text = messages.DIGEST_TEXT.format(
            day=day, qualified=funnel.qualified, sql=funnel.sql
        )
    blocks += waiting
    if not digest.is_empty:
        blocks.append(context(messages.DIGEST_TREND))
    return Message(text=text, blocks=blocks)


def _activity(digest: Digest) -> list[dict]:
    funnel, trend = digest.funnel, digest.trend
    blocks = [
        section(
            messages.DIGEST_FUNNEL.format(
                qualified=funnel.qualified,
                sql=funnel.sql,
                nurture=funnel.nurture,
                qualified_avg=f"{trend.qualified / 7:.1f}",
                mql_to_sql=_percent(funnel.mql_to_sql),
                mql_to_sql_trend=_percent(trend.mql_to_sql),
                sql_to_accepted=_percent(funnel.sql_to_accepted),
                sql_to_accepted_trend=_percent(trend.sql_to_accepted),
                accepted_to_meeting=_percent(funnel.accepted_to_meeting),
                accepted_to_meeting_trend=_percent(trend.accepted_to_meeting),
            )
        ),
        section(_sla(digest)),
    ]
    breaches = [
        messages.DIGEST_BREACH.format(
            owner=user(b.owner_user_id) if b.owner_user_id else messages.DIGEST_NOBODY,
            clock=_clock(b.kind),
            count=b.count,
            late=duration(b.worst),
        )
        for b in digest.breaches
    ]
    sdrs = [
        messages.DIGEST_SDR.format(
            user=user(line.user_id),
            qualified=line.qualified,
            sql_rate=_percent(line.sql_rate),
            first_touch=duration(line.median_first_touch),
        )
        for line in digest.sdrs
    ]
    aes = [
        messages.DIGEST_AE.format(
            user=user(line.user_id),
            handoffs=line.handoffs,
            accepted=line.accepted,
            rejected=line.rejected,
            to_accept=duration(line.median_to_accept),
        )
        for line in digest.aes
    ]
    reasons = [
        messages.DIGEST_REASON.format(
            label=escape(r.label), count=r.count, trend=r.trend_count
        )
        for r in digest.reasons
    ]
    for head, lines in (
        (messages.DIGEST_BREACHES_HEAD, breaches),
        (messages.DIGEST_SDRS_HEAD, sdrs),
        (messages.DIGEST_AES_HEAD, aes),
        (messages.DIGEST_REASONS_HEAD, reasons),
    ):
        if lines:
            blocks.append(section(listed(head, lines)))
    return blocks


def _sla(digest: Digest) -> str:
    trend = {line.kind: line for line in digest.trend_compliance}
    lines = [
        messages.DIGEST_SLA_LINE.format(
            clock=_clock(line.kind)[:1].upper() + _clock(line.kind)[1:],
            met=line.met,
            late=line.late,
            open=line.open_past_due,
            rate=_percent(line.rate),
            trend=_percent(trend[line.kind].rate if line.kind in trend else None),
        )
        for line in digest.compliance
        if line.total
    ]
    if not lines:
        return messages.DIGEST_SLA_NONE
    return listed(messages.DIGEST_SLA_HEAD, lines)


def _waiting(digest: Digest) -> list[dict]:
    blocks = []
    if digest.unaccepted_total:
        head = messages.DIGEST_UNACCEPTED_HEAD.format(total=digest.unaccepted_total)
        lines = [_waiting_line(item) for item in digest.unaccepted_sqls]
        blocks.append(section(listed(head, lines, digest.unaccepted_total)))
    if digest.unclaimed_total:
        head = messages.DIGEST_UNCLAIMED_HEAD.format(total=digest.unclaimed_total)
        lines = [_waiting_line(item) for item in digest.unclaimed_mqls]
        blocks.append(section(listed(head, lines, digest.unclaimed_total)))
    if digest.untouched:
        lines = [
            messages.DIGEST_UNTOUCHED.format(
                lead=escape(lead.lead),
                level=lead.level,
                signals=escape(lead.signals),
            )
            for lead in digest.untouched
        ]
        blocks.append(section(listed(messages.DIGEST_UNTOUCHED_HEAD, lines)))
    return blocks


def _waiting_line(item: Waiting) -> str:
    if item.permalink:
        lead = link(item.permalink, item.lead)
    else:
        lead = f"*{escape(item.lead)}*"
    where = ""
    if not item.permalink and item.channel_id:
        where = f" in {channel(item.channel_id)}"
    return messages.DIGEST_WAITING.format(
        lead=lead,
        since=date(item.since),
        who=f" · {user(item.user_id)}" if item.user_id else "",
        where=where,
    )


def listed(head: str, lines: list[str], total: int | None = None) -> str:
    """A heading and its lines, cut at MAX_LINES or the section's length.

    `total` is how many there are when `lines` holds only the first of them.
    """
    total = len(lines) if total is None else total
    kept: list[str] = []
    length = len(head)
    for line in lines[:MAX_LINES]:
        if length + len(line) + 1 > SECTION_LIMIT - MORE_ROOM:
            break
        kept.append(line)
        length += len(line) + 1
    rows = [head, *(f"• {line}" for line in kept)]
    if total > len(kept):
        rows.append(messages.DIGEST_MORE.format(count=total - len(kept)))
    return "\n".join(rows)


def duration(span: timedelta | None) -> str:
    """A span as people say it: 45m, 3h 20m, 2d 4h."""
    if span is None:
        return messages.DIGEST_NO_VALUE
    minutes = max(0, round(span.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def _percent(rate: float | None) -> str:
    return messages.DIGEST_NO_VALUE if rate is None else f"{rate:.0%}"


def _clock(kind: str) -> str:
    return messages.SLA_CLOCKS.get(kind, kind.replace("_", " "))
