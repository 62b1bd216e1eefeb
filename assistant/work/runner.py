"""Asking a run's missing answers: every LLM at once, each up to its own ``max_parallel``
requests in flight, each paper and question retrieved once for all of them.

An LLM server (vLLM, Ollama) answers many requests together about as fast as one, so a
batch that asks one question at a time leaves it idle: 56 requests of 2 s each took 143 s
one after another. Here each LLM gets ``max_parallel`` workers; a worker takes the next
(paper, question) its LLM still lacks, takes its passages and prompt (retrieved once for
every LLM, mostly ahead of time), sends the request, asks the yes/no step while the
answer's evidence is marked, and stores the answer. Retrieval and marking are CPU work for
the one encoder, which already uses every core: they run on one thread of their own, while
the workers' requests are in flight, so neither waits for the other.

Unchanged promises: each answer is stored the moment it exists; a cancel stops taking new
work and lets the requests in flight finish and be stored; a crash loses at most those in
flight; running again asks only what is missing.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from llama_index.core.llms import LLM

from ..answering.answerer import Answerer, Prepared
from ..answering.judge import judge
from ..answering.llms import build_llm, complete, named_llms
from ..answering.prompts import TemplateStore
from ..config import LLMSettings, Settings, describe_llm
from ..errors import AssistantError, ConfigurationError
from ..library.library import Library
from .run_store import RunStore
from .runs import Cell, Result, Run

log = logging.getLogger(__name__)

# Retrieved cells kept for LLMs that have not asked them yet: a fast LLM may run far ahead
# of a slow one; beyond this many, the oldest are dropped and retrieved again if needed.
SHARED_CELLS = 512
# Cells retrieved ahead of the workers that will ask them.
AHEAD = 4


def duration(seconds: float | None) -> str:
    """``2 min 05 s``, ``40 s``, or ``estimating…`` before there is anything to go by."""
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@dataclass
class LLMProgress:
    """One LLM's share of a run."""

    total: int
    done: int
    new: int = 0  # answered in this session of the run
    in_flight: int = 0  # requests sent and not yet answered
    peak_in_flight: int = 0
    requests: int = 0  # sent in this session (answers and yes/no checks)
    seconds: float = 0.0  # since this session started

    @property
    def per_minute(self) -> float | None:
        return 60.0 * self.new / self.seconds if self.new and self.seconds > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.per_minute
        return 60.0 * (self.total - self.done) / rate if rate else None

    def describe(self) -> str:
        rate = f"{self.per_minute:.1f} answers/min" if self.per_minute else "starting"
        left = f", {duration(self.eta_seconds)} left" if self.done < self.total and self.per_minute else ""
        return f"{self.done}/{self.total}, {rate}, {self.in_flight} in flight{left}"


@dataclass
class Progress:
    """How far a run is; the runner updates one object in place, so keep a :meth:`copy` to compare."""

    total: int
    done: int
    new: int = 0  # answered in this session of the run
    seconds: float = 0.0  # wall time of this session so far
    current: str = ""
    skipped_docs: list[str] = field(default_factory=list)
    stopped: bool = False
    llms: dict[str, LLMProgress] = field(default_factory=dict)

    @property
    def per_answer(self) -> float | None:
        """Wall seconds per answer in this session (answers come in parallel: not one answer's latency)."""
        return self.seconds / self.new if self.new else None

    @property
    def eta_seconds(self) -> float | None:
        return self.per_answer * (self.total - self.done) if self.per_answer is not None else None

    @property
    def complete(self) -> bool:
        return self.done >= self.total

    def copy(self) -> Progress:
        return replace(self, skipped_docs=list(self.skipped_docs),
                       llms={name: replace(p) for name, p in self.llms.items()})

    def describe_llms(self) -> list[str]:
        """One line per LLM: answers per minute, requests in flight, time left."""
        return [f"{name}: {p.describe()}" for name, p in self.llms.items()]


