"""Sending messages: the Poster interface and its Slack Web API implementation."""

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack.blocks import Message

logger = logging.getLogger(__name__)


class PostError(Exception):
    """Slack refused a call; `code` is Slack's error string (channel_not_found...).

    `status` is the HTTP status (0 when no answer came); `retry_after` the
    seconds a 429 asked to wait, when it gave them.
    """

    def __init__(
        self,
        method: str,
        code: str,
        *,
        status: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method} failed: {code}")
        self.method = method
        self.code = code
        self.status = status
        self.retry_after = retry_after


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


def make_web_client(
    token: str | None, base_url: str, *, rate_limit_retries: int = 3
) -> WebClient:
    """A WebClient that waits out 429s (Retry-After) before retrying.

    A 429 means Slack did nothing, so the retry is safe. A dropped connection
    is not retried: Slack may have posted the message already, and a retry
    would post it twice. With `rate_limit_retries=0` a 429 raises PostError
    at once (the outbox worker reschedules instead of sleeping).
    """
    # Passing the list replaces slack_sdk's default connection-error retry.
    handlers = (
        [RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)]
        if rate_limit_retries
        else []
    )
    return WebClient(
        token=token, base_url=base_url, timeout=10, retry_handlers=handlers
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

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Share a file in a channel; its file ID comes back.

        files_upload_v2 asks Slack for an upload URL, POSTs the bytes there
        and completes the upload in the channel (scope `files:write`). The
        channel must be an ID (C..., G..., D...): Slack refuses a name or a
        user ID, and without a channel the file would stay private.
        """
        try:
            response = self._call(
                "files.upload",
                channel=channel_id,
                filename=filename,
                content=content,
                title=title,
                initial_comment=initial_comment,
                thread_ts=thread_ts,
                via=self.client.files_upload_v2,
            )
        except SlackRequestError as error:
            # The upload URL answered something other than 200.
            logger.warning("slack upload failed channel=%s error=%s", channel_id, error)
            raise PostError("files.upload", "upload_failed") from None
        file_id = response["files"][0]["id"]
        logger.info(
            "file uploaded channel=%s file_id=%s bytes=%s",
            channel_id,
            file_id,
            len(content),
        )
        return file_id

    def _call(self, method: str, via=None, **kwargs):
        try:
            if via is not None:
                return via(**kwargs)
            return self.client.api_call(method, json=kwargs)
        except SlackApiError as error:
            response = error.response
            code = (
                response.get("error", "unknown_error")
                if isinstance(response.data, dict)
                else "unknown_error"
            )
            logger.warning("slack call failed method=%s error=%s", method, code)
            raise PostError(
                method,
                code,
                status=response.status_code,
                retry_after=_retry_after(response),
            ) from None
        except OSError as error:
            # Connection refused, reset or timed out: whether Slack acted is
            # unknown, so it is reported, not retried.
            logger.warning("slack call failed method=%s error=%r", method, error)
            raise PostError(method, "connection_error") from None


def _retry_after(response) -> float | None:
    if response.status_code != 429:
        return None
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None
