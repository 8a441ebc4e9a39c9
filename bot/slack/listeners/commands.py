"""The /qualify slash command."""

from slack_bolt import Ack, App, Respond

from bot import conversation, messages, routing_service
from bot.config import Config
from bot.conversation import Services
from bot.slack import blocks
from bot.slack.jobs import JobRunner
from bot.slack.listeners.replies import ephemeral
from bot.slack.mrkdwn import clip, escape
from bot.slack.payloads import CommandRequest, parse_away, parse_command


def _is_help(request: CommandRequest) -> bool:
    return request.text.lower() in ("", "help")


def qualify(services: Services, body: dict, respond: Respond | None) -> None:
    request = parse_command(body)
    away = parse_away(request.text)
    if away is not None:
        routing_service.away_or_back(
            services, user_id=request.user_id, request=away, reply=ephemeral(respond)
        )
        return
    conversation.qualify(
        services,
        user_id=request.user_id,
        query=request.text,
        trigger_id=request.trigger_id,
        channel_id=request.channel_id,
        reply=ephemeral(respond),
    )


def register(app: App, runner: JobRunner, *, config: Config, command: str) -> None:
    @app.command(command)
    def ack_qualify(ack: Ack, body: dict) -> None:
        request = parse_command(body)
        if _is_help(request):
            help_message = blocks.help_message(config, request.command)
            ack(text=help_message.text, blocks=help_message.blocks)
            return
        if parse_away(request.text) is not None:
            # The reply follows through response_url once it is stored.
            ack()
            runner.submit("qualify", body)
            return
        ack(text=messages.LOOKING_UP.format(query=escape(clip(request.text, 200))))
        runner.submit("qualify", body)
