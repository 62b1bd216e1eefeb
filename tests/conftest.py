from __future__ import annotations

import hashlib
import math
import os
import re
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback

from assistant.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("ASSISTANT_EVAL_DIR", ROOT.parent / "shared" / "eval"))
SEEDS = EVAL.parent / "seeds"
PAPERS = EVAL / "papers"


def make_passage(text: str, n: int = 1, page: int = 1, *, start: int = 0, doc_id: str = "doc",
                 file_name: str = "paper.pdf", title: str = "Paper", score: float = 0.5):
    """A passage of ``text`` on one page, as retrieval makes them: ``[start, start + len)``
    of the document and of page ``page``'s text."""
    from assistant.types import PageSpan, Passage

    end = start + len(text)
    return Passage(n, doc_id, file_name, title, text, score, start, end, [PageSpan(page, start, end)])


def readback(page: pymupdf.Page, rect) -> str:
    """The text PyMuPDF reads inside a box, extracted with the flags the app's page text uses."""
    from assistant.pdf.reader import TEXT_FLAGS

    return page.get_text("text", clip=pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y1), flags=TEXT_FLAGS)


def plain_fold(text: str) -> str:
    """Unicode, case and whitespace folded, invisible control characters and combining marks
    (zero-width, part of the letter before them) dropped; hyphens kept, so a box's text
    compares to its read-back."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(text.casefold().split())


def comparable_page_text(text: str) -> str:
    """Page text for comparing with get_text(): MuPDF's text mode drops a combining mark at
    a line end (a vector arrow over x) and a line break beside a lone control character
    from a math font, where its character listing keeps them."""
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch == "\n")
    return re.sub(r"\n+", "\n", text)


def eval_paper(name: str) -> Path:
    path = PAPERS / name
    if not path.is_file():
        pytest.skip(f"evaluation paper {name} not found under {PAPERS}")
    return path


def cli(data_dir: Path, *args: str) -> list[str]:
    """The command line of ``python -m assistant ARGS --data-dir DATA_DIR``."""
    return [sys.executable, "-m", "assistant", *args, "--data-dir", str(data_dir)]


def wait_for_results(proc: subprocess.Popen, db_path: Path, at_least: int, seconds: float = 240) -> int:
    """Answers a batch process has stored in its work database once there are ``at_least``
    (or the process ended, or ``seconds`` passed): the moment to kill it midway."""
    stored, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None and stored < at_least:
        if db_path.exists():
            with sqlite3.connect(db_path, timeout=30) as db:
                try:
                    stored = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:  # not created yet
                    stored = 0
        time.sleep(0.05)
    return stored


class HashEmbedding(BaseEmbedding):
    """Deterministic bag-of-words embedding: texts sharing words are similar."""

    dim: int = 256

    def _vector(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


class ScriptedLLM(CustomLLM):
    """A stand-in chat model that records every prompt it is given.

    It answers with the next reply of ``replies`` ("I don't know." when they run out) or,
    given ``answer``, with what that function makes of the prompt (a batch asks in any
    order, so its answers must follow from the prompt, not from the order). ``delay``
    makes it slow; ``error`` makes it fail as an unreachable server does.
    """

    replies: list[str] = []
    answer: Callable[[str], str] | None = None
    prompts: list[str] = []
    delay: float = 0.0
    error: str = ""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        time.sleep(self.delay)
        if self.error:
            raise ConnectionError(self.error)
        self.prompts.append(prompt)
        if self.answer is not None:
            return CompletionResponse(text=self.answer(prompt))
        return CompletionResponse(text=self.replies.pop(0) if self.replies else "I don't know.")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt)


def imports_left(root: Path) -> int:
    """Imports not finished in any library under ``root`` (files dropped on the Library page
    are added on a thread of the app's process)."""
    left = 0
    for path in Path(root).rglob("work.sqlite3"):
        with sqlite3.connect(path) as db:
            try:
                left += db.execute("SELECT COUNT(*) FROM imports WHERE finished IS NULL").fetchone()[0]
            except sqlite3.OperationalError:  # a database made before imports were kept
                pass
    return left


def loaded(at, seconds: float = 300):
    """Wait until the app's library and model have loaded (the first page is drawn before,
    see ui/resources.py), then run the page again: drawn whole, and taking up any file
    dropped meanwhile."""
    from ui import resources

    for future in list(resources._builds.values()):
        future.exception(timeout=seconds)
    at.run()
    assert not at.exception, at.exception
    return at


def settle(at, root: Path, seconds: float = 300):
    """Wait until the imports under ``root`` are done, then run the page again."""
    loaded(at, seconds)
    deadline = time.monotonic() + seconds
    while imports_left(root):
        assert time.monotonic() < deadline, f"imports under {root} did not finish in {seconds} s"
        time.sleep(0.2)
    at.run()
    assert not at.exception, at.exception
    return at


def make_pdf(pages: list[list[str]], path: Path | None = None, columns: int = 1) -> bytes:
    """A PDF whose pages hold the given lines (in ``columns`` columns), in Helvetica."""
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        per_column = math.ceil(len(lines) / columns) if lines else 0
        for c in range(columns):
            x = 56 + c * (595 - 112) / columns
            for i, line in enumerate(lines[c * per_column : (c + 1) * per_column]):
                page.insert_text((x, 80 + 16 * i), line, fontsize=10, fontname="helv")
    doc.set_metadata({"title": "A Test Paper About Seabird Detection"})
    data = doc.tobytes()
    doc.close()
    if path is not None:
        path.write_bytes(data)
    return data


PAPER_PAGES = [
    [
        "A Test Paper About Seabird Detection",
        "We study seabird colonies on remote islands.",
        "Images were collected with drones flying at 30 metres.",
        "The dataset holds 4,200 annotated images of gulls and terns.",
        "Every image was labelled with bounding boxes by two experts.",
        "We trained the network with stochastic gradient",
    ],
    [
        "descent and a momentum of 0.9 for 120 epochs.",
        "The batch size was 16 images on one GPU.",
        "Random flips and rotations augmented the training data.",
        "The code is available at https://example.org/seabirds.",
        "Accuracy on the held-out islands reached 91 percent.",
    ],
]


@pytest.fixture
def paper_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "seabirds.pdf"
    make_pdf(PAPER_PAGES, path)
    return path


def _is_setting(key: str) -> bool:
    # The eval folder and the servers CI started (ASSISTANT_TEST_*) are not settings: they stay.
    return key.startswith("ASSISTANT_") and key != "ASSISTANT_EVAL_DIR" and not key.startswith("ASSISTANT_TEST_")


def clear_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASSISTANT_ setting of the shell that runs the tests reaches the code under test."""
    for key in list(os.environ):
        if _is_setting(key):
            monkeypatch.delenv(key)


def child_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a process a test starts: this one's without its ASSISTANT_ settings,
    importing this checkout, offline (no model hub); ``home`` gives it a home of its own (so
    no default data folder is shared), ``extra`` adds variables (settings, most often)."""
    env = {k: v for k, v in os.environ.items() if not _is_setting(k)}
    env |= {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    if home is not None:
        env["HOME"] = str(home)
    return env | extra


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    clear_settings_env(monkeypatch)
    return load_settings(tmp_path / "library")


@pytest.fixture
def fake_embedding() -> HashEmbedding:
    return HashEmbedding()


@pytest.fixture(scope="session")
def real_embedding():
    from assistant.config import EmbeddingSettings
    from assistant.library.embeddings import load_embedding

    return load_embedding(EmbeddingSettings())


@pytest.fixture(scope="session")
def chroma_endpoint(tmp_path_factory) -> Any:
    """A real Chroma server for the whole session: (host, port)."""
    from servers import chroma_server

    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as endpoint:
        yield endpoint


def on_server(settings: Settings, endpoint: tuple[str, int], **fields: Any) -> Settings:
    """The same settings with the chunks on the Chroma server at ``endpoint``."""
    chroma = type(settings.chroma)(**{**settings.chroma.model_dump(), "host": endpoint[0], "port": endpoint[1],
                                      **fields})
    return settings.model_copy(update={"chroma": chroma})


@pytest.fixture(scope="session")
def llm_endpoint(tmp_path_factory) -> Any:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct for the session: its /v1 URL."""
    from servers import llama_server

    with llama_server(tmp_path_factory.mktemp("llama-server")) as url:
        yield url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report carries what each open page showed, so a failure in
    CI can be read from its log alone."""
    report = yield
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and browser is not None:
        for n, context in enumerate(browser.contexts):
            for k, page in enumerate(context.pages):
                try:
                    text = page.locator("body").inner_text(timeout=5_000)
                except Exception as exc:  # the page may be the thing that broke
                    text = f"(could not be read: {exc})"
                report.sections.append((f"page {n}.{k} ({page.url})", text[-4000:]))
    return report


def pytest_sessionfinish(session, exitstatus):
    """The suite fails when a process it started outlives it: an app, a command, a reading
    worker. multiprocessing's resource tracker of this process is its own and ends with it."""
    import psutil

    def ours(p: psutil.Process) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())
        except psutil.Error:
            return False

    left = [p for p in psutil.Process().children(recursive=True) if ours(p)]
    _, alive = psutil.wait_procs(left, timeout=15)
    alive = [p for p in alive if ours(p)]
    if alive:
        for p in alive:
            try:
                print(f"\nleft running by the tests: pid {p.pid}: {' '.join(p.cmdline())[:300]}")
                p.kill()
            except psutil.Error:
                pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
