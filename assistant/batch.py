"""Question sets asked of many papers, by one or several LLMs, stored as they come.

A run is papers x questions x LLMs. Each answer is written to the work database the
moment it exists, so a run that is cancelled, crashes or outlives the app is resumed by
asking only what is missing; asking the same papers the same questions with the same
settings again finds the same run (see :meth:`RunSpec.key`) and does no new work.

Each answer also gets the seed pipeline's yes/no step: was the question answered from
the paper (specific details) or not (a generic or "don't know" answer)? With an LLM
the LLM is asked, as the seed did; without one the extractive answerer's own decision
stands: answered only when a sentence of the kind of fact asked for clears the relevance
floor (see :func:`assistant.evidence.support`), "weak" when the call is close.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from llama_index.core.llms import LLM

from .answering import Answerer, looks_like_dont_know
from .config import Settings
from .database import Database
from .errors import AssistantError, ConfigurationError
from .index import Library
from .llms import build_llm, complete, describe_llm, named_llms
from .prompts import TemplateStore
from .questions import guide_for
from .types import Answer, Guide

log = logging.getLogger(__name__)

ANSWERED_PROMPT = """Decide whether the answer below gives specific information that comes from a research paper.

Say "yes" if the answer states specific details (names, numbers, methods, data, places) that the paper must have given.
Say "no" if the answer is generic, says the information is not available, or only guesses what is usual.

Question: {question}
Answer: {answer}

Reply with one word, yes or no.
Response:"""

_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_yes_no(text: str) -> bool | None:
    """The last yes/no in an LLM's reply (models often restate the question first), or None."""
    found = _YES_NO.findall(text or "")
    return found[-1].lower() == "yes" if found else None


@dataclass(frozen=True)
class RunSpec:
    """What a run asks: every question of every paper, of every LLM named."""

    question_set: str
    questions: tuple[str, ...]
    doc_ids: tuple[str, ...]
    llms: tuple[str, ...]
    template: str
    top_k: int
    descriptions: tuple[str, ...] = ()  # what each question asks for ("" = nothing beyond its words)

    def description(self, q_index: int) -> str:
        return self.descriptions[q_index] if q_index < len(self.descriptions) else ""

    def guide(self, q_index: int) -> Guide:
        """What question ``q_index`` asks for (see :func:`assistant.questions.guide_for`)."""
        return guide_for(self.questions[q_index], self.description(q_index))

    def key(self, settings: Settings) -> str:
        """Two runs are the same when they ask the same of the same papers with the same
        models and the same retrieval; then stored answers are reused, never recomputed."""
        llms = named_llms(settings)
        basis = {
            "questions": list(self.questions),
            "docs": sorted(self.doc_ids),
            "llms": {name: describe_llm(llms[name]) if name in llms else name for name in self.llms},
            "template": self.template,
            "top_k": self.top_k,
            # The backend only when not the default, so runs made before it existed keep their ids.
            "embedding": settings.embedding.model
            + ("" if settings.embedding.backend == "torch" else f"+{settings.embedding.backend}"),
            "chunking": settings.chunking.model_dump(),
            "retrieval": settings.retrieval.model_dump(exclude={"top_k"}),
            "answer": settings.answer.model_dump(exclude={"template"}),
        }
        if any(self.descriptions):  # only then, so runs made before descriptions keep their ids
            basis["descriptions"] = list(self.descriptions)
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Run:
    run_id: int
    spec: RunSpec
    created: datetime

    @property
    def total(self) -> int:
        return len(self.spec.doc_ids) * len(self.spec.questions) * len(self.spec.llms)

    @property
    def label(self) -> str:
        return (f"#{self.run_id} · {self.spec.question_set} · {len(self.spec.doc_ids)} paper(s) x "
                f"{len(self.spec.questions)} question(s) x {len(self.spec.llms)} LLM(s) · "
                f"{self.created:%Y-%m-%d %H:%M}")


@dataclass(frozen=True)
class Cell:
    """One paper and one question of a run (all its LLMs' answers together)."""

    doc_id: str
    q_index: int


@dataclass
class Result:
    run_id: int
    doc_id: str
    q_index: int
    llm: str
    file_name: str
    question: str
    answer: Answer
    answered: bool
    judged_by: str  # "llm" or "rule"
    seconds: float
    support: str = ""  # "answered", "weak" or "not found" ("" for results stored before it was kept)

    @property
    def cell(self) -> Cell:
        return Cell(self.doc_id, self.q_index)

    @property
    def weak(self) -> bool:
        return self.support == "weak"


@dataclass(frozen=True)
class Flag:
    """What a table of a run needs of one answer, without the answer itself."""

    doc_id: str
    q_index: int
    llm: str
    file_name: str
    answered: bool
    support: str = ""

    @property
    def weak(self) -> bool:
        return self.support == "weak"

    @property
    def cell(self) -> Cell:
        return Cell(self.doc_id, self.q_index)


