"""Question sets asked of many papers, by one or several LLMs, stored as they come.

A run is papers x questions x LLMs. Each answer is written to the work database the
moment it exists, so a run that is cancelled, crashes or outlives the app is resumed by
asking only what is missing; asking the same papers the same questions with the same
settings again finds the same run (see :meth:`RunSpec.key`) and does no new work.

Each answer also carries the seed pipeline's yes/no step (see :mod:`assistant.answering.judge`):
answered from the paper, or not. This module holds what a run is;
:mod:`assistant.work.run_store` keeps runs and results, :mod:`assistant.work.runner` asks the answers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..answering.llms import named_llms
from ..config import Settings, describe_llm
from ..text.guides import guide_for
from ..types import Answer, Guide


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
        """What question ``q_index`` asks for (see :func:`assistant.text.guides.guide_for`)."""
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


def question_label(q_index: int) -> str:
    """How a run's tables, charts and exports name question ``q_index``: Q1, Q2, ..."""
    return f"Q{q_index + 1}"


def question_index(label: str) -> int:
    """The question a label of :func:`question_label` names."""
    m = re.fullmatch(r"Q([1-9]\d*)", label)
    if m is None:
        raise ValueError(f"{label!r} names no question of a run (Q1, Q2, ...)")
    return int(m.group(1)) - 1


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
        return differ(self.local_answered, self.llm_answered)

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


def differ(a: bool | None, b: bool | None) -> bool:
    """Two judges' words on one answer, both given and not the same."""
    return a is not None and b is not None and a != b


@dataclass(frozen=True)
class Vote:
    """The LLMs' majority on answered / not answered for one cell; ``weak`` counts the
    answers among the no's that were a close call."""

    yes: int
    no: int
    weak: int = 0

    @property
    def answered(self) -> bool | None:
        """True or False by majority, None on a tie (or no answers)."""
        return None if self.yes == self.no else self.yes > self.no

    @property
    def label(self) -> str:
        """``answered``, ``not answered``, ``weak`` (not answered, but at least one of its
        answers was a close call: the reviewer should look) or ``tie``."""
        if self.answered is False and self.weak:
            return WEAK_CELL
        return {True: "answered", False: "not answered", None: "tie"}[self.answered]

    @property
    def agreement(self) -> float:
        """Share of the LLMs on the majority side (1.0: all agree)."""
        n = self.yes + self.no
        return max(self.yes, self.no) / n if n else 0.0


def vote(results: Sequence[Result | Flag]) -> Vote:
    yes = sum(1 for r in results if r.answered)
    return Vote(yes, len(results) - yes, sum(1 for r in results if not r.answered and r.weak))


WEAK_CELL = "weak"
# What a cell of a run's papers x questions grid can be, in the order a legend lists them.
CELL_STATES = ("answered", WEAK_CELL, "not answered", "tie", "pending")


