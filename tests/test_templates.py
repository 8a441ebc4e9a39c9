import pytest
from jinja2 import UndefinedError

from bot.templating import PROMPTS_DIR, render

CONTEXTS = {
    "ae_brief_system.md.j2": {},
    "ae_brief.mrkdwn.j2": {
        "items": [{"label": "Pain", "said": "“two people full-time”"}],
        "contact": "Dana Lee · VP Operations",
    },
    "interpret_system.md.j2": {
        "label": "Budget",
        "question": "What did you learn about budget?",
        "levels": ["Unknown or none", "Being discussed", "Planned", "Allocated"],
        "today": "2026-12-03",
    },
    "help.mrkdwn.j2": {
        "command": "/qualify",
        "questions": ["Pain", "Budget", "Authority", "Timeline"],
        "fit_label": "Fit (ICP)",
        "rules": ["no budget identified", "timeline is 12+ months away"],
        "threshold": 20,
        "max_total": 33,
    },
}
TEMPLATES = sorted(path.name for path in PROMPTS_DIR.glob("*.j2"))


def test_every_template_in_prompts_has_a_test_context():
    assert TEMPLATES == sorted(CONTEXTS)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_renders_every_value_it_is_given(name):
    context = CONTEXTS[name]

    text = render(name, **context)

    assert "{{" not in text and "{%" not in text
    assert text == text.strip()
    for value in context.values():
        shown = value if isinstance(value, list) else [str(value)]
        for item in shown:
            parts = item.values() if isinstance(item, dict) else [item]
            assert all(part in text for part in parts)


@pytest.mark.parametrize(
    ("name", "missing"),
    [(name, key) for name in TEMPLATES for key in CONTEXTS.get(name, {})],
)
def test_template_refuses_to_render_with_a_variable_missing(name, missing):
    context = {k: v for k, v in CONTEXTS[name].items() if k != missing}

    with pytest.raises(UndefinedError) as caught:
        render(name, **context)

    assert str(caught.value) == f"'{missing}' is undefined"


def test_help_text_explains_the_command_and_the_bar():
    text = render("help.mrkdwn.j2", **CONTEXTS["help.mrkdwn.j2"])

    assert text == (
        "*Qualify a lead after a discovery call*\n"
        "`/qualify <lead>`: the lead's email, domain or company name, e.g. "
        "`/qualify dana@acme.com`, `/qualify acme.com` or `/qualify Acme`.\n"
        "\n"
        "I'll ask you a few short questions in our DM, one at a time: Pain, "
        "Budget, Authority, Timeline, and Fit (ICP) when the company's data is "
        "incomplete. Click the level that fits, or type what you heard and I'll "
        "keep it as the note for that question. You'll see the full score before "
        "anything is posted.\n"
        "\n"
        "A total of *20/33* or more makes a Sales Qualified Lead, unless a rule "
        "sends it to nurture (no budget identified; timeline is 12+ months away): "
        "it goes to an AE with your notes. Anything else goes to nurture with the "
        "reason.\n"
        "\n"
        "Paste your call notes after the lead (`/qualify acme.com -- notes…`) "
        "and I'll propose every level they answer; you confirm each one.\n"
        "\n"
        "`/qualify away until 2026-12-10` keeps new leads away from you through "
        "that day (managers: `/qualify away @alex until …`); `/qualify back` ends "
        "it early.\n"
        "\n"
        "`/qualify cancel` stops the interview you have open. `/qualify help` "
        "shows this again."
    )
