"""Question sets: the 28 competency questions ship with the package; users keep their own
(pasted, or read from a .txt or .csv file) in the work database."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from .database import Database
from .errors import AssistantError

BUILTIN = "cq28"
MAX_QUESTIONS = 500


class QuestionSetError(AssistantError):
    pass


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: tuple[str, ...]
    builtin: bool = False


def read_question_lines(text: str) -> list[str]:
    """Questions from text: one a line, blank lines and ``#`` comments skipped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def read_question_csv(text: str) -> list[str]:
    """Questions from CSV: the column headed ``question`` (any case), else the first column.
    A first row that is a header (it names a ``question`` column) is not a question."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header = [c.strip().casefold() for c in rows[0]]
    if "question" in header:
        col = header.index("question")
        rows = rows[1:]
    else:
        col = 0
    return [r[col].strip() for r in rows if len(r) > col and r[col].strip()]


def parse_questions(text: str, file_name: str = "") -> list[str]:
    """Questions from a pasted text or an uploaded file (.csv read as CSV, anything else as lines)."""
    questions = read_question_csv(text) if file_name.lower().endswith(".csv") else read_question_lines(text)
    seen: set[str] = set()
    unique = [q for q in questions if not (q in seen or seen.add(q))]
    where = f" in {file_name}" if file_name else ""
    if not unique:
        raise QuestionSetError(f"No questions found{where}: give one question a line (or a CSV column 'question').")
    if len(unique) > MAX_QUESTIONS:
        raise QuestionSetError(f"{len(unique)} questions{where}; a set holds at most {MAX_QUESTIONS}. Split it.")
    return unique


def competency_questions() -> list[str]:
    text = resources.files("assistant").joinpath("data/competency_questions.txt").read_text(encoding="utf-8")
    return read_question_lines(text)


class QuestionSets:
    """The built-in set and the user's own, by name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def names(self) -> list[str]:
        with self.db.transaction() as db:
            rows = db.execute("SELECT name FROM question_sets ORDER BY name COLLATE NOCASE").fetchall()
        return [BUILTIN] + [r["name"] for r in rows]

    def get(self, name: str) -> QuestionSet:
        if name == BUILTIN:
            return QuestionSet(BUILTIN, tuple(competency_questions()), builtin=True)
        with self.db.transaction() as db:
            row = db.execute("SELECT questions FROM question_sets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise QuestionSetError(f"There is no question set named {name!r}; the sets are: {', '.join(self.names())}.")
        return QuestionSet(name, tuple(json.loads(row["questions"])))

    def save(self, name: str, questions: list[str]) -> QuestionSet:
        name = name.strip()
        if not name:
            raise QuestionSetError("Give the question set a name.")
        if name == BUILTIN:
            raise QuestionSetError(f"{BUILTIN!r} is the built-in set of competency questions; choose another name.")
        questions = parse_questions("\n".join(questions))
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO question_sets VALUES (?, ?, ?)",
                (name, json.dumps(questions), datetime.now(UTC).isoformat()),
            )
        return QuestionSet(name, tuple(questions))

    def delete(self, name: str) -> None:
        if name == BUILTIN:
            raise QuestionSetError("The built-in competency questions cannot be deleted.")
        with self.db.transaction() as db:
            db.execute("DELETE FROM question_sets WHERE name = ?", (name,))
