"""Drive the real Bolt app over HTTP with requests signed as Slack signs them."""

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier
from werkzeug.serving import make_server

from bot.app import create_app, create_hooks, create_services
from bot.settings import Settings
from bot.slack.jobs import process_runner, thread_runner
from bot.web import SIGNATURE_HEADER, create_web_app
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM = {"id": "T0TEAM", "domain": "acme-sales"}


class Tracking:
    """An executor that lets a test wait until every job it was given finished."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        return future

    def drain(self, timeout: float = 30) -> None:
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                return
            wait(pending, timeout=timeout)


class TrackingExecutor(Tracking, ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)


class TrackingProcessPool(Tracking, ProcessPoolExecutor):
    pass


class SlackHarness:
    def drain(self) -> None:
        """Wait until every job handed to the runner so far has finished."""
        for lane in self.runner.lanes:
            lane.drain()

    def __init__(
        self,
        fake: FakeSlack,
        config,
        engine,
        work_processes: int = 0,
        **settings: object,
    ) -> None:
        self.fake = fake
        self.config = config
        self.engine = engine
        self.work_processes = work_processes
        self.extra_settings = settings
        self._trigger = 0
        self._event = 0
        self.start()

    def start(self) -> None:
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=f"{self.fake.base_url}api/",
            _env_file=None,
            **self.extra_settings,
        )
        if self.work_processes:
            database_url = self.engine.url.render_as_string(hide_password=False)
            settings = settings.model_copy(update={"database_url": database_url})
            runner = process_runner(
                settings, self.config, self.work_processes, TrackingProcessPool
            )
        else:
            services = create_services(settings, self.config, engine=self.engine)
            runner = thread_runner(services, [TrackingExecutor() for _ in range(4)])
        self.runner = runner
        app = create_app(settings, self.config, runner=runner)
        hooks = create_hooks(settings, self.config, runner=runner, engine=self.engine)
        web = create_web_app(app, hooks)
        self.server = make_server("127.0.0.1", 0, web, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base_url}/slack/events"
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()

    def restart(self) -> None:
        """Stop the app and start a new one on the same database, as after a deploy."""
        self.drain()
        self.server.shutdown()
        self.runner.shutdown()
        self.start()

    def stop(self) -> None:
        self.drain()
        self.server.shutdown()
        self.runner.shutdown()

    def send(
        self,
        body: str,
        content_type: str,
        headers: dict | None = None,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        drain: bool = True,
    ) -> httpx.Response:
        timestamp = timestamp or int(time.time())
        signature = SignatureVerifier(secret).generate_signature(
            timestamp=str(timestamp), body=body
        )
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        response = httpx.post(
            self.url, content=body.encode(), headers=all_headers, timeout=10
        )
        if drain:
            self.drain()
        return response

    def post_hook(
        self,
        body: dict | bytes,
        signature: str | None = None,
        headers: dict | None = None,
        drain: bool = True,
    ) -> httpx.Response:
        """POST to /hooks/events, signed as Segment signs unless given a signature.

        `signature=""` sends none.
        """
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if signature is None:
            secret = self.extra_settings.get("hooks_secret") or "no-secret-set"
            signature = segment_signature(raw, secret)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if signature:
            all_headers[SIGNATURE_HEADER] = signature
        response = httpx.post(
            f"{self.base_url}/hooks/events",
            content=raw,
            headers=all_headers,
            timeout=30,
        )
        if drain:
            self.drain()
        return response

    def _next_trigger(self) -> str:
        self._trigger += 1
        return f"{self._trigger}.1111.trigger"

    def command(
        self, text: str, user: str = "USDR1", channel: str = "C0GENERAL", **kwargs
    ) -> httpx.Response:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/qualify",
            "text": text,
            "api_app_id": "A0QUALIFY",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url,
            "trigger_id": self._next_trigger(),
        }
        return self.send(urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def click(
        self,
        action_id: str,
        value: str,
        user: str = "USDR1",
        channel: str = "DSDR1",
        message_ts: str = "1700000000.000001",
        drain: bool = True,
        message_blocks: list | None = None,
    ) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": TEAM["id"],
            },
            "api_app_id": "A0QUALIFY",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self._next_trigger(),
            "team": TEAM,
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "directmessage"},
            "message": {
                "type": "message",
                "ts": message_ts,
                "text": "",
                "blocks": message_blocks or [],
            },
            "state": {"values": {}},
            "response_url": self.fake.response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "text": {"type": "plain_text", "text": "x"},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self._interactive(payload, drain=drain)

    def send_click(
        self, action_id: str, value: str, call, user: str = "USDR1", drain: bool = True
    ):
        """Click a button on a message the bot posted."""
        return self.click(
            action_id,
            value,
            user=user,
            channel=call.args["channel"],
            message_ts=call.response["ts"],
            drain=drain,
        )

    def submit_view(
        self,
        callback_id: str,
        values: dict,
        private_metadata: str = "",
        user: str = "USDR1",
    ) -> httpx.Response:
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": TEAM["id"],
            },
            "api_app_id": "A0QUALIFY",
            "token": "legacy-verification-token",
            "trigger_id": self._next_trigger(),
            "view": {
                "id": "V0VIEW",
                "team_id": TEAM["id"],
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "1700000000.abc",
                "title": {"type": "plain_text", "text": "x"},
                "blocks": [],
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._interactive(payload)

    def _interactive(self, payload: dict, drain: bool = True) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.send(body, "application/x-www-form-urlencoded", drain=drain)

    def event(
        self,
        event: dict,
        event_id: str | None = None,
        retry_num: int | None = None,
        drain: bool = True,
    ) -> httpx.Response:
        if event_id is None:
            self._event += 1
            event_id = f"Ev0{self._event:08d}"
        body = {
            "token": "legacy-verification-token",
            "team_id": TEAM["id"],
            "api_app_id": "A0QUALIFY",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": TEAM["id"],
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {
                "X-Slack-Retry-Num": str(retry_num),
                "X-Slack-Retry-Reason": "http_timeout",
            }
        return self.send(
            json.dumps(body), "application/json", headers=headers, drain=drain
        )

    def dm(
        self,
        text: str,
        user: str = "USDR1",
        event_id: str | None = None,
        drain: bool = True,
        **extra,
    ) -> httpx.Response:
        event = {
            "type": "message",
            "channel": "D" + user.lstrip("UW"),
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "event_ts": f"{time.time():.6f}",
            "channel_type": "im",
            **extra,
        }
        return self.event(event, event_id=event_id, drain=drain)


def segment_signature(body: bytes, secret: str) -> str:
    """The X-Signature Segment's webhook destinations send: hex HMAC-SHA1."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def buttons(call) -> list[dict]:
    return [
        element
        for block in call.args.get("blocks") or []
        if block["type"] in ("actions", "section")
        for element in (block.get("elements") or [block.get("accessory")] or [])
        if element and element.get("type") == "button"
    ]