class BatchRunner:
    """Asks what a run is missing, every LLM in parallel, storing each answer as it comes."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        batches: RunStore,
        templates: TemplateStore | None = None,
        llms: dict[str, LLM | None] | None = None,
    ) -> None:
        self.library = library
        self.settings = settings
        self.batches = batches
        self.templates = templates or TemplateStore(settings.data_dir)
        # Given LLMs win (tests, or an app that already built them); the rest are built from settings.
        self._llms: dict[str, LLM | None] = dict(llms or {})
        self._answerers: dict[str, Answerer] = {}

    def _configured(self, name: str) -> LLMSettings | None:
        configured = named_llms(self.settings)
        if name not in self._llms and name not in configured:
            raise ConfigurationError(
                f"The batch asks the LLM {name!r}, which is not configured (known: {', '.join(configured)}). "
                "Add it to extra_llms in the settings, or start a new batch without it."
            )
        return configured.get(name)

    def answerer(self, name: str) -> Answerer:
        if name not in self._answerers:
            config = self._configured(name)
            llm = self._llms[name] if name in self._llms else build_llm(config)
            self._llms[name] = llm
            label = describe_llm(config) if config else name
            retries = config.retries if config else self.settings.llm.retries
            self._answerers[name] = Answerer(self.library, self.settings, llm, label, self.templates, retries)
        return self._answerers[name]

    def parallel(self, name: str) -> int:
        """Workers for ``name``: its ``max_parallel``; one for offline answers (CPU work only) and
        for a GGUF model run in this process (one model, one request at a time)."""
        config = self._configured(name)
        if self.answerer(name).llm is None or (config and config.provider == "llamacpp"):
            return 1
        return config.max_parallel if config else self.settings.llm.max_parallel

    def run(
        self,
        run: Run,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Answer every missing (paper, question, LLM) of ``run``; stops taking new work when
        ``should_stop()`` is true (what is stored stays). An LLM that fails stops the run with
        its error once the requests in flight are done; nothing half-done is stored."""
        spec = run.spec
        done = self.batches.done_keys(run.run_id)
        present = {d.doc_id: d for d in self.library.documents()}
        # A paper deleted from the library since the run was made: its stored answers
        # count, its missing ones cannot be asked.
        skipped = [d for d in spec.doc_ids if d not in present]
        per_doc = len(spec.questions) * len(spec.llms)
        kept_of_skipped = sum(1 for key in done if key[0] in skipped)
        progress = Progress(total=run.total - per_doc * len(skipped) + kept_of_skipped, done=len(done),
                            skipped_docs=skipped)
        cells = [Cell(d, q) for d in spec.doc_ids if d in present for q in range(len(spec.questions))]
        todo = {name: deque(c for c in cells if (c.doc_id, c.q_index, name) not in done) for name in spec.llms}
        for name in spec.llms:
            stored = sum(1 for key in done if key[2] == name)
            kept = sum(1 for key in done if key[2] == name and key[0] in skipped)
            progress.llms[name] = LLMProgress(total=len(cells) + kept, done=stored)
        workers = {name: min(self.parallel(name), len(todo[name])) for name in spec.llms}  # builds every LLM first
        if on_progress:
            on_progress(progress)
        _Session(self, run, progress, todo, {r.doc_id: r.file_name for r in present.values()},
                 should_stop, on_progress).go(workers)
        return progress


class _Cpu:
    """The one thread for a run's CPU work (retrieval, marking evidence): the encoder already
    uses every core, so two at once only take turns. Urgent work (a worker waits for it) goes
    before work done ahead (the next cells' retrieval)."""

    def __init__(self, name: str) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, urgent: bool = True) -> Future:
        future: Future = Future()
        self._queue.put((0 if urgent else 1, next(self._order), fn, args, future))
        return future

    def close(self) -> None:
        """Stop once the work queued before is done."""
        self._queue.put((2, next(self._order), None, (), None))

    def _loop(self) -> None:
        while True:
            _, _, fn, args, future = self._queue.get()
            if fn is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
                future.set_exception(exc)


