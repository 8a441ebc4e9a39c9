"""Sending messages: the Poster interface and its Slack Web API implementation."""

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack.blocks import Message

logger = logging.getLogger(__name__)


class PostError(Exception):
    """Slack refused a call; `code` is Slack's error string (channel_not_found...)."""

    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"{method} failed: {code}")
        self.method = method
        self.code = code


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


class Poster(Protocol):
    def open_dm(self, user_id: str) -> str: ...

    def post(self, channel_id: str, message: Message) -> Posted: ...

    def update(self, channel_id: str, ts: str, message: Message) -> None: ...

    def permalink(self, channel_id: str, ts: str) -> str | None: ...

    def open_modal(self, trigger_id: str, view: dict) -> None: ...


def make_web_client(token: str | None, base_url: str) -> WebClient:
    """A WebClient that waits out 429s (Retry-After) before retrying.

    A 429 means Slack did nothing, so the retry is safe. A dropped connection
    is not retried: Slack may have posted the message already, and a retry
    would post it twice.
    """
    # Passing the list replaces slack_sdk's default connection-error retry.
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class SlackPoster:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def open_dm(self, user_id: str) -> str:
        response = self._call("conversations.open", users=user_id)
        return response["channel"]["id"]

    def post(self, channel_id: str, message: Message) -> Posted:
        response = self._call(
            "chat.postMessage",
            channel=channel_id,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
        )
        return Posted(response["channel"], response["ts"])

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        self._call(
            "chat.update",
            channel=channel_id,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
        )

    def permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            return self._call("chat.getPermalink", channel=channel_id, message_ts=ts)[
                "permalink"
            ]
        except PostError:
            # A missing link makes a message less handy, never wrong.
            return None

    def open_modal(self, trigger_id: str, view: dict) -> None:
        self._call("views.open", trigger_id=trigger_id, view=view)

    def _call(self, method: str, **kwargs):
        try:
            return self.client.api_call(method, json=kwargs)
        except SlackApiError as error:
            code = error.response.get("error", "unknown_error")
            logger.warning("slack call failed method=%s error=%s", method, code)
            raise PostError(method, code) from None
        except OSError as error:
            # Connection refused, reset or timed out: whether Slack acted is
            # unknown, so it is reported, not retried.
            logger.warning("slack call failed method=%s error=%r", method, error)
            raise PostError(method, "connection_error") from None
