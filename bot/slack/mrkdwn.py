"""Escaping and trimming text for Slack's mrkdwn."""

from datetime import datetime


def escape(text: str) -> str:
    """Make text inert in mrkdwn: no mentions, links or broken formatting.

    Slack only needs &, < and > escaped; that is enough to keep `<!channel>`,
    `<!here>` and `<@U123>` typed by a user from pinging anyone.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quote(text: str, limit: int = 1500) -> str:
    """A user's text as an escaped mrkdwn block quote."""
    lines = escape(clip(text, limit)).splitlines() or [""]
    return "\n".join(f"> {line}" for line in lines)


def user(user_id: str) -> str:
    return f"<@{user_id}>"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def date(moment: datetime) -> str:
    """A time every reader sees in their own time zone."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    )
