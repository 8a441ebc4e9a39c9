"""A local fake of an OpenAI-compatible chat completions API, over real HTTP.

Each test scripts the replies in order: a dict is sent as the assistant's
JSON content, or a Behaviour says to stall, fail with a status, or send raw
content. Every request body is kept for assertions about the prompt.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    status: int = 200
    content: str | None = None
    delay_s: float = 0
    headers: dict = field(default_factory=dict)
    refusal: str | None = None


@dataclass
class FakeOpenAI:
    replies: list = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies) -> None:
        self.replies.extend(replies)

    default: Behaviour | None = None

    def next_reply(self) -> Behaviour:
        with self.lock:
            if self.replies:
                reply = self.replies.pop(0)
            else:
                reply = self.default or Behaviour(status=500)
        if isinstance(reply, dict):
            return Behaviour(content=json.dumps(reply))
        return reply


def _completion(behaviour: Behaviour) -> dict:
    message = {
        "role": "assistant",
        "content": behaviour.content,
        "refusal": behaviour.refusal,
    }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _make_handler(fake: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - /healthz for a fake run in a process
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            with fake.lock:
                fake.requests.append(json.loads(self.rfile.read(length) or b"{}"))
            behaviour = fake.next_reply()
            time.sleep(behaviour.delay_s)
            if behaviour.status == 200:
                payload = _completion(behaviour)
            else:
                payload = {"error": {"message": "scripted failure", "type": "fake"}}
            body = json.dumps(payload).encode()
            try:
                self.send_response(behaviour.status)
                for name, value in behaviour.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as it should

        def log_message(self, *args):
            pass

    return Handler


def start_fake_openai() -> tuple[FakeOpenAI, ThreadingHTTPServer]:
    fake = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return fake, server


if __name__ == "__main__":
    # `python -m tests.fakes.openai_api PORT DELAY_S`: a slow model in its own
    # process, answering every request with the same proposal after DELAY_S.
    import sys

    port, delay_s = int(sys.argv[1]), float(sys.argv[2])
    running = FakeOpenAI(
        default=Behaviour(
            content=json.dumps(
                {"level": 2, "evidence": "", "confidence": 0.9, "follow_up": ""}
            ),
            delay_s=delay_s,
        )
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(running))
    server.daemon_threads = True
    server.serve_forever()
