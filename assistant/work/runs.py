"""Question sets asked of many papers, by one or several LLMs, stored as they come.

A run is papers x questions x LLMs. Each answer is written to the work database the
moment it exists, so a run that is cancelled, crashes or outlives the app is resumed by
asking only what is missing; asking the same papers the same questions with the same
settings again finds the same run (see :meth:`RunSpec.key`) and does no new work.

Each answer also carries the seed pipeline's yes/no step (see :mod:`assistant.answering.judge`):
answered from the paper, or not. This module holds what a run is and its SQL store;
:mod:`assistant.work.runner` asks the answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..answering.llms import named_llms
from ..config import Settings, describe_llm
from ..database import Database
from ..errors import AssistantError
from ..text.guides import guide_for
from ..types import Answer, Guide
from .provenance import describe, recorded
from .records import answer_from_record, answer_record


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
        """What question ``q_index`` asks for (see :func:`assistant.work.questions.guide_for`)."""
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
    # What made it, label by label (see provenance.py); recorded when the run was created.
    made_with: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

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
    judged_by: str  # "local", "llm" or "rule" (an offline answer's own flag, or one stored before the judge)
    seconds: float
    support: str = ""  # "answered", "weak" or "not found" ("" for results stored before it was kept)
    confidence: float | None = None  # the local judge's, in its own verdict
    local_answered: bool | None = None  # each judge's word, where it was asked (see assistant.answering.judge)
    llm_answered: bool | None = None

    @property
    def disagree(self) -> bool:
        """The local judge and the LLM were both asked and differ: a reviewer's first stop."""
        return _differ(self.local_answered, self.llm_answered)

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
    disagree: bool = False

    @property
    def weak(self) -> bool:
        return self.support == "weak"

    @property
    def cell(self) -> Cell:
        return Cell(self.doc_id, self.q_index)


def _differ(a: bool | None, b: bool | None) -> bool:
    return a is not None and b is not None and a != b


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


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
                    "descriptions, made_with) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, spec.question_set, json.dumps(list(spec.questions)), json.dumps(list(spec.doc_ids)),
                     json.dumps(list(spec.llms)), spec.template, spec.top_k, datetime.now(UTC).isoformat(),
                     json.dumps(list(spec.descriptions)),
                     json.dumps(describe(settings, spec.llms, spec.template, spec.top_k))),
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
                "SELECT doc_id, q_index, llm, file_name, answered, support, local_answered, llm_answered "
                "FROM results WHERE run_id = ?", (run_id,)
            ).fetchall()
        return [Flag(r["doc_id"], r["q_index"], r["llm"], r["file_name"], bool(r["answered"]), r["support"],
                     _differ(_flag(r["local_answered"]), _flag(r["llm_answered"])))
                for r in rows]

    def store(self, result: Result) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO results (run_id, doc_id, q_index, llm, file_name, question, answer, "
                "answered, judged_by, seconds, created, support, confidence, local_answered, llm_answered) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.run_id, result.doc_id, result.q_index, result.llm, result.file_name, result.question,
                 json.dumps(answer_record(result.answer)), int(result.answered), result.judged_by, result.seconds,
                 datetime.now(UTC).isoformat(), result.support, result.confidence,
                 None if result.local_answered is None else int(result.local_answered),
                 None if result.llm_answered is None else int(result.llm_answered)),
            )

    def delete(self, run_id: int) -> None:
        """A run, its results and the verdicts on them."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))


def _run(row) -> Run:
    spec = RunSpec(row["question_set"], tuple(json.loads(row["questions"])), tuple(json.loads(row["doc_ids"])),
                   tuple(json.loads(row["llms"])), row["template"], row["top_k"],
                   tuple(json.loads(row["descriptions"] or "[]")))
    return Run(row["run_id"], spec, datetime.fromisoformat(row["created"]),
               recorded(spec.llms, spec.template, spec.top_k, row["made_with"]))


def _result(row) -> Result:
    return Result(row["run_id"], row["doc_id"], row["q_index"], row["llm"], row["file_name"], row["question"],
                  answer_from_record(json.loads(row["answer"])), bool(row["answered"]), row["judged_by"],
                  row["seconds"], row["support"], row["confidence"], _flag(row["local_answered"]),
                  _flag(row["llm_answered"]))
