"""Slack listeners, one module per surface.

Each module has `register(app, runner)`, which adds quick ack functions to the
app, and job functions `(services, body, respond)` that do the work after the
ack, in a JobRunner (see bot/slack/jobs.py). JOBS names every job so that a
worker process can find it from the name alone.
"""

from slack_bolt import App

from bot.config import Config
from bot.slack.jobs import JobRunner
from bot.slack.listeners import actions, commands, events, views

JOBS = {
    "qualify": commands.qualify,
    "answer": actions.answer,
    "pick_lead": actions.pick_lead,
    "review": actions.review,
    "paste_notes": actions.paste_notes,
    "call_notes": views.call_notes,
    "new_lead": views.new_lead,
    "change_answers": views.change_answers,
    "message": events.message,
}


def register(app: App, runner: JobRunner, *, config: Config, command: str) -> None:
    commands.register(app, runner, config=config, command=command)
    actions.register(app, runner)
    views.register(app, runner)
    events.register(app, runner)
