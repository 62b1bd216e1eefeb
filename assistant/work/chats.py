"""The Ask page's conversations, kept like batch answers in the work database: a reload,
a restart or a new day finds a chat again, each answer with its passages and boxes and
the papers it was asked of, so no question silently goes to other papers than the reader
chose. A chat belongs to whoever asked it (the signed-in person; everyone without
sign-in) and can be exported (see export.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..database import Database
from ..errors import AssistantError
from ..types import Answer
from .records import answer_from_record, answer_record


# Kept in what made a question answered paper by paper: how many papers it was asked of (all
# the library's, for a whole-library question); those beyond its answers were not asked.
PAPERS_IN_SCOPE = "papers in scope"


@dataclass(frozen=True)
class Asked:
    """One answer of a chat: ``doc_ids`` are the papers it was asked of (empty: all the
    papers of the library at the time)."""

    n: int
    answer: Answer
    doc_ids: tuple[str, ...]
    asked: datetime
    made_with: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Of a question answered paper by paper: the n of its first answer, and this answer's paper.
    part_of: int | None = None
    paper: str = ""


def rounds(asked: Sequence[Asked]) -> list[list[Asked]]:
    """A chat's answers by question: one answer, or the answers of one question asked paper
    by paper, in the order asked."""
    out: list[list[Asked]] = []
    for a in asked:
        if a.part_of is not None and out and out[-1][0].part_of == a.part_of:
            out[-1].append(a)
        else:
            out.append([a])
    return out


@dataclass(frozen=True)
class Chat:
    chat_id: int
    owner: str
    created: datetime
    first_question: str = ""
    answers: int = 0

    @property
    def label(self) -> str:
        topic = self.first_question if len(self.first_question) <= 60 else self.first_question[:57] + "..."
        return f"{self.created:%Y-%m-%d %H:%M} · {topic or 'no question yet'} · {self.answers} question(s)"


class Chats:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, owner: str) -> Chat:
        with self.db.transaction() as db:
            cur = db.execute("INSERT INTO chats (owner, created) VALUES (?, ?)", (owner, datetime.now(UTC).isoformat()))
            chat_id = cur.lastrowid
        return self.get(chat_id, owner)

    def _chats(self, where: str, args: Sequence) -> list[Chat]:
        with self.db.transaction() as db:
            rows = db.execute(
                "SELECT c.chat_id, c.owner, c.created, COUNT(DISTINCT COALESCE(a.part_of, a.n)) AS answers, "
                "(SELECT json_extract(f.answer, '$.question') FROM chat_answers f WHERE f.chat_id = c.chat_id "
                "ORDER BY f.n LIMIT 1) AS first_question "
                f"FROM chats c LEFT JOIN chat_answers a ON a.chat_id = c.chat_id WHERE {where} "
                "GROUP BY c.chat_id ORDER BY c.chat_id DESC", args).fetchall()
        return [Chat(r["chat_id"], r["owner"], datetime.fromisoformat(r["created"]), r["first_question"] or "",
                     r["answers"]) for r in rows]

    def of(self, owner: str) -> list[Chat]:
        """The owner's chats, newest first."""
        return self._chats("c.owner = ?", (owner,))

    def latest(self, owner: str) -> Chat | None:
        chats = self.of(owner)
        return chats[0] if chats else None

    def get(self, chat_id: int, owner: str) -> Chat:
        """The chat, if it is the owner's: another person's chat is not found, as a chat
        that does not exist."""
        found = self._chats("c.chat_id = ? AND c.owner = ?", (chat_id, owner))
        if not found:
            raise AssistantError(f"There is no chat #{chat_id} of yours; it may have been deleted.")
        return found[0]

    def add(self, chat_id: int, answer: Answer, doc_ids: Sequence[str], made_with: dict[str, str]) -> Asked:
        return self._insert(chat_id, [("", answer)], doc_ids, made_with, by_paper=False)[0]

    def add_by_paper(self, chat_id: int, answers: Sequence[tuple[str, Answer]], doc_ids: Sequence[str],
                     made_with: dict[str, str]) -> list[Asked]:
        """One question's answers, one per paper ``(doc_id, answer)``, best first, kept together."""
        return self._insert(chat_id, answers, doc_ids, made_with, by_paper=True)

    def _insert(self, chat_id: int, answers: Sequence[tuple[str, Answer]], doc_ids: Sequence[str],
                made_with: dict[str, str], by_paper: bool) -> list[Asked]:
        asked = datetime.now(UTC)
        out = []
        with self.db.transaction() as db:
            first = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM chat_answers WHERE chat_id = ?",
                               (chat_id,)).fetchone()[0]
            part_of = first if by_paper else None
            for n, (paper, answer) in enumerate(answers, start=first):
                db.execute("INSERT INTO chat_answers (chat_id, n, asked, doc_ids, made_with, answer, part_of, paper) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (chat_id, n, asked.isoformat(), json.dumps(list(doc_ids)), json.dumps(made_with),
                            json.dumps(answer_record(answer)), part_of, paper))
                out.append(Asked(n, answer, tuple(doc_ids), asked, dict(made_with), part_of, paper))
        return out

    def answers(self, chat_id: int) -> list[Asked]:
        """In the order asked."""
        with self.db.transaction() as db:
            rows = db.execute("SELECT * FROM chat_answers WHERE chat_id = ? ORDER BY n", (chat_id,)).fetchall()
        return [Asked(r["n"], answer_from_record(json.loads(r["answer"])), tuple(json.loads(r["doc_ids"])),
                      datetime.fromisoformat(r["asked"]), json.loads(r["made_with"]), r["part_of"], r["paper"])
                for r in rows]

    def delete(self, chat_id: int, owner: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM chats WHERE chat_id = ? AND owner = ?", (chat_id, owner))
