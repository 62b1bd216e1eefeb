"""Reviewers' verdicts on batch answers and their evidence, and how far reviewers agree.

A verdict belongs to one reviewer (by name) and one answer (run, paper, question, LLM);
reviewers never overwrite each other. Agreement between two reviewers is Cohen's kappa
over the answers both judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..agreement import cohen_kappa
from ..database import Database
from ..errors import AssistantError

if TYPE_CHECKING:
    from .runs import Result

VERDICTS = ("correct", "partly", "wrong", "not_in_paper")
VERDICT_LABELS = {"correct": "correct", "partly": "partly correct", "wrong": "wrong", "not_in_paper": "not in paper"}
MAX_NAME = 80


class ReviewError(AssistantError):
    pass


def reviewer_name(name: str) -> str:
    """A reviewer's name as stored: trimmed, single-spaced, not empty, not too long."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ReviewError("Enter your name first: verdicts are kept per reviewer.")
    if len(cleaned) > MAX_NAME:
        raise ReviewError(f"A reviewer name is at most {MAX_NAME} characters.")
    return cleaned


@dataclass(frozen=True)
class AnswerKey:
    """Which answer: run, paper, question (0-based index) and LLM."""

    run_id: int
    doc_id: str
    q_index: int
    llm: str


@dataclass(frozen=True)
class Verdict:
    key: AnswerKey
    reviewer: str
    verdict: str
    note: str
    updated: datetime


@dataclass(frozen=True)
class PassageVerdict:
    key: AnswerKey
    passage: int
    reviewer: str
    supports: bool
    note: str
    updated: datetime


@dataclass(frozen=True)
class Agreement:
    """Two reviewers over the answers both judged: how many, the share with the same
    verdict, and Cohen's kappa (None when it is undefined: fewer than two items, or
    one verdict used throughout by both)."""

    a: str
    b: str
    items: int
    observed: float
    kappa: float | None


def _key(row) -> AnswerKey:
    return AnswerKey(row["run_id"], row["doc_id"], row["q_index"], row["llm"])


class Reviews:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_verdict(self, key: AnswerKey, reviewer: str, verdict: str, note: str = "") -> None:
        if verdict not in VERDICTS:
            raise ReviewError(f"Unknown verdict {verdict!r}: use one of {', '.join(VERDICTS)}.")
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO answer_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key.run_id, key.doc_id, key.q_index, key.llm, reviewer_name(reviewer), verdict, note.strip(),
                 datetime.now(UTC).isoformat()),
            )

    def clear_verdict(self, key: AnswerKey, reviewer: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "DELETE FROM answer_verdicts WHERE run_id = ? AND doc_id = ? AND q_index = ? AND llm = ? "
                "AND reviewer = ?",
                (key.run_id, key.doc_id, key.q_index, key.llm, reviewer_name(reviewer)),
            )

    def set_passage(self, key: AnswerKey, passage: int, reviewer: str, supports: bool, note: str = "") -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO passage_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key.run_id, key.doc_id, key.q_index, key.llm, passage, reviewer_name(reviewer), int(supports),
                 note.strip(), datetime.now(UTC).isoformat()),
            )

    def _select(self, table: str, run_id: int, reviewer: str | None, order: str) -> list:
        """A run's rows of ``table`` (both verdict tables have these columns), one reviewer's or all."""
        where, args = "run_id = ?", [run_id]
        if reviewer is not None:
            where, args = where + " AND reviewer = ?", [run_id, reviewer_name(reviewer)]
        with self.db.transaction() as db:
            return db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}", args).fetchall()

    def verdicts(self, run_id: int, reviewer: str | None = None) -> list[Verdict]:
        rows = self._select("answer_verdicts", run_id, reviewer, "doc_id, q_index, llm, reviewer")
        return [Verdict(_key(r), r["reviewer"], r["verdict"], r["note"], datetime.fromisoformat(r["updated"]))
                for r in rows]

    def passage_verdicts(self, run_id: int, reviewer: str | None = None) -> list[PassageVerdict]:
        rows = self._select("passage_verdicts", run_id, reviewer, "doc_id, q_index, llm, passage, reviewer")
        return [PassageVerdict(_key(r), r["passage"], r["reviewer"], bool(r["supports"]), r["note"],
                               datetime.fromisoformat(r["updated"])) for r in rows]

    def reviewers(self, run_id: int) -> list[str]:
        with self.db.transaction() as db:
            rows = db.execute(
                "SELECT DISTINCT reviewer FROM answer_verdicts WHERE run_id = ? "
                "UNION SELECT DISTINCT reviewer FROM passage_verdicts WHERE run_id = ? ORDER BY 1",
                (run_id, run_id),
            ).fetchall()
        return [r[0] for r in rows]

    def reviewed_count(self, run_id: int, reviewer: str) -> int:
        """Answers of the run this reviewer has given a verdict."""
        with self.db.transaction() as db:
            return db.execute(
                "SELECT COUNT(*) FROM answer_verdicts WHERE run_id = ? AND reviewer = ?",
                (run_id, reviewer_name(reviewer)),
            ).fetchone()[0]

    def agreement(self, run_id: int, a: str, b: str) -> Agreement:
        mine = {v.key: v.verdict for v in self.verdicts(run_id, a)}
        theirs = {v.key: v.verdict for v in self.verdicts(run_id, b)}
        both = sorted(set(mine) & set(theirs), key=lambda k: (k.doc_id, k.q_index, k.llm))
        la, lb = [mine[k] for k in both], [theirs[k] for k in both]
        observed = sum(x == y for x, y in zip(la, lb)) / len(both) if both else 0.0
        return Agreement(reviewer_name(a), reviewer_name(b), len(both), observed, cohen_kappa(la, lb))

    def agreements(self, run_id: int) -> list[Agreement]:
        """Every pair of reviewers of the run that judged at least one answer in common."""
        names = self.reviewers(run_id)
        pairs = [self.agreement(run_id, a, b) for i, a in enumerate(names) for b in names[i + 1:]]
        return [p for p in pairs if p.items]


