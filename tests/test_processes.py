"""One library, several processes at once: a long-lived process (what the app is) keeps
answering while terminals add and delete papers; two processes adding the same file
store it once; a writer killed while it holds the library leaves nothing the next
process cannot open and clean. Real processes, the real embedding model, Chroma in the
data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import chromadb
import pytest
from conftest import PAPER_PAGES, child_env, make_pdf

from assistant.errors import AssistantError, LibraryBusyError
from assistant.library.library import Library
from assistant.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

TOPICS = {
    "frogs.pdf": ["Frog calls were recorded with audio sensors in ponds.", "A recurrent network was trained",
                  "with a batch size of 32 recordings for 40 epochs."],
    "bats.pdf": ["Bat echolocation calls were captured with ultrasonic detectors.",
                 "A convolutional network classified the spectrograms", "with a batch size of 64 for 25 epochs."],
}


def cli(data: Path, *args: str) -> subprocess.Popen:
    env = child_env(data.parent, ASSISTANT_DATA_DIR=str(data))
    return subprocess.Popen([sys.executable, "-m", "assistant", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{out}\n{err[-3000:]}"
    return out


def test_a_running_library_answers_throughout_while_terminals_add_and_delete(settings, real_embedding, tmp_path):
    workspace = open_workspace(settings, embed_model=real_embedding)
    first = workspace.library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    files = {}
    for name, lines in TOPICS.items():
        files[name] = tmp_path / name
        make_pdf([lines], files[name])

    failures: list[str] = []
    asked = []
    stop = threading.Event()

    def ask_in_a_loop() -> None:
        n = 0
        while not stop.is_set():
            others = [d.doc_id for d in workspace.library.documents() if d.doc_id != first.doc_id]
            scope = [others[n % len(others)]] if others and n % 2 else None
            try:
                answer = workspace.answerer.ask("What batch size was used?", scope)
                asked.append(bool(answer.passages))
            except Exception as exc:  # noqa: BLE001 - whatever it is, a person would have seen it
                failures.append(f"{type(exc).__name__}: {exc}")
            n += 1

    asker = threading.Thread(target=ask_in_a_loop)
    asker.start()
    try:
        data = settings.data_dir
        # Two terminals add a paper each at once, then a third deletes the first paper (not
        # at once with them: a library left empty for a moment would rightly answer nothing).
        outputs = [finished(t) for t in [cli(data, "ingest", str(path)) for path in files.values()]]
        outputs.append(finished(cli(data, "delete", first.doc_id)))
        while_running = len(asked) + len(failures)
        time.sleep(1)
    finally:
        stop.set()
        asker.join()

    assert while_running > 0
    assert failures == []
    assert all(asked), "a question got no passages"
    assert "deleted" in outputs[-1]
    library = workspace.library
    docs = {d.file_name: d for d in library.documents()}
    assert set(docs) == set(TOPICS)
    for name, record in docs.items():  # each new paper answerable here, without a restart...
        answer = workspace.answerer.ask("What batch size was used?", [record.doc_id])
        assert answer.passages and {p.file_name for p in answer.passages} == {name}
        out = finished(cli(settings.data_dir, "ask", "What batch size was used?", "--doc", record.doc_id))
        assert f"[1] {name}" in out  # ...and from a fresh process
    # Nothing half-added, nothing of the deleted paper left.
    assert library.chunk_count() == sum(d.chunks for d in docs.values())
    assert library.catalog.pending() == []
    assert sorted(p.name for p in library.files_dir.iterdir()) == sorted(f"{d.doc_id}.pdf" for d in docs.values())


def test_two_processes_adding_the_same_file_store_it_once(settings, real_embedding, tmp_path):
    path = tmp_path / "seabirds.pdf"
    make_pdf(PAPER_PAGES, path)
    outputs = [finished(p) for p in [cli(settings.data_dir, "ingest", str(path)) for _ in range(2)]]
    said = sorted(out.split()[0] for out in outputs)
    assert said == ["added", "exists"]
    library = Library(settings, real_embedding)
    [record] = library.documents()
    assert library.chunk_count() == record.chunks
    assert [p.name for p in library.files_dir.iterdir()] == [f"{record.doc_id}.pdf"]


HOLDER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from conftest import HashEmbedding
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from assistant.config import load_settings
    from assistant.library.library import Library

    library = Library(load_settings({data!r}), HashEmbedding())
    with library.chunks.writing("adding half.pdf"):
        library.catalog.begin("deadbeefdeadbeef", "cut1")
        node = TextNode(id_="deadbeefdeadbeef:cut1:0", text="half", metadata={{"doc_id": "deadbeefdeadbeef",
                        "cut": "cut1"}})
        # As ingestion does: the vector store files a chunk under its source document's id.
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="deadbeefdeadbeef")
        node.embedding = HashEmbedding().get_text_embedding("half")
        library.chunks.add([node])
        (library.files_dir / "deadbeefdeadbeef.pdf").write_bytes(b"%PDF-1.7 half")
        print("holding", flush=True)
        time.sleep(600)
""")


