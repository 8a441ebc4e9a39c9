"""A local fake of Slack's Web API and response_url endpoint, over real HTTP.

It answers the methods the bot calls the way Slack does, records every call,
and validates every message's blocks and every view with slack_sdk's models,
so a message Slack would refuse fails the test that sent it.
"""

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50
MAX_TEXT = 40000


@dataclass
class Call:
    method: str
    args: dict
    response: dict = field(default_factory=dict)

    @property
    def text_and_blocks(self) -> str:
        return json.dumps(
            {"text": self.args.get("text"), "blocks": self.args.get("blocks")}
        )


@dataclass
class FakeSlack:
    """State shared by the HTTP handler threads."""

    bot_user_id: str = "UQUALIFYBOT"
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    drops: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    base_url: str = ""

    def count_dm_posts(self) -> int:
        return sum(
            1
            for call in self.of("chat.postMessage")
            if str(call.args["channel"])[0] == "D"
        )

    def drop_reply_once(self, method: str, channel: str) -> None:
        """Apply the next such call, then close the connection without answering."""
        self.drops.add((method, channel))

    def take_drop(self, method: str, args: dict) -> bool:
        key = (method, str(args.get("channel", "")))
        with self.lock:
            if key in self.drops:
                self.drops.discard(key)
                return True
        return False

    def fail(self, method: str, error: str, channel: str = "*") -> None:
        """Make `method` answer ok=false with `error` (for one channel or all)."""
        self.failures[(method, channel)] = error

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.method == method]

    def posts_to(self, channel: str) -> list[Call]:
        return [
            c for c in self.of("chat.postMessage") if c.args.get("channel") == channel
        ]

    @property
    def response_url(self) -> str:
        return f"{self.base_url}response"

    def handle(self, method: str, args: dict) -> dict:
        call = Call(method, args)
        with self.lock:
            self.calls.append(call)
            channel = str(args.get("channel", ""))
            error = self.failures.get((method, channel)) or self.failures.get(
                (method, "*")
            )
        if error:
            call.response = {"ok": False, "error": error}
        else:
            self._validate(method, args)
            call.response = self._answer(method, args)
        return call.response

    def _answer(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": self.bot_user_id,
                "bot_id": "BQUALIFY",
                "team_id": "T0TEAM",
                "user": "qualify",
            }
        if method == "conversations.open":
            return {
                "ok": True,
                "channel": {"id": "D" + str(args["users"]).lstrip("UW")},
            }
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": args["channel"],
                "ts": ts,
                "message": {"text": args.get("text")},
            }
        if method == "chat.update":
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "chat.getPermalink":
            ts = str(args["message_ts"]).replace(".", "")
            return {
                "ok": True,
                "permalink": f"https://example.slack.com/archives/{args['channel']}/p{ts}",
            }
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0VIEW"}}
        if method == "response_url":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _validate(self, method: str, args: dict) -> None:
        if "blocks" in args and args["blocks"]:
            blocks = args["blocks"]
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            if len(blocks) > MAX_BLOCKS:
                self.problems.append(
                    f"{method}: {len(blocks)} blocks (max {MAX_BLOCKS})"
                )
            for index, block in enumerate(blocks):
                try:
                    parsed = Block.parse(block)
                    if parsed is None:
                        raise ValueError(f"unknown block type {block.get('type')!r}")
                    parsed.validate_json()
                except Exception as error:  # noqa: BLE001 - recorded for the test
                    self.problems.append(f"{method}: blocks[{index}]: {error}")
        if len(str(args.get("text") or "")) > MAX_TEXT:
            self.problems.append(f"{method}: text longer than {MAX_TEXT}")
        if method == "views.open":
            try:
                View(**args["view"]).validate_json()
            except Exception as error:  # noqa: BLE001
                self.problems.append(f"views.open: {error}")


def _make_handler(fake: FakeSlack):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            # /healthz and /_stats serve a fake run in its own process.
            if self.path == "/_stats":
                stats = {
                    "dm_posts": fake.count_dm_posts(),
                    "responses": len(fake.of("response_url")),
                    "problems": fake.problems,
                }
            else:
                stats = {"ok": True}
            self._send(stats)

        def _send(self, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args = json.loads(raw or "{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw).items()}
            path = self.path.strip("/")
            method = (
                "response_url"
                if path.startswith("response")
                else path.removeprefix("api/")
            )
            answer = fake.handle(method, args)
            if fake.take_drop(method, args):
                self.close_connection = True
                return
            self._send(answer)

        def log_message(self, *args):
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 resets connections when a burst of listener
    # threads calls at once, which the real Slack never does.
    request_queue_size = 128


def start_fake_slack(port: int = 0) -> tuple[FakeSlack, ThreadingHTTPServer]:
    fake = FakeSlack()
    server = _Server(("127.0.0.1", port), _make_handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return fake, server


if __name__ == "__main__":
    # `python -m tests.fakes.slack_api PORT`: the fake in a process of its own,
    # so that a benchmark's load client does not share its interpreter.
    import sys

    _, running = start_fake_slack(int(sys.argv[1]))
    threading.Event().wait()