# --- the answered judges against reviewers ----------------------------------------------

# A verdict read as the seed's yes/no ("gives specific information from the paper"): a
# correct or partly correct answer did; a wrong one, or one the paper does not support, did not.
ANSWERED_VERDICTS = frozenset({"correct", "partly"})


@dataclass(frozen=True)
class JudgeAgreement:
    """For one question: of the verdicts on its answers, how many the local judge's
    answered flag matched, and the LLM's where it was asked too (ASSISTANT_BATCH__JUDGE=both)."""

    q_index: int
    question: str
    judged: int
    local_agreed: int
    llm_judged: int = 0
    llm_agreed: int = 0

    @property
    def local_rate(self) -> float | None:
        return self.local_agreed / self.judged if self.judged else None

    @property
    def llm_rate(self) -> float | None:
        return self.llm_agreed / self.llm_judged if self.llm_judged else None


def judge_agreement(results: Sequence[Result], verdicts: Sequence[Verdict]) -> list[JudgeAgreement]:
    """Per question, in question order: each reviewer's verdict on an answer the local
    judge flagged counts once (an answer two reviewers judged counts twice)."""
    by_key = {AnswerKey(r.run_id, r.doc_id, r.q_index, r.llm): r for r in results}
    counts: dict[int, list[int]] = {}
    questions: dict[int, str] = {}
    for v in verdicts:
        r = by_key.get(v.key)
        local = None if r is None else r.local_answered if r.local_answered is not None else (
            r.answered if r.judged_by == "local" else None)
        if r is None or local is None:
            continue
        said = v.verdict in ANSWERED_VERDICTS
        c = counts.setdefault(r.q_index, [0, 0, 0, 0])
        questions[r.q_index] = r.question
        c[0] += 1
        c[1] += local == said
        if r.llm_answered is not None:
            c[2] += 1
            c[3] += r.llm_answered == said
    return [JudgeAgreement(q, questions[q], *counts[q]) for q in sorted(counts)]


def contested(results: Sequence[Result]) -> set[AnswerKey]:
    """Answers a reviewer should look at first: the LLMs' answers to the same paper and
    question differ on answered / not answered, the local judge and the LLM differ, or
    the answer is a close call (weak)."""
    by_cell: dict[tuple[str, int], set[bool]] = {}
    for r in results:
        by_cell.setdefault((r.doc_id, r.q_index), set()).add(r.answered)
    return {AnswerKey(r.run_id, r.doc_id, r.q_index, r.llm) for r in results
            if len(by_cell[(r.doc_id, r.q_index)]) > 1 or r.disagree or r.weak}


def review_order(results: Sequence[Result], judged: set[AnswerKey]) -> list[int]:
    """Positions of ``results`` in the order a reviewer works through them: what they have
    not judged yet before what they have; within each, the contested answers (see
    :func:`contested`) first; otherwise the run's own order (paper, question, LLM)."""
    first = contested(results)
    keys = [AnswerKey(r.run_id, r.doc_id, r.q_index, r.llm) for r in results]
    return sorted(range(len(results)), key=lambda i: (keys[i] in judged, keys[i] not in first, i))