class _Slot:
    """One cell's retrieval, computed once on the CPU thread, awaited by every LLM that asks it."""

    def __init__(self, future: Future) -> None:
        self.future = future
        self.taken = False  # by a worker yet (else it was retrieved ahead)


class _Halted(Exception):
    """Work queued ahead for a run that has stopped."""


class _Session:
    """One call of :meth:`BatchRunner.run`: the workers and what they share."""

    def __init__(self, runner: BatchRunner, run: Run, progress: Progress, todo: dict[str, deque[Cell]],
                 names: dict[str, str], should_stop: Callable[[], bool],
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.runner, self.run, self.progress, self.todo, self.names = runner, run, progress, todo, names
        self.should_stop, self.on_progress = should_stop, on_progress
        self.judge_mode = runner.settings.batch.judge
        self.lock = threading.Condition()  # progress, queues, shared cells
        self.cpu = _Cpu(f"batch-{run.run_id}-cpu")
        self.halt = threading.Event()
        self.failure: BaseException | None = None
        self.wanted = Counter(c for queue in todo.values() for c in queue)  # LLMs that still need each cell
        # Every cell some LLM needs, in the order the LLMs ask them.
        self.order = list(dict.fromkeys(c for queue in todo.values() for c in queue))
        self.shared: dict[Cell, _Slot] = {}
        self.started = time.monotonic()

    def go(self, workers: dict[str, int]) -> None:
        run_id = self.run.run_id
        threads = [threading.Thread(target=self._work, args=(name, self.runner.answerer(name)), daemon=True,
                                    name=f"batch-{run_id}-{name}-{i}")
                   for name, count in workers.items() for i in range(count)]
        first = next((self.runner.answerer(name) for name in workers), None)
        ahead = threading.Thread(target=self._retrieve_ahead, args=(first,), name=f"batch-{self.run.run_id}-ahead",
                                 daemon=True)
        for t in [*threads, ahead]:
            t.start()
        try:
            for t in threads:
                while t.is_alive():  # joined in slices, so that Ctrl-C reaches the main thread
                    t.join(0.2)
        except BaseException:
            self.halt.set()  # stop dispatching; what is in flight is lost with the process
            raise
        finally:
            self.halt.set()
            with self.lock:
                self.lock.notify_all()
            self.cpu.close()
        if self.failure is not None:
            raise self.failure

    # --- a worker ----------------------------------------------------------------------

    def _work(self, name: str, answerer: Answerer) -> None:
        while True:
            cell = self._next(name)
            if cell is None:
                return
            try:
                self._answer(name, answerer, cell)
            except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits for the run
                with self.lock:
                    if self.failure is None:
                        self.failure = exc
                self.halt.set()
                return

    def _next(self, name: str) -> Cell | None:
        if self.halt.is_set():
            return None
        if self.should_stop():
            with self.lock:
                if self.todo[name]:
                    self.progress.stopped = True
            return None
        with self.lock:
            return self.todo[name].popleft() if self.todo[name] else None

    def _answer(self, name: str, answerer: Answerer, cell: Cell) -> None:
        started = time.perf_counter()
        prepared = self._prepared(answerer, cell)
        if answerer.llm is not None and prepared.passages:
            with self._in_flight(name):
                raw = answerer.request(prepared)
            # Read and judged on the CPU thread (the local judge encodes); its evidence is
            # marked there too, while an LLM's yes/no request, if any, is in flight.
            answer = self.cpu.submit(answerer.finish, prepared, raw, False).result()
            marking = self.cpu.submit(answerer.mark, prepared, answer)

            def ask(prompt: str) -> str:
                with self._in_flight(name):
                    return complete(answerer.llm, prompt, answerer.llm_name, retries=answerer.retries)

            judgement = judge(answer, ask, self.judge_mode)
            marking.result()
        else:
            answer = self.cpu.submit(answerer.finish, prepared, None).result()
            judgement = judge(answer, None, self.judge_mode)
        seconds = time.perf_counter() - started
        answer.seconds = seconds
        answered = judgement.answered
        support = answer.support if judgement.judged_by == "rule" else ("answered" if answered else "not found")
        spec = self.run.spec
        file_name = self.names[cell.doc_id]
        self.runner.batches.store(Result(self.run.run_id, cell.doc_id, cell.q_index, name, file_name,
                                         spec.questions[cell.q_index], answer, answered, judgement.judged_by,
                                         seconds, support, judgement.confidence, judgement.local, judgement.llm))
        with self.lock:
            p = self.progress
            p.done += 1
            p.new += 1
            p.llms[name].done += 1
            p.llms[name].new += 1
            p.current = f"{file_name} · Q{cell.q_index + 1} · {name}"
            self._tick()

    def _tick(self) -> None:
        """Time the progress and show it (under ``self.lock``: one report at a time, in order)."""
        elapsed = time.monotonic() - self.started
        self.progress.seconds = elapsed
        for p in self.progress.llms.values():
            p.seconds = elapsed
        if self.on_progress:
            self.on_progress(self.progress)

    @contextmanager
    def _in_flight(self, name: str) -> Iterator[None]:
        with self.lock:
            p = self.progress.llms[name]
            p.in_flight += 1
            p.requests += 1
            p.peak_in_flight = max(p.peak_in_flight, p.in_flight)
        try:
            yield
        finally:
            with self.lock:
                self.progress.llms[name].in_flight -= 1

    # --- retrieval, once per cell ------------------------------------------------------

    def _prepared(self, answerer: Answerer, cell: Cell) -> Prepared:
        """The cell's passages and prompt: retrieved once (ahead, or by the first LLM that asks)."""
        with self.lock:
            slot = self.shared.get(cell) or self._slot(answerer, cell, urgent=True)
            if not slot.taken:
                slot.taken = True
                self.lock.notify_all()  # the retrieval ahead may go one further
            self.wanted[cell] -= 1
            if self.wanted[cell] <= 0:  # every LLM has it: nothing more to share
                self.shared.pop(cell, None)
        try:
            return slot.future.result()
        except AssistantError:
            raise
        except Exception as exc:
            raise AssistantError(f"Finding the passages for {self.names[cell.doc_id]}, question {cell.q_index + 1} "
                                 f"failed: {type(exc).__name__}: {exc}") from exc

    def _slot(self, answerer: Answerer, cell: Cell, urgent: bool) -> _Slot:
        """A new shared cell, its retrieval queued on the CPU thread (under ``self.lock``)."""
        spec = self.run.spec

        def prepare() -> Prepared:
            if not urgent and self.halt.is_set():
                raise _Halted
            return answerer.prepare(spec.questions[cell.q_index], [cell.doc_id], spec.top_k, spec.template,
                                    spec.guide(cell.q_index))

        slot = self.shared[cell] = _Slot(self.cpu.submit(prepare, urgent=urgent))
        while len(self.shared) > SHARED_CELLS:  # a fast LLM far ahead of a slow one: forget the oldest
            oldest = next((c for c, s in self.shared.items() if s.taken and s.future.done()), None)
            if oldest is None:
                break
            del self.shared[oldest]
        return slot

    def _retrieve_ahead(self, answerer: Answerer | None) -> None:
        """Retrieve the next cells before a worker asks for them, so that a worker back from
        the server finds its next prompt ready: at most :data:`AHEAD` cells not yet taken.
        (Retrieval is the same whichever LLM's answerer does it.)"""
        if answerer is None:
            return
        for cell in self.order:
            with self.lock:
                while not self.halt.is_set() and sum(not s.taken for s in self.shared.values()) >= AHEAD:
                    self.lock.wait(0.5)
                if self.halt.is_set() or self.should_stop():
                    return
                if cell in self.shared or self.wanted[cell] <= 0:
                    continue
                self._slot(answerer, cell, urgent=False)