@dataclass(frozen=True)
class Vote:
    """The LLMs' majority on answered / not answered for one cell."""

    yes: int
    no: int

    @property
    def answered(self) -> bool | None:
        """True or False by majority, None on a tie (or no answers)."""
        return None if self.yes == self.no else self.yes > self.no

    @property
    def label(self) -> str:
        """``answered``, ``not answered`` or ``tie``."""
        return {True: "answered", False: "not answered", None: "tie"}[self.answered]

    @property
    def agreement(self) -> float:
        """Share of the LLMs on the majority side (1.0: all agree)."""
        n = self.yes + self.no
        return max(self.yes, self.no) / n if n else 0.0


def vote(results: Sequence[Result | Flag]) -> Vote:
    yes = sum(1 for r in results if r.answered)
    return Vote(yes, len(results) - yes)


@dataclass
class Progress:
    """How far a run is; the runner updates one object in place, so keep a copy to compare."""

    total: int
    done: int
    new: int = 0  # answered in this session of the run
    seconds: float = 0.0  # spent on them
    current: str = ""
    skipped_docs: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def per_answer(self) -> float | None:
        return self.seconds / self.new if self.new else None

    @property
    def eta_seconds(self) -> float | None:
        return self.per_answer * (self.total - self.done) if self.per_answer is not None else None

    @property
    def complete(self) -> bool:
        return self.done >= self.total


class Batches:
    """Runs and their results in the work database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def open_run(self, spec: RunSpec, settings: Settings) -> Run:
        """The run for ``spec``: the stored one if it was made before, else a new one."""
        if not spec.questions or not spec.doc_ids or not spec.llms:
            raise AssistantError("A batch needs at least one paper, one question and one LLM.")
        key = spec.key(settings)
        with self.db.transaction() as db:
            row = db.execute("SELECT run_id FROM runs WHERE key = ?", (key,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO runs (key, question_set, questions, doc_ids, llms, template, top_k, created, "
                    "descriptions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, spec.question_set, json.dumps(list(spec.questions)), json.dumps(list(spec.doc_ids)),
                     json.dumps(list(spec.llms)), spec.template, spec.top_k, datetime.now(UTC).isoformat(),
                     json.dumps(list(spec.descriptions))),
                )
                row = db.execute("SELECT run_id FROM runs WHERE key = ?", (key,)).fetchone()
        return self.get(row["run_id"])

    def get(self, run_id: int) -> Run:
        with self.db.transaction() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise AssistantError(f"There is no batch run #{run_id}; it may have been deleted.")
        return _run(row)

    def runs(self) -> list[Run]:
        """Newest first."""
        with self.db.transaction() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY run_id DESC").fetchall()
        return [_run(r) for r in rows]

    def done_count(self, run_id: int) -> int:
        with self.db.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,)).fetchone()[0]

    def done_keys(self, run_id: int) -> set[tuple[str, int, str]]:
        with self.db.transaction() as db:
            rows = db.execute("SELECT doc_id, q_index, llm FROM results WHERE run_id = ?", (run_id,)).fetchall()
        return {(r["doc_id"], r["q_index"], r["llm"]) for r in rows}

    def results(self, run_id: int, cell: Cell | None = None) -> list[Result]:
        """A run's answers, whole (with their passages and boxes); only one cell's when given."""
        where, args = "run_id = ?", [run_id]
        if cell is not None:
            where, args = where + " AND doc_id = ? AND q_index = ?", [run_id, cell.doc_id, cell.q_index]
        with self.db.transaction() as db:
            rows = db.execute(f"SELECT * FROM results WHERE {where} ORDER BY doc_id, q_index, llm", args).fetchall()
        return [_result(r) for r in rows]

    def flags(self, run_id: int) -> list[Flag]:
        """A run's answered flags alone: cheap enough to redraw a large run's table every second."""
        with self.db.transaction() as db:
            rows = db.execute(
                "SELECT doc_id, q_index, llm, file_name, answered, support FROM results WHERE run_id = ?", (run_id,)
            ).fetchall()
        return [Flag(r["doc_id"], r["q_index"], r["llm"], r["file_name"], bool(r["answered"]), r["support"])
                for r in rows]

    def store(self, result: Result) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO results (run_id, doc_id, q_index, llm, file_name, question, answer, "
                "answered, judged_by, seconds, created, support) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.run_id, result.doc_id, result.q_index, result.llm, result.file_name, result.question,
                 json.dumps(result.answer.to_record()), int(result.answered), result.judged_by, result.seconds,
                 datetime.now(UTC).isoformat(), result.support),
            )

    def delete(self, run_id: int) -> None:
        """A run, its results and the verdicts on them."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))


def _run(row) -> Run:
    spec = RunSpec(row["question_set"], tuple(json.loads(row["questions"])), tuple(json.loads(row["doc_ids"])),
                   tuple(json.loads(row["llms"])), row["template"], row["top_k"],
                   tuple(json.loads(row["descriptions"] or "[]")))
    return Run(row["run_id"], spec, datetime.fromisoformat(row["created"]))