def test_a_writer_killed_while_holding_the_library_leaves_it_usable(settings, fake_embedding, tmp_path):
    settings = settings.model_copy(update={"lock_timeout_s": 2.0})
    library = Library(settings, fake_embedding)
    kept = library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    script = HOLDER.format(root=str(ROOT), tests=str(TESTS), data=str(settings.data_dir))
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env=child_env(ASSISTANT_DATA_DIR=str(settings.data_dir)))
    try:
        assert holder.stdout.readline().strip() == "holding"
        # A writer waits, says for whom, and gives up with a message naming the holder.
        heard = []
        frogs = make_pdf([TOPICS["frogs.pdf"]])
        with pytest.raises(LibraryBusyError, match=rf"process {holder.pid} .*adding half\.pdf.*waited 2 s"):
            library.ingest(frogs, "frogs.pdf", heard.append)
        assert any(p.stage == "waiting" and f"process {holder.pid}" in p.note for p in heard)
        assert [d.file_name for d in library.documents()] == ["seabirds.pdf"]
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()

    # The OS let the lock go with the process; the next start removes what it left.
    restarted = Library(settings, fake_embedding)
    assert restarted.catalog.pending() == []
    assert restarted.chunk_count() == kept.chunks
    assert [p.name for p in restarted.files_dir.iterdir()] == [f"{kept.doc_id}.pdf"]
    added = restarted.ingest(make_pdf([TOPICS["frogs.pdf"]]), "frogs.pdf").record
    assert restarted.chunk_count() == kept.chunks + added.chunks
    # The first process, still running, sees the paper the second one added.
    assert {d.file_name for d in library.documents()} == {"seabirds.pdf", "frogs.pdf"}
    assert library.chunks.count([added.doc_id]) == added.chunks


def test_a_store_error_is_retried_once_then_said_in_words(settings, fake_embedding, monkeypatch):
    library = Library(settings, fake_embedding)
    record = library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    real_get = chromadb.Collection.get
    failing = {"left": 1}

    def flaky(self, *args, **kwargs):
        if failing["left"] > 0:
            failing["left"] -= 1
            raise chromadb.errors.InternalError("Error executing plan: Internal error: Error finding id")
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(chromadb.Collection, "get", flaky)
    assert len(library.chunks.get([record.doc_id])["ids"]) == record.chunks  # reopened, asked again
    failing["left"] = 2
    with pytest.raises(AssistantError, match="could not be read .*Ask again") as caught:
        library.chunks.get([record.doc_id])
    assert type(caught.value) is AssistantError


def test_no_reading_worker_outlives_a_terminal_import_killed_mid_way(tmp_path):
    """kill -9 the command while its workers read: every process it started is gone within
    seconds (a worker used to wait on its task queue for ever, holding ~350 MB)."""
    import psutil

    papers = []
    for n in range(4):
        papers.append(tmp_path / f"long{n}.pdf")
        make_pdf([[f"Line {i} of page {p} about seabird colonies and drones." for i in range(40)]
                  for p in range(300)], papers[-1])
    data = tmp_path / "lib"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", *map(str, papers)],
                            env=child_env(tmp_path, ASSISTANT_DATA_DIR=str(data), ASSISTANT_IMPORTS__WORKERS="2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = psutil.Process(proc.pid)
    deadline = time.monotonic() + 240
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and not workers:
        workers = [c for c in command.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(0.2)
    assert workers, "no reading worker was started"
    started = command.children(recursive=True)  # the workers and multiprocessing's resource tracker
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(started, timeout=15)
    assert not alive, f"left running after their parent was killed: {[(p.pid, p.cmdline()) for p in alive]}"
