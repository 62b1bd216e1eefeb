"""Question sets: the 28 competency questions ship with the package; users keep their own
(pasted, or read from a .txt or .csv file) in the work database.

A question may carry a description of the answer it seeks (a CSV's ``description``
column), as the columns of systematic-review tools carry instructions; the built-in ones
ship with theirs, written from each question, with the kinds of fact that answer it
(:mod:`assistant.text.facts`). :func:`assistant.text.guides.guide_for` gives any question its
:class:`Guide`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ..database import Database
from ..errors import AssistantError
from ..text.guides import competency_questions, guide_for, read_question_lines

BUILTIN = "cq28"
MAX_QUESTIONS = 500


class QuestionSetError(AssistantError):
    pass


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: tuple[str, ...]
    builtin: bool = False
    descriptions: tuple[str, ...] = ()  # one per question ("" = none), or empty

    def description(self, index: int) -> str:
        return self.descriptions[index] if index < len(self.descriptions) else ""

    @property
    def run_descriptions(self) -> tuple[str, ...]:
        """What a batch run of this set records of its descriptions: the built-in set's
        ship with the package (see :func:`guide_for`), a user's set's are its own."""
        return () if self.builtin or not any(self.descriptions) else self.descriptions

    def pair(self, questions: list[str], lines: list[str]) -> list[tuple[str, str]]:
        """Edited questions with their descriptions. While the descriptions are left as they
        came, each follows its own question (a new or reworded one has none): replacing the
        questions of a set must not leave its old descriptions on the new questions' lines.
        Descriptions typed anew go to the questions in their order."""
        if tuple(lines) == tuple(self.descriptions):
            mine = dict(zip(self.questions, self.descriptions, strict=False))
            return [(q, mine.get(q.strip(), "")) for q in questions]
        return [(q, lines[i] if i < len(lines) else "") for i, q in enumerate(questions)]

    @classmethod
    def from_pairs(cls, name: str, pairs: list[tuple[str, str]]) -> QuestionSet:
        descriptions = tuple(d for _, d in pairs) if any(d for _, d in pairs) else ()
        return cls(name, tuple(q for q, _ in pairs), descriptions=descriptions)


def read_question_csv(text: str) -> list[tuple[str, str]]:
    """(question, description) pairs from CSV: the column headed ``question`` (any case),
    else the first column, and the column headed ``description`` (or ``instructions``) when
    there is one. A first row that is a header (it names a ``question`` column) is not a question."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header = [c.strip().casefold() for c in rows[0]]
    col, described = 0, None
    if "question" in header:
        col = header.index("question")
        described = next((header.index(h) for h in ("description", "instructions") if h in header), None)
        rows = rows[1:]

    def cell(r: list[str], i: int | None) -> str:
        return r[i].strip() if i is not None and len(r) > i else ""

    return [(cell(r, col), cell(r, described)) for r in rows if cell(r, col)]


def parse_described(text: str, file_name: str = "") -> list[tuple[str, str]]:
    """(question, description) pairs from a pasted text or an uploaded file (.csv read as
    CSV, anything else one question a line, without descriptions); a question given twice
    is kept once."""
    if file_name.lower().endswith(".csv"):
        pairs = read_question_csv(text)
    else:
        pairs = [(q, "") for q in read_question_lines(text)]
    seen: set[str] = set()
    unique = [(q, d) for q, d in pairs if not (q in seen or seen.add(q))]
    where = f" in {file_name}" if file_name else ""
    if not unique:
        raise QuestionSetError(f"No questions found{where}: give one question a line (or a CSV column 'question').")
    if len(unique) > MAX_QUESTIONS:
        raise QuestionSetError(f"{len(unique)} questions{where}; a set holds at most {MAX_QUESTIONS}. Split it.")
    return unique


def read_question_file(data: bytes, file_name: str) -> list[tuple[str, str]]:
    """(question, description) pairs from a file's bytes (.txt: one a line; .csv: a
    ``question`` column and an optional ``description`` column), or an error naming it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionSetError(f"{file_name} is not UTF-8 text. Save it as UTF-8 and try again.") from exc
    return parse_described(text, file_name)


def parse_questions(text: str, file_name: str = "") -> list[str]:
    """Questions from a pasted text or an uploaded file (.csv read as CSV, anything else as lines)."""
    return [q for q, _ in parse_described(text, file_name)]


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
            questions = tuple(competency_questions())
            return QuestionSet(BUILTIN, questions, builtin=True,
                               descriptions=tuple(guide_for(q).description for q in questions))
        with self.db.transaction() as db:
            row = db.execute("SELECT questions, descriptions FROM question_sets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise QuestionSetError(f"There is no question set named {name!r}; the sets are: {', '.join(self.names())}.")
        return QuestionSet(name, tuple(json.loads(row["questions"])),
                           descriptions=tuple(json.loads(row["descriptions"])))

    def save(self, name: str, questions: list[str], descriptions: list[str] | None = None) -> QuestionSet:
        """Keep a set under ``name``; ``descriptions`` pairs with ``questions`` (missing = none)."""
        name = name.strip()
        if not name:
            raise QuestionSetError("Give the question set a name.")
        if name == BUILTIN:
            raise QuestionSetError(f"{BUILTIN!r} is the built-in set of competency questions; choose another name.")
        given = list(descriptions or [])
        pairs = [(q.strip(), (given[i] if i < len(given) else "").strip()) for i, q in enumerate(questions)]
        seen: set[str] = set()
        pairs = [(q, d) for q, d in pairs if q and not q.lstrip().startswith("#") and not (q in seen or seen.add(q))]
        if not pairs:
            raise QuestionSetError("No questions found: give one question a line (or a CSV column 'question').")
        if len(pairs) > MAX_QUESTIONS:
            raise QuestionSetError(f"{len(pairs)} questions; a set holds at most {MAX_QUESTIONS}. Split it.")
        texts = [q for q, _ in pairs]
        notes = [d for _, d in pairs] if any(d for _, d in pairs) else []
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO question_sets (name, questions, updated, descriptions) VALUES (?, ?, ?, ?)",
                (name, json.dumps(texts), datetime.now(UTC).isoformat(), json.dumps(notes)),
            )
        return QuestionSet(name, tuple(texts), descriptions=tuple(notes))

    def delete(self, name: str) -> None:
        if name == BUILTIN:
            raise QuestionSetError("The built-in competency questions cannot be deleted.")
        with self.db.transaction() as db:
            db.execute("DELETE FROM question_sets WHERE name = ?", (name,))
