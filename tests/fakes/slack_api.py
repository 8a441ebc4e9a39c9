"""A local fake of Slack's Web API and response_url endpoint, over real HTTP.

It answers the methods the bot calls the way Slack does, records every call,
and validates every message's blocks and every view with slack_sdk's models,
so a message Slack would refuse fails the test that sent it.
"""

import itertools
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50
MAX_TEXT = 40000
# files.completeUploadExternal refuses anything else, a user ID included.
CHANNEL_ID = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")


@dataclass
class Call:
    method: str
    args: dict
    response: dict = field(default_factory=dict)
    # When the call arrived (time.monotonic()), and Slack's HTTP status.
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    retry_after: int | None = None

    @property
    def text_and_blocks(self) -> str:
        return json.dumps(
            {"text": self.args.get("text"), "blocks": self.args.get("blocks")}
        )


@dataclass
class UploadedFile:
    """A file shared by files.completeUploadExternal, with the bytes sent."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class FakeSlack:
    """State shared by the HTTP handler threads."""

    bot_user_id: str = "UQUALIFYBOT"
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    drops: set[tuple[str, str]] = field(default_factory=set)
    # Calls left to fail, for failures given a number of times.
    failures_left: dict[tuple[str, str], int] = field(default_factory=dict)
    # (method, channel) -> [calls left to answer 429, Retry-After seconds]
    rate_limits: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # chat.postMessage's limit, enforced when > 0: a post to a channel sooner
    # than this after the last one it accepted there is answered 429.
    per_channel_interval_s: float = 0.0
    # Seconds a method takes to answer, after the call is recorded (a slow
    # Slack, or a call in flight when the test stops the caller).
    delays: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0
    _last_post: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _answering: threading.local = field(default_factory=threading.local)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    base_url: str = ""
    # Files reserved by files.getUploadURLExternal, by ID: filename, length
    # and, once POSTed to the upload URL, the bytes.
    pending_uploads: dict[str, dict] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    _file_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def files_in(self, channel_id: str) -> list[UploadedFile]:
        with self.lock:
            return [file for file in self.files if file.channel_id == channel_id]

    def receive_upload(self, file_id: str, content: bytes) -> int:
        """Bytes POSTed to an upload URL; the HTTP status comes back."""
        with self.lock:
            self.calls.append(Call("upload", {"file_id": file_id}))
            upload = self.pending_uploads.get(file_id)
            if upload is None or upload.get("content") is not None:
                return 404
            upload["content"] = content
        return 200

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

    def fail(
        self, method: str, error: str, channel: str = "*", times: int | None = None
    ) -> None:
        """Make `method` answer ok=false with `error` (for one channel or all),
        every time or the next `times` times."""
        self.failures[(method, channel)] = error
        if times is not None:
            self.failures_left[(method, channel)] = times

    def rate_limit(
        self, method: str, times: int, retry_after: int, channel: str = "*"
    ) -> None:
        """Answer the next `times` such calls 429 with `Retry-After`."""
        self.rate_limits[(method, channel)] = [times, retry_after]

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
        call = self._handle_call(method, args)
        # The HTTP handler reads the status from here: tests wrap handle().
        self._answering.call = call
        return call.response

    def answered_call(self) -> Call | None:
        """The call this thread's last handle() answered."""
        return getattr(self._answering, "call", None)

    def _handle_call(self, method: str, args: dict) -> Call:
        call = Call(method, args)
        with self.lock:
            self.calls.append(call)
            channel = str(args.get("channel", ""))
            call.retry_after = self._take_rate_limit(method, channel, call.at)
            error = self._take_failure(method, channel)
            self.rate_limited += call.retry_after is not None
        if call.retry_after is not None:
            call.status = 429
            call.response = {"ok": False, "error": "ratelimited"}
        elif error:
            call.response = {"ok": False, "error": error}
        else:
            self._validate(method, args)
            call.response = self._answer(method, args)
        if self.delays.get(method):
            time.sleep(self.delays[method])
        return call

    def _take_failure(self, method: str, channel: str) -> str | None:
        for key in ((method, channel), (method, "*")):
            if key not in self.failures:
                continue
            error = self.failures[key]
            if key in self.failures_left:
                self.failures_left[key] -= 1
                if self.failures_left[key] <= 0:
                    del self.failures[key], self.failures_left[key]
            return error
        return None

    def _take_rate_limit(self, method: str, channel: str, at: float) -> int | None:
        for key in ((method, channel), (method, "*")):
            limit = self.rate_limits.get(key)
            if limit and limit[0] > 0:
                limit[0] -= 1
                return limit[1]
        if method != "chat.postMessage" or not self.per_channel_interval_s:
            return None
        last = self._last_post.get(channel)
        # 20 ms of slack for the time a request spends on the wire.
        if last is not None and at - last < self.per_channel_interval_s - 0.02:
            return max(1, math.ceil(self.per_channel_interval_s - (at - last)))
        self._last_post[channel] = at
        return None

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
        if method == "files.getUploadURLExternal":
            return self._reserve_upload(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method == "response_url":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _reserve_upload(self, args: dict) -> dict:
        length = str(args.get("length") or "")
        if not args.get("filename") or not length.isdigit() or int(length) < 1:
            return {"ok": False, "error": "invalid_arguments"}
        with self.lock:
            file_id = f"F0FILE{next(self._file_ids):04d}"
            self.pending_uploads[file_id] = {
                "filename": args["filename"],
                "length": int(length),
                "content": None,
            }
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.base_url}upload/v1/{file_id}",
        }

    def _complete_upload(self, args: dict) -> dict:
        try:
            entries = json.loads(args.get("files") or "")
        except json.JSONDecodeError:
            entries = None
        channel_id = args.get("channel_id")
        if (
            not isinstance(entries, list)
            or not entries
            or not all(isinstance(entry, dict) and entry.get("id") for entry in entries)
            or (channel_id is not None and not CHANNEL_ID.match(channel_id))
        ):
            return {"ok": False, "error": "invalid_arguments"}
        with self.lock:
            uploads = [self.pending_uploads.get(entry["id"]) for entry in entries]
            # Slack completes only files whose bytes arrived, and all of them.
            if any(upload is None or upload["content"] is None for upload in uploads):
                return {"ok": False, "error": "file_not_found"}
            for entry, upload in zip(entries, uploads, strict=True):
                if len(upload["content"]) != upload["length"]:
                    self.problems.append(
                        f"upload {entry['id']}: {len(upload['content'])} bytes "
                        f"sent, {upload['length']} announced"
                    )
                del self.pending_uploads[entry["id"]]
                self.files.append(
                    UploadedFile(
                        id=entry["id"],
                        filename=upload["filename"],
                        title=entry.get("title") or upload["filename"],
                        content=upload["content"],
                        channel_id=channel_id,
                        initial_comment=args.get("initial_comment"),
                        thread_ts=args.get("thread_ts"),
                    )
                )
        files = [
            {"id": entry["id"], "title": entry.get("title"), "channels": []}
            for entry in entries
        ]
        return {"ok": True, "files": files}

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
                    "posts": len(fake.of("chat.postMessage")),
                    "rate_limited": fake.rate_limited,
                    "responses": len(fake.of("response_url")),
                    "problems": fake.problems,
                }
            else:
                stats = {"ok": True}
            self._send(stats)

        def _send(
            self, payload: dict, status: int = 200, retry_after: int | None = None
        ) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path.startswith("/upload/v1/"):
                # The upload URL takes the file's raw bytes, not a form.
                file_id = self.path.removeprefix("/upload/v1/")
                status = fake.receive_upload(file_id, body)
                self._send({"ok": status == 200}, status)
                return
            raw = body.decode()
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
            call = fake.answered_call()
            if call is None or call.response is not answer:
                self._send(answer)
                return
            self._send(answer, call.status, call.retry_after)

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

    # An optional second argument enforces chat.postMessage's limit: at most
    # one post per channel per that many seconds.
    fake, running = start_fake_slack(int(sys.argv[1]))
    if len(sys.argv) > 2:
        fake.per_channel_interval_s = float(sys.argv[2])
    threading.Event().wait()
