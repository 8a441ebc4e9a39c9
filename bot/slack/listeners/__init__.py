"""Slack listeners, one module per surface, each with `register(app, services)`."""

from slack_bolt import App

from bot.conversation import Services
from bot.slack.listeners import actions, commands, events, views


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