def _result(row) -> Result:
    return Result(row["run_id"], row["doc_id"], row["q_index"], row["llm"], row["file_name"], row["question"],
                  Answer.from_record(json.loads(row["answer"])), bool(row["answered"]), row["judged_by"],
                  row["seconds"], row["support"])


class BatchRunner:
    """Asks what a run is missing, one answer at a time, storing each as it comes."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        batches: Batches,
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

    def _answerer(self, name: str) -> tuple[Answerer, LLM | None]:
        if name not in self._answerers:
            configured = named_llms(self.settings)
            if name not in self._llms and name not in configured:
                raise ConfigurationError(
                    f"The batch asks the LLM {name!r}, which is not configured (known: {', '.join(configured)}). "
                    "Add it to extra_llms in the settings, or start a new batch without it."
                )
            llm = self._llms[name] if name in self._llms else build_llm(configured[name])
            self._llms[name] = llm
            label = describe_llm(configured[name]) if name in configured else name
            self._answerers[name] = Answerer(self.library, self.settings, llm, label, self.templates)
        return self._answerers[name], self._llms[name]

    def judge(self, answer: Answer, llm: LLM | None, name: str) -> tuple[bool, str]:
        """The yes/no step: answered from the paper, and who decided (``llm`` or ``rule``)."""
        if answer.dont_know or not answer.text.strip():
            return False, "rule"
        if llm is None:
            return answer.answered, "rule"
        prompt = ANSWERED_PROMPT.format(question=answer.question, answer=answer.text)
        verdict = parse_yes_no(complete(llm, prompt, name))
        if verdict is None:
            return not looks_like_dont_know(answer.text), "rule"
        return verdict, "llm"

    def run(
        self,
        run: Run,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Answer every missing (paper, question, LLM) of ``run``; stops early when
        ``should_stop()`` is true (what is stored stays). An LLM that fails stops the run
        with its error; nothing half-done is stored, so resuming asks it again."""
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
        if on_progress:
            on_progress(progress)
        for doc_id in spec.doc_ids:
            record = present.get(doc_id)
            if record is None:
                continue
            for q_index, question in enumerate(spec.questions):
                for name in spec.llms:
                    if (doc_id, q_index, name) in done:
                        continue
                    if should_stop():
                        progress.stopped = True
                        return progress
                    progress.current = f"{record.file_name} · Q{q_index + 1} · {name}"
                    started = time.perf_counter()
                    answerer, llm = self._answerer(name)
                    answer = answerer.ask(question, [doc_id], spec.top_k, spec.template, guide=spec.guide(q_index))
                    answered, judged_by = self.judge(answer, llm, name)
                    seconds = time.perf_counter() - started
                    support = answer.support if judged_by == "rule" else ("answered" if answered else "not found")
                    self.batches.store(Result(run.run_id, doc_id, q_index, name, record.file_name, question,
                                              answer, answered, judged_by, seconds, support))
                    progress.done += 1
                    progress.new += 1
                    progress.seconds += seconds
                    if on_progress:
                        on_progress(progress)
        return progress


@dataclass
class JobState:
    """A background run as its page sees it: a copy, safe to read while the run goes on."""

    running: bool
    progress: Progress | None
    error: str = ""


class BackgroundRuns:
    """Batch runs on threads of this process, at most one per run, so a run goes on while
    its page is closed. A run that was going when the process ended is simply incomplete:
    starting it again resumes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple[threading.Thread, threading.Event, JobState]] = {}

    def start(self, run: Run, runner: BatchRunner) -> bool:
        """Start ``run`` unless it is already going; True when started."""
        with self._lock:
            job = self._jobs.get(run.run_id)
            if job and job[0].is_alive():
                return False
            stop = threading.Event()
            state = JobState(running=True, progress=None)
            thread = threading.Thread(target=self._work, args=(run, runner, stop, state),
                                      name=f"batch-{run.run_id}", daemon=True)
            self._jobs[run.run_id] = (thread, stop, state)
            thread.start()
            return True

    def _work(self, run: Run, runner: BatchRunner, stop: threading.Event, state: JobState) -> None:
        def seen(p: Progress) -> None:
            with self._lock:
                state.progress = replace(p, skipped_docs=list(p.skipped_docs))

        try:
            seen(runner.run(run, should_stop=stop.is_set, on_progress=seen))
        except AssistantError as exc:
            state.error = str(exc)
        except Exception as exc:  # a thread's error would otherwise vanish; show it on the page
            log.exception("batch run %s failed", run.run_id)
            state.error = f"The batch stopped on an unexpected error: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                state.running = False

    def cancel(self, run_id: int) -> None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job:
            job[1].set()

    def state(self, run_id: int) -> JobState | None:
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                return None
            s = job[2]
            return JobState(s.running, s.progress and replace(s.progress), s.error)

    def wait(self, run_id: int, timeout: float | None = None) -> None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job:
            job[0].join(timeout)
