"""The one Jinja2 environment for prompts and multi-line message copy."""

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROMPTS_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from bot.slack.mrkdwn import escape

    env.filters["mrkdwn"] = escape
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context).strip()