def has_button(call, action_id: str) -> bool:
    return any(b["action_id"] == action_id for b in buttons(call))


def dm_channel(user: str) -> str:
    return "D" + user.lstrip("UW")


class Flow:
    """Clicks a person makes, found on the messages the bot really posted."""

    def __init__(self, slack: SlackHarness) -> None:
        self.slack = slack

    def last_post(self, channel: str, action_id: str | None = None):
        posts = self.slack.fake.posts_to(channel)
        if action_id:
            posts = [post for post in posts if has_button(post, action_id)]
        return posts[-1] if posts else None

    def press(self, call, action_id: str, user: str = "USDR1"):
        button = next(b for b in buttons(call) if b["action_id"] == action_id)
        return self.slack.click(
            action_id,
            button["value"],
            user=user,
            channel=call.args["channel"],
            message_ts=call.response["ts"],
        )

    def answer(self, level: int, user: str = "USDR1"):
        """Click `level` on the open question (its Accept button if proposed)."""
        question = self.current_question(user)
        for button in buttons(question):
            if button["action_id"].startswith("answer:") and (
                json.loads(button["value"])["l"] == level
            ):
                return self.press(question, button["action_id"], user=user)
        raise AssertionError(f"no button for level {level}")

    def current_question(self, user: str = "USDR1"):
        """The latest state of the newest question message in the DM."""
        questions = [
            post
            for post in self.slack.fake.posts_to(dm_channel(user))
            if any(b["action_id"].startswith("answer:") for b in buttons(post))
        ]
        question = questions[-1]
        updates = [
            call
            for call in self.slack.fake.of("chat.update")
            if call.args["ts"] == question.response["ts"]
        ]
        if updates and any(
            b["action_id"].startswith("answer:") for b in buttons(updates[-1])
        ):
            latest = updates[-1]
            latest.response = question.response
            return latest
        return question

    def answer_all(self, levels, user: str = "USDR1") -> None:
        for level in levels:
            self.answer(level, user=user)

    def review(self, user: str = "USDR1"):
        return self.last_post(dm_channel(user), "review_submit")

    def submit(self, user: str = "USDR1"):
        return self.press(self.review(user), "review_submit", user=user)
