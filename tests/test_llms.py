"""The LLM layer over real HTTP: an OpenAI-protocol server on localhost with scripted replies."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from servers import free_port

from assistant.answering.answerer import Answerer
from assistant.answering.llms import build_llm
from assistant.config import LLMSettings, describe_llm
from assistant.errors import ConfigurationError, LLMUnavailableError
from assistant.library.library import Library


class OpenAIProtocol(BaseHTTPRequestHandler):
    replies: list[str] = []
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        reply = type(self).replies.pop(0) if type(self).replies else "I don't know."
        if body.get("stream"):
            self._stream(body["model"], reply)
            return
        data = json.dumps({
            "id": "x", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, reply: str) -> None:
        """Server-sent events, a few words per chunk, as OpenAI-compatible servers stream."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = reply.split(" ")
        for i in range(0, len(words), 3):
            delta = " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": delta},
                                  "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server():
    OpenAIProtocol.replies, OpenAIProtocol.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenAIProtocol)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_server_answers_through_the_template(openai_server, settings, fake_embedding, paper_pdf):
    llm_settings = LLMSettings(provider="openai", model="tiny", base_url=openai_server, api_key="k-123", timeout=10)
    library = Library(settings, fake_embedding)
    library.ingest_file(paper_pdf)
    OpenAIProtocol.replies = ["Answer:::\nAnswer: Drones at 30 metres [1].\n\nAnswer:::"]
    answer = Answerer(library, settings, build_llm(llm_settings), describe_llm(llm_settings)).ask(
        "How were the images collected?", k=2)
    assert answer.text == "Drones at 30 metres [1]." and answer.cited == [1]
    assert answer.llm == f"tiny via OpenAI-compatible server {openai_server}"
    request = OpenAIProtocol.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k-123"
    prompt = request["body"]["messages"][-1]["content"]
    assert prompt.startswith("Use the following pieces of context") and "[1] (seabirds.pdf, page" in prompt
    assert request["body"]["model"] == "tiny"


def test_a_server_that_is_down_gives_a_clear_error_quickly(settings, fake_embedding, paper_pdf):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    llm_settings = LLMSettings(provider="openai", model="tiny", base_url=url, timeout=5)
    library = Library(settings, fake_embedding)
    library.ingest_file(paper_pdf)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="did not answer.*Check that the server is running"):
        Answerer(library, settings, build_llm(llm_settings), describe_llm(llm_settings)).ask("How?")
    assert time.perf_counter() - started < 60


def test_incomplete_llm_settings_say_what_is_missing():
    assert build_llm(LLMSettings()) is None
    with pytest.raises(ConfigurationError, match="ASSISTANT_LLM__BASE_URL"):
        build_llm(LLMSettings(provider="openai", model="m"))
    with pytest.raises(ConfigurationError, match="ASSISTANT_LLM__MODEL"):
        build_llm(LLMSettings(provider="ollama"))
    with pytest.raises(ConfigurationError, match="ASSISTANT_LLM__GGUF_PATH"):
        build_llm(LLMSettings(provider="llamacpp"))
    ollama = build_llm(LLMSettings(provider="ollama", model="llama3.2"))
    assert ollama.model == "llama3.2" and ollama.base_url == "http://127.0.0.1:11434"
