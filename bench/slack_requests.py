"""Slack's requests to the app, shaped and signed exactly as Slack sends them."""

import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "bench-signing-secret-5f0c2a91d7"
BOT_TOKEN = "xoxb-bench-0000000000-bench"
TEAM_ID = "T0TEAM"
TEAM_DOMAIN = "acme-sales"


def slash_command_body(
    *,
    user_id: str,
    text: str,
    trigger_id: str,
    response_url: str,
    command: str = "/qualify",
    channel_id: str = "C0GENERAL",
) -> str:
    """The form body of a slash command, fields in Slack's order."""
    form = {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0QUALIFY",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(form)


def dm_event_body(*, user_id: str, text: str, event_id: str) -> str:
    """An Events API `message.im` callback, as Slack posts it."""
    now = time.time()
    event = {
        "type": "message",
        "channel": "D" + user_id.lstrip("UW"),
        "user": user_id,
        "text": text,
        "ts": f"{now:.6f}",
        "event_ts": f"{now:.6f}",
        "channel_type": "im",
    }
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0QUALIFY",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(now),
        }
    )


def signed_headers(
    body: str,
    secret: str = SIGNING_SECRET,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers of a POST from Slack, signed now."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(
        timestamp=timestamp, body=body
    )
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
