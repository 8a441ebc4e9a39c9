"""The /qualify slash command."""

from slack_bolt import Ack, App, Respond

from bot import conversation, messages
from bot.conversation import Services
from bot.slack import blocks
from bot.slack.listeners.replies import ephemeral
from bot.slack.mrkdwn import clip, escape
from bot.slack.payloads import parse_command


def register(app: App, services: Services) -> None:
    app.command(services.command)(_make_qualify(services))


def _make_qualify(services: Services):
    def qualify(ack: Ack, body: dict, respond: Respond) -> None:
        request = parse_command(body)
        if request.text.lower() in ("", "help"):
            help_message = blocks.help_message(services.config, request.command)
            ack(text=help_message.text, blocks=help_message.blocks)
            return
        ack(text=messages.LOOKING_UP.format(query=escape(clip(request.text, 200))))
        conversation.qualify(
            services,
            user_id=request.user_id,
            query=request.text,
            trigger_id=request.trigger_id,
            channel_id=request.channel_id,
            reply=ephemeral(respond),
        )

    return qualify
