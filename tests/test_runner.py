"""Batch runs against a real HTTP server that serves many requests at once: parallel
requests per LLM, one retrieval per paper and question, cancel, kill and resume, retries."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

import pytest
from conftest import child_env, cli, wait_for_results

from assistant.answering.answerer import Answerer
from assistant.answering.llms import PermanentLLMError, build_llm, complete, retry_after
from assistant.config import BatchSettings, LLMSettings
from assistant.database import Database
from assistant.errors import LLMUnavailableError
from assistant.library.library import Library
from assistant.work.background import BackgroundRuns
from assistant.work.run_store import RunStore
from assistant.work.runner import BatchRunner
from assistant.work.runs import RunSpec
from bench.llm_server import ScriptedServer

QUESTIONS = tuple(f"Which momentum was used, take {n}?" for n in range(6)) + (
    "Which GPU was used?", "How large was the batch?")


@pytest.fixture
def server():
    with ScriptedServer(latency=0.3) as s:
        yield s


def _llm(server: ScriptedServer, model: str, parallel: int, retries: int = 4) -> LLMSettings:
    return LLMSettings(provider="openai", model=model, base_url=server.url, max_parallel=parallel, retries=retries,
                       timeout=20)


def _setup(settings, embed, paper_pdf, server, parallel=(3,), questions=QUESTIONS, retries=4):
    """A library of one paper and settings naming one LLM per entry of ``parallel`` (model m0, m1...)."""
    main = _llm(server, "m0", parallel[0], retries)
    extra = {f"llm{i}": _llm(server, f"m{i}", p, retries) for i, p in enumerate(parallel) if i}
    # The seed's judge (the LLM asked yes/no): these tests count the requests of that step too.
    config = settings.model_copy(update={"llm": main, "extra_llms": extra, "batch": BatchSettings(judge="llm")})
    library = Library(config, embed)
    doc = library.ingest_file(paper_pdf).record
    batches = RunStore(Database.in_folder(config.data_dir))
    spec = RunSpec("test", questions, (doc.doc_id,), ("main", *extra), "cited", 3)
    return config, library, batches, batches.open_run(spec, config)


def test_each_llm_gets_its_own_number_of_requests_and_one_retrieval_per_cell(settings, fake_embedding, paper_pdf,
                                                                             server, monkeypatch):
    config, library, batches, run = _setup(settings, fake_embedding, paper_pdf, server, parallel=(4, 2, 1))
    retrieved = []
    prepare = Answerer.prepare

    def counted(self, question, *args, **kwargs):
        retrieved.append(question)
        return prepare(self, question, *args, **kwargs)

    monkeypatch.setattr(Answerer, "prepare", counted)
    progress = BatchRunner(library, config, batches).run(run)
    assert progress.complete and progress.new == 3 * len(QUESTIONS)
    assert sorted(retrieved) == sorted(QUESTIONS)  # once per question, whatever the number of LLMs
    stats = server.stats()
    # Never more than each LLM's own limit in flight, and the limit used (three LLMs at once).
    assert [stats[m]["peak_in_flight"] for m in ("m0", "m1", "m2")] == [4, 2, 1]
    assert all(stats[m]["requests"] - stats[m]["checks"] == len(QUESTIONS) for m in ("m0", "m1", "m2"))
    assert [progress.llms[n].peak_in_flight for n in ("main", "llm1", "llm2")] == [4, 2, 1]
    results = batches.results(run.run_id)
    assert len(results) == 3 * len(QUESTIONS)
    assert {r.llm for r in results} == {"main", "llm1", "llm2"}
    assert all("The paper says:" in r.answer.text and r.judged_by == "llm" and r.answered for r in results)
    assert any(h.rects for r in results for p in r.answer.passages for h in p.highlights)  # evidence marked
    # Each LLM's answer marks its own copy of the shared passages.
    first = [r for r in results if r.q_index == 0]
    assert len({id(p) for r in first for p in r.answer.passages}) == sum(len(r.answer.passages) for r in first)
    lines = progress.describe_llms()
    assert lines[0].startswith("main: 8/8, ") and "answers/min" in lines[0] and "0 in flight" in lines[0]


def test_max_parallel_changes_speed_not_the_run(settings, fake_embedding, paper_pdf, server):
    config, library, batches, run = _setup(settings, fake_embedding, paper_pdf, server, parallel=(2,))
    faster = config.model_copy(update={"llm": config.llm.model_copy(update={"max_parallel": 16})})
    assert run.spec.key(faster) == run.spec.key(config)
    assert batches.open_run(run.spec, faster).run_id == run.run_id


def test_cancel_with_requests_in_flight_stores_each_finished_answer(settings, fake_embedding, paper_pdf):
    with ScriptedServer(latency=1.0) as server:
        config, library, batches, run = _setup(settings, fake_embedding, paper_pdf, server, parallel=(3,))
        jobs = BackgroundRuns()
        jobs.start(run, BatchRunner(library, config, batches))
        deadline = time.monotonic() + 60
        while server.stats().get("m0", {}).get("requests", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        jobs.cancel(run.run_id)
        jobs.wait(run.run_id, 60)
        state = jobs.state(run.run_id)
        assert not state.running and not state.error and state.progress.stopped
        asked = server.stats()["m0"]
        answers_asked = asked["requests"] - asked["checks"]
        results = batches.results(run.run_id)
        # Every answer that was asked for was finished, checked and stored; nothing more was asked.
        assert 2 <= len(results) == answers_asked < len(QUESTIONS)
        assert asked["checks"] == len(results)
        assert all(r.answer.text and r.judged_by == "llm" for r in results)
        # Resuming asks only what is missing.
        progress = BatchRunner(library, config, batches).run(run)
        assert progress.new == len(QUESTIONS) - len(results) and progress.complete


def test_a_busy_server_is_asked_again_as_it_says(settings, server):
    llm = build_llm(_llm(server, "m0", 1))
    server.fail_next(429, times=2, retry_after=0.5)
    started = time.perf_counter()
    text = complete(llm, "Question: what?", "main", retries=3)
    assert "I don't know" in text  # the third try got the answer
    assert server.stats()["m0"]["requests"] == 3
    assert time.perf_counter() - started >= 0.9 + 0.6  # two waits of 0.5 s asked for, three requests of 0.3 s


def test_a_server_busy_for_too_long_stops_with_advice(settings, server):
    llm = build_llm(_llm(server, "m0", 1))
    server.always = (503, {"Retry-After": "0"})
    busy = r"The LLM \(main\) did not answer.*still after 2 tries.*max_parallel"
    with pytest.raises(LLMUnavailableError, match=busy):
        complete(llm, "Question: what?", "main", retries=1)
    assert server.stats()["m0"]["requests"] == 2


def test_a_refused_request_stops_the_run_at_once_naming_the_llm(settings, fake_embedding, paper_pdf, server):
    config, library, batches, run = _setup(settings, fake_embedding, paper_pdf, server, parallel=(1, 2))
    server.always = (401, {})
    refused = r"The LLM \(m[01] via OpenAI-compatible server .*\) refused the request.*401.*API key"
    with pytest.raises(PermanentLLMError, match=refused):
        BatchRunner(library, config, batches).run(run)
    assert batches.done_count(run.run_id) == 0  # nothing half-done stored
    # Not asked again (a 401 stays a 401), and the run stopped dispatching.
    assert sum(s["requests"] for s in server.stats().values()) <= 3


def test_retry_after_reads_seconds_and_dates():
    class Response:
        def __init__(self, value):
            self.headers = {"retry-after": value}

    class Busy(Exception):
        def __init__(self, value):
            self.response = Response(value)

    assert retry_after(Busy("3")) == 3.0
    assert retry_after(Busy("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # in the past: no wait
    assert retry_after(Busy("soon")) is None
    assert retry_after(ValueError("no response")) is None


def test_a_parallel_cli_batch_killed_midway_resumes(tmp_path, settings, paper_pdf):
    questions = tmp_path / "q.txt"
    questions.write_text("\n".join(QUESTIONS), encoding="utf-8")
    data = settings.data_dir
    with ScriptedServer(latency=0.5) as server:
        env = child_env(tmp_path, ASSISTANT_LLM__PROVIDER="openai", ASSISTANT_LLM__MODEL="m0",
                        ASSISTANT_LLM__BASE_URL=server.url, ASSISTANT_LLM__MAX_PARALLEL="3")
        subprocess.run(cli(data, "ingest", str(paper_pdf)), check=True, env=env, cwd=tmp_path, capture_output=True)
        proc = subprocess.Popen(cli(data, "batch", "--questions", str(questions), "--quiet"), env=env, cwd=tmp_path,
                                stderr=subprocess.PIPE, text=True)
        db_path = data / "work.sqlite3"
        wait_for_results(proc, db_path, at_least=2)
        proc.kill()  # kill -9: the answers in flight are lost, nothing else
        proc.wait()
        with sqlite3.connect(db_path) as db:
            before = dict(db.execute("SELECT q_index, created FROM results").fetchall())
        assert 2 <= len(before) < len(QUESTIONS), "the batch should have been killed midway"
        rerun = subprocess.run(cli(data, "batch", "--questions", str(questions)), env=env, cwd=tmp_path,
                               capture_output=True, text=True, check=True)
        assert f"{len(before)} stored before, {len(QUESTIONS) - len(before)} to ask" in rerun.stderr
        assert "main: " in rerun.stderr and "at most 3 in flight" in rerun.stderr
        with sqlite3.connect(db_path) as db:
            after = dict(db.execute("SELECT q_index, created FROM results").fetchall())
        assert len(after) == len(QUESTIONS) and all(after[q] == t for q, t in before.items())


def test_progress_is_reported_from_one_thread_at_a_time(settings, fake_embedding, paper_pdf, server):
    config, library, batches, run = _setup(settings, fake_embedding, paper_pdf, server, parallel=(4, 4))
    seen, inside, overlapped = [], [0], []
    guard = threading.Lock()

    def report(p):
        with guard:
            inside[0] += 1
            overlapped.append(inside[0] > 1)
        seen.append(p.done)
        time.sleep(0.01)
        with guard:
            inside[0] -= 1

    BatchRunner(library, config, batches).run(run, on_progress=report)
    assert not any(overlapped)
    assert seen == list(range(0, 2 * len(QUESTIONS) + 1))
