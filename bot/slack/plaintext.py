"""Block Kit rendered as terminal text, for the demo and `--preview` output."""

import re
import textwrap

MENTION = re.compile(r"<@([A-Z0-9]+)>")
CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def mrkdwn_to_text(
    text: str, people: dict[str, str], channels: dict[str, str], bold=None
) -> str:
    """Mentions, channels, dates and links as a reader sees them."""
    text = MENTION.sub(lambda m: "@" + people.get(m[1], m[1]), text)
    text = CHANNEL.sub(lambda m: "#" + channels.get(m[1], m[1]), text)
    text = DATE.sub(lambda m: m[1], text)
    text = LINK.sub(lambda m: f"{m[2]} ({m[1]})", text)
    text = BOLD.sub(lambda m: bold(m[1]) if bold else m[1], text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(
    blocks: list[dict],
    fallback: str,
    people: dict[str, str],
    channels: dict[str, str],
    bold=None,
) -> str:
    """One readable paragraph per block; buttons as [labels]."""

    def render(text: str) -> str:
        return mrkdwn_to_text(text, people, channels, bold)

    if not blocks:
        return render(fallback)
    lines = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            lines.append(render(block["text"]["text"]))
            if "accessory" in block:
                lines.append(f"  [{block['accessory']['text']['text']}]")
        elif kind == "context":
            texts = [element.get("text", "") for element in block["elements"]]
            lines.append("  " + render(" ".join(texts)))
        elif kind == "actions":
            labels = [element["text"]["text"] for element in block["elements"]]
            lines.append("  " + "  ".join(f"[{label}]" for label in labels))
    return "\n".join(lines)


def boxed(title: str, body: str, width: int = 78) -> str:
    wrapped = []
    for line in body.splitlines():
        wrapped.extend(textwrap.wrap(line, width - 4, subsequent_indent="  ") or [""])
    rule = "─" * (width - len(title) - 5)
    return "\n".join(
        [
            f"┌─ {title} {rule}",
            *(f"│ {line}" for line in wrapped),
            "└" + "─" * (width - 1),
        ]
    )
