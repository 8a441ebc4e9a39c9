"""Slack listeners, one module per surface.

Each module has `register(app, runner)`, which adds quick ack functions to the
app, and job functions `(services, body, respond)` that do the work after the
ack, in a JobRunner (see bot/slack/jobs.py). JOBS names every job so that a
worker process can find it from the name alone.
"""

from slack_bolt import App

from bot import intent
from bot.config import Config
from bot.conversation import Services
from bot.slack.jobs import JobRunner
from bot.slack.listeners import actions, commands, events, views


def deliver_intent(services: Services, body: dict, respond) -> None:
    """After new events: the queue posts and alerts they caused, and any left."""
    # body may name the leads that changed; everything pending goes out, so
    # an MQL left by an earlier run (no queue channel yet) goes too.
    intent.deliver_intent(services)


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
    "claim_mql": actions.claim_mql,
    "answer_handoff": actions.answer_handoff,
    "contacted": actions.contacted,
    "reject_handoff": views.reject_handoff,
    "book_meeting": views.book_meeting,
    "deliver_intent": deliver_intent,
}


def register(app: App, runner: JobRunner, *, config: Config, command: str) -> None:
    commands.register(app, runner, config=config, command=command)
    actions.register(app, runner)
    views.register(app, runner)
    events.register(app, runner)
