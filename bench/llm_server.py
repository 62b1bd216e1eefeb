"""A scripted OpenAI-protocol LLM server: every request takes ``--latency`` seconds, any
number are served at once (as vLLM does under load), and it counts what it was sent.

    python bench/llm_server.py --latency 2 --port 8000
    ASSISTANT_LLM__PROVIDER=openai ASSISTANT_LLM__MODEL=scripted \\
    ASSISTANT_LLM__BASE_URL=http://127.0.0.1:8000/v1 python -m assistant batch ...

Answers quote the first sentence (of six words or more) of the prompt's first passage,
cited [1]; the yes/no step is answered "yes". ``GET /stats`` gives requests and peak
requests in flight per model. Tests script failures: :meth:`ScriptedServer.fail_next` answers the next requests
with an HTTP error (429 with Retry-After, 401...), :attr:`ScriptedServer.always` every one.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A passage as the prompt holds it: its fence on a line of its own (the instructions also
# name "<passage> and </passage>", inline).
_PASSAGE = re.compile(r"<passage>\n(.+?)\n</passage>", re.DOTALL)
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.DOTALL)


def scripted_reply(prompt: str) -> str:
    """What the scripted model says to ``prompt``."""
    if prompt.startswith("Decide whether the answer"):
        return "yes"
    found = _PASSAGE.search(prompt)
    if not found:
        return "Answer:::\nI don't know.\nAnswer:::"
    text = " ".join(found.group(1).split())
    sentences = [m.group(1).strip() for m in _SENTENCE.finditer(text)]
    # The first sentence of some length: a heading ("Abstract.") says nothing.
    quoted = next((x for x in sentences if len(x.split()) >= 6), text)[:300]
    return f"Answer:::\nThe paper says: {quoted} [1]\nAnswer:::"


class ScriptedServer:
    """The server on a thread of this process (``with ScriptedServer(latency) as s: s.url``)."""

    def __init__(self, latency: float = 1.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()  # of them, yes/no checks (the rest ask for answers)
        self.failures: deque[tuple[int, dict[str, str]]] = deque()
        self.always: tuple[int, dict[str, str]] | None = None
        self._http = ThreadingHTTPServer((host, port), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        with self.lock:
            self.failures.extend([(status, headers)] * times)

    def reset(self) -> None:
        with self.lock:
            self.peak.clear()
            self.requests.clear()
            self.checks.clear()

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {m: {"requests": self.requests[m], "checks": self.checks[m], "peak_in_flight": self.peak[m]}
                    for m in self.requests}

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._http.shutdown()
        self._http.server_close()

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: thousands of requests
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                elif self.path.rstrip("/").endswith("/stats"):
                    self._json(200, server.stats())
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                model = str(body.get("model", ""))
                prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", [])) or str(
                    body.get("prompt", ""))
                with server.lock:
                    server.requests[model] += 1
                    server.checks[model] += prompt.startswith("Decide whether the answer")
                    server.in_flight[model] += 1
                    server.peak[model] = max(server.peak[model], server.in_flight[model])
                    failure = server.failures.popleft() if server.failures else server.always
                try:
                    time.sleep(server.latency)
                    if failure:
                        status, headers = failure
                        self._json(status, {"error": {"message": f"scripted {status}", "code": status}}, headers)
                        return
                    if "messages" in body:
                        choice = {"index": 0, "message": {"role": "assistant", "content": scripted_reply(prompt)},
                                  "finish_reason": "stop"}
                        kind = "chat.completion"
                    else:
                        choice = {"index": 0, "text": scripted_reply(prompt), "finish_reason": "stop"}
                        kind = "text_completion"
                    self._json(200, {"id": "scripted", "object": kind, "created": int(time.time()), "model": model,
                                     "choices": [choice],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                finally:
                    with server.lock:
                        server.in_flight[model] -= 1

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per request (default 2)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = ScriptedServer(args.latency, args.host, args.port)
    print(f"scripted LLM server at {server.url}, {args.latency:g} s per request; GET {server.url}/stats", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
