"""Where runs and their results are kept: the ``runs`` and ``results`` tables of the work
database. Each answer is written the moment it exists (see :mod:`assistant.work.runner`),
as a versioned record (:mod:`assistant.work.records`); what a run is lives in
:mod:`assistant.work.runs`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..config import Settings
from ..database import Database
from ..errors import AssistantError
from .provenance import describe, recorded
from .records import answer_from_record, answer_record
from .runs import Cell, Flag, Result, Run, RunSpec, differ


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class RunStore:
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
                     differ(_flag(r["local_answered"]), _flag(r["llm_answered"])))
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
