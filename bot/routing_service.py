"""`/qualify away` and `/qualify back`: who the rotations skip, and until when."""

import logging
from datetime import timedelta

from bot import messages
from bot.conversation import Reply, Services
from bot.db import session_scope
from bot.domain import routing
from bot.slack.blocks import Message, handoff_day
from bot.slack.mrkdwn import clip, escape, user
from bot.slack.payloads import AwayRequest

logger = logging.getLogger(__name__)


def away_or_back(
    services: Services, *, user_id: str, request: AwayRequest, reply: Reply
) -> None:
    """Mark the person away until a day, or back; managers may name someone."""
    person = _person(services, user_id, request, reply)
    if person is None:
        return
    who = _who(person, user_id)
    now = services.clock()
    if request.back:
        with session_scope(services.engine) as session:
            was_away = routing.end_absence(person, session=session, now=now)
        text = messages.BACK if was_away else messages.NOT_AWAY
        reply(Message(text.format(who=who, them=_them(person, user_id))))
        return

    if not request.until_text:
        reply(Message(messages.AWAY_USAGE.format(command=services.command)))
        return
    zone = routing.team_zone(services.config)
    until = routing.parse_until(request.until_text, now=now, zone=zone)
    if until is None:
        text = escape(clip(request.until_text, 100))
        reply(
            Message(
                messages.AWAY_UNREADABLE.format(text=text, command=services.command)
            )
        )
        return
    last_day = (until.astimezone(zone) - timedelta(days=1)).date()
    if until <= now:
        reply(Message(messages.AWAY_PAST.format(day=handoff_day(last_day))))
        return

    with session_scope(services.engine) as session:
        routing.set_away(person, until, set_by=user_id, session=session, now=now)
    back = f"{services.command} back"
    if person != user_id:
        back += f" {user(person)}"
    text = messages.AWAY_SET.format(
        who=who,
        day=handoff_day(last_day),
        back_day=handoff_day(until.astimezone(zone).date()),
        back=back,
    )
    reply(Message(text))


def _person(
    services: Services, user_id: str, request: AwayRequest, reply: Reply
) -> str | None:
    """Whose absence this is, or None after telling the user why not."""
    team = services.config.team
    if request.person_text and request.person is None:
        text = escape(clip(request.person_text, 100))
        reply(Message(messages.AWAY_NOT_A_USER.format(text=text)))
        return None
    person = request.person or user_id
    if person != user_id and user_id not in team.managers:
        reply(Message(messages.AWAY_NOT_ALLOWED))
        return None
    if person not in team.sdrs and person not in team.aes:
        reply(Message(messages.AWAY_NOT_ON_TEAM.format(who=user(person))))
        return None
    return person


def _who(person: str, user_id: str) -> str:
    return "You're" if person == user_id else f"{user(person)} is"


def _them(person: str, user_id: str) -> str:
    return "you" if person == user_id else "them"
