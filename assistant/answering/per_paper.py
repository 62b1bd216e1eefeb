"""A question of several papers, answered paper by paper, as a row of a batch is.

Asked of four papers at once, one retrieval over all of them let passages of some papers
crowd out the others, and one answer with one badge hid which paper said what. Here each
paper gets its own retrieval (k passages of its own), its own answer and its own mark
(answered, weak, not found in that paper); with an LLM, one request per paper, several in
flight up to the LLM's ``max_parallel``. A question of the whole library is put to the
papers whose passages match it best (``answer.papers_asked`` of them); the others are
counted, not asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import LLMSettings
from ..retrieval.retriever import named_in, retrieve
from ..text.guides import guide_for
from ..types import Answer, Guide
from .answerer import Answerer
from .marks import ANSWERED, WEAK

# How many passages of the whole library are read to rank its papers, per paper asked.
RANKING_PASSAGES_PER_PAPER = 4
_ORDER = {ANSWERED: 0, WEAK: 1}


@dataclass(frozen=True)
class PaperAnswer:
    doc_id: str
    answer: Answer


@dataclass(frozen=True)
class PerPaper:
    """The answers of one question, one per paper asked, best first; ``in_scope``: the
    papers the question was asked of (all the library's for a whole-library question),
    of which those not in ``answers`` were not asked."""

    question: str
    answers: list[PaperAnswer]
    in_scope: int

    @property
    def answered(self) -> list[PaperAnswer]:
        return [a for a in self.answers if a.answer.support == ANSWERED]

    @property
    def not_asked(self) -> int:
        return self.in_scope - len(self.answers)


def requests_in_flight(llm: LLMSettings) -> int:
    """Papers asked at once: the server's ``max_parallel``; one for a GGUF model run in this
    process (one model, one request at a time)."""
    return 1 if llm.provider == "llamacpp" else llm.max_parallel


def papers_to_ask(answerer: Answerer, question: str, doc_ids: Sequence[str] | None, most: int,
                  guide: Guide) -> tuple[list[str], int]:
    """The papers to put the question to, and how many the scope holds: those of the scope
    the question names ("Which optimizer trained U-Net?"), else the chosen ones all; of the
    whole library, all when it holds ``most`` or fewer, else the ``most`` whose passages
    match the question best."""
    records = [r for r in answerer.library.documents() if not doc_ids or r.doc_id in doc_ids]
    named = named_in(question, records)
    if named:
        return named, len(records)
    if doc_ids:
        chosen = list(dict.fromkeys(doc_ids))
        return chosen, len(chosen)
    everyone = [r.doc_id for r in records]
    if len(everyone) <= most:
        return everyone, len(everyone)
    passages = retrieve(answerer.library, question, None, most * RANKING_PASSAGES_PER_PAPER, guide)
    ranked = list(dict.fromkeys(p.doc_id for p in passages))[:most]
    return ranked, len(everyone)


def rank(answers: Sequence[PaperAnswer]) -> list[PaperAnswer]:
    """Answered first, then weak, then not found; within each, the paper whose best passage
    matched the question best first."""
    def key(a: PaperAnswer) -> tuple[int, float]:
        best = max((p.score for p in a.answer.passages), default=0.0)
        return _ORDER.get(a.answer.support, 2), -best

    return sorted(answers, key=key)


def ask_per_paper(
    answerer: Answerer,
    question: str,
    doc_ids: Sequence[str] | None,
    most: int,
    k: int | None = None,
    template: str | None = None,
    parallel: int = 1,
    on_answer: Callable[[int, int], None] | None = None,
) -> PerPaper:
    """``question`` of each paper of ``doc_ids`` (None: the whole library's best ``most``),
    each on its own; ``parallel`` papers at once (an LLM server's requests in flight; one
    for offline answers, which are CPU work). ``on_answer(done, total)`` follows."""
    guide = guide_for(question)
    papers, in_scope = papers_to_ask(answerer, question, doc_ids, most, guide)
    done = 0

    def one(doc_id: str) -> PaperAnswer:
        return PaperAnswer(doc_id, answerer.ask(question, [doc_id], k, template, guide=guide))

    answers: list[PaperAnswer] = []
    workers = max(1, min(parallel, len(papers))) if answerer.llm is not None else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="per-paper") as pool:
        for found in pool.map(one, papers):
            answers.append(found)
            done += 1
            if on_answer:
                on_answer(done, len(papers))
    return PerPaper(question, rank(answers), in_scope)
