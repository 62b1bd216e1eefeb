"""Test connection: one request to the LLM's server, its answer in words, within seconds."""

from __future__ import annotations

import time

import pytest
from servers import free_port

from assistant.answering.server_check import check_server
from assistant.config import LLMSettings
from bench.llm_server import ScriptedServer


@pytest.fixture(scope="module")
def server():
    with ScriptedServer(latency=0.0) as s:
        yield s


def test_a_server_that_serves_the_model_is_connected(server):
    found = check_server(LLMSettings(provider="openai", model="scripted", base_url=server.url))
    assert found.ok and found.models == ("scripted",) and "Connected" in found.message


def test_a_model_the_server_does_not_serve_is_named_with_what_it_serves(server):
    found = check_server(LLMSettings(provider="openai", model="qwen", base_url=server.url))
    assert not found.ok and "does not serve the model 'qwen'" in found.message and "scripted" in found.message


def test_a_refused_connection_is_said_quickly():
    started = time.monotonic()
    found = check_server(LLMSettings(provider="openai", model="m", base_url=f"http://127.0.0.1:{free_port()}/v1"))
    assert not found.ok and "Nothing answers" in found.message
    assert time.monotonic() - started < 5


def test_a_server_that_does_not_answer_times_out():
    import socket

    with socket.socket() as listener:  # accepts, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        found = check_server(LLMSettings(provider="ollama", model="m", base_url=f"http://127.0.0.1:{port}"),
                             timeout=1.0)
    assert not found.ok and "did not answer within 1 s" in found.message


@pytest.fixture
def locked():
    """A server whose model list is at /v1/models, for the key "right" only."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Locked(BaseHTTPRequestHandler):
        def do_GET(self):
            status = 404 if self.path != "/v1/models" else 401 if self.headers.get("Authorization") != \
                "Bearer right" else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"data": [{"id": "m"}]}')

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Locked)
    Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()


def test_a_key_refused_is_a_401_in_words(locked):
    found = check_server(LLMSettings(provider="openai", model="m", base_url=f"{locked}/v1", api_key="wrong"))
    assert not found.ok and "401" in found.message and "API key" in found.message
    assert check_server(LLMSettings(provider="openai", model="m", base_url=f"{locked}/v1", api_key="right")).ok


def test_a_wrong_path_is_a_404_with_a_hint(locked):
    found = check_server(LLMSettings(provider="openai", model="m", base_url=locked, api_key="right"))
    assert not found.ok and "404" in found.message and "/v1" in found.message


def test_settings_that_cannot_work_are_said_without_a_request(tmp_path):
    assert "needs a base URL" in check_server(LLMSettings(provider="openai", model="m")).message
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model")
    assert "not a GGUF" in check_server(LLMSettings(provider="llamacpp", gguf_path=str(fake))).message
    fake.write_bytes(b"GGUF" + bytes(100))
    assert check_server(LLMSettings(provider="llamacpp", gguf_path=str(fake))).ok
