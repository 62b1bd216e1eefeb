"""Question + passages (+ LLM) -> an :class:`Answer` with its supporting sentences boxed.

With an LLM the answer is written from a named prompt template and read back from the
template's ``Answer:::`` markers; citations that point at no passage are dropped and
reported. Without one the answer is extractive: the passages' sentences most relevant
to the question, each cited, or "I don't know" when none is relevant enough.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
from llama_index.core.llms import LLM

from .config import Settings
from .evidence import (
    Sentence,
    choose_per_passage,
    choose_quotes,
    passage_sentences,
    place,
    score_for_answer,
    score_for_question,
)
from .index import Library
from .injection import looks_like_instruction
from .llms import complete
from .prompts import PromptTemplate, TemplateStore, parse_answer, resolve_citations
from .retrieval import retrieve
from .types import Answer, Passage

log = logging.getLogger(__name__)

DONT_KNOW = "I don't know: none of the retrieved passages answers this question closely enough."
NO_PASSAGES = "I don't know: there are no passages to answer from. Add papers to the library, or choose other papers."
# Extractive answers quote sentences within QUOTE_WINDOW of the best one; in the passages
# they quote, sentences within SUPPORT_WINDOW of it (and above SUPPORT_FLOOR) are marked too.
QUOTE_WINDOW = 0.25
SUPPORT_WINDOW = 0.35
SUPPORT_FLOOR = 0.33
# A paper's own reference markers ("Caffe [6]") would read as citations of passage 6.
_PAPER_REFS = re.compile(r"\s*\[\d+(?:\s*[,\u2013-]\s*\d+)*\]")
_DONT_KNOW_MARKERS = ("i don't know", "i do not know", "don't know the answer", "does not mention", "not mentioned",
                      "no information", "does not provide", "doesn't provide", "not specified", "not provided")


def looks_like_dont_know(text: str) -> bool:
    """An empty answer, or a short one that says the passages do not hold the answer."""
    low = text.lower().replace("\u2019", "'")
    if not low.strip():
        return True
    return len(low) < 400 and any(m in low for m in _DONT_KNOW_MARKERS)


class Answerer:
    def __init__(
        self,
        library: Library,
        settings: Settings,
        llm: LLM | None = None,
        llm_name: str = "none (offline extractive answers)",
        templates: TemplateStore | None = None,
    ) -> None:
        self.library = library
        self.settings = settings
        self.llm = llm
        self.llm_name = llm_name
        self.templates = templates or TemplateStore(settings.data_dir)

    def ask(
        self,
        question: str,
        doc_ids: Sequence[str] | None = None,
        k: int | None = None,
        template: str | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer one question; with an LLM, ``on_text`` sees its raw output grow as it streams."""
        started = time.perf_counter()
        prompt_template = self.templates.get(template or self.settings.answer.template)
        passages = retrieve(self.library, question, doc_ids, k or self.settings.retrieval.top_k)
        if not passages:
            answer = Answer(question, NO_PASSAGES, prompt_template.name, self.llm_name, [], dont_know=True,
                            extractive=self.llm is None)
        elif self.llm is None:
            answer = self._extractive(question, passages, prompt_template)
        else:
            answer = self._generated(question, passages, prompt_template, on_text)
        answer.seconds = time.perf_counter() - started
        return answer

    def prompt_for(self, question: str, passages: Sequence[Passage], template: str | None = None) -> str:
        return self.templates.get(template or self.settings.answer.template).render(question, passages)

    # --- with an LLM -------------------------------------------------------------------

    def _generated(
        self, question: str, passages: list[Passage], template: PromptTemplate,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        prompt = template.render(question, passages)
        raw = complete(self.llm, prompt, self.llm_name, on_text)
        text = parse_answer(raw)
        cited: list[int] = []
        dropped: list[int] = []
        if template.context_style == "numbered":
            text, cited, dropped = resolve_citations(text, len(passages))
        dont_know = looks_like_dont_know(text)
        if not dont_know:
            self._highlight_for_answer(question, text, passages, set(cited))
        return Answer(question, text, template.name, self.llm_name, passages, cited, dropped,
                      extractive=False, dont_know=dont_know, prompt=prompt, raw_output=raw)

    def _highlight_for_answer(self, question: str, text: str, passages: list[Passage], cited: set[int]) -> None:
        sentences = [s for s in passage_sentences(passages) if not looks_like_instruction(s.text)]
        scores = score_for_answer(self.library.embed_model, question, text, sentences)
        chosen = choose_per_passage(
            sentences, scores, self.settings.answer.highlights_per_passage, 0.45, must=cited
        )
        self._attach(passages, chosen)

    # --- without an LLM ----------------------------------------------------------------

    def _extractive(self, question: str, passages: list[Passage], template: PromptTemplate) -> Answer:
        # A sentence ordering an AI about is no evidence of anything: never quoted, never marked.
        sentences = [s for s in passage_sentences(passages) if not looks_like_instruction(s.text)]
        scores = score_for_question(self.library.embed_model, question, sentences)
        floor = self.settings.answer.min_relevance
        if not len(scores) or float(scores.max()) < floor:
            return Answer(question, DONT_KNOW, template.name, self.llm_name, passages,
                          extractive=True, dont_know=True)
        best = float(scores.max())
        # Quote the strongest sentences; the parts of an answer (optimizer, batch size,
        # momentum) often sit in separate sentences of similar strength.
        ranked = [(sentences[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]
        picked = choose_quotes(ranked, question, floor, QUOTE_WINDOW, self.settings.answer.max_sentences)
        # Read in document order, as a person would quote them.
        picked.sort(key=lambda x: (x[0].passage.doc_id, x[0].key[1]))
        text = " ".join(f"{_PAPER_REFS.sub('', s.text)} [{s.passage.n}]" for s, _ in picked)
        cited = sorted({s.passage.n for s, _ in picked})
        # In the passages the answer quotes, also mark the other sentences that clearly bear
        # on the question: a reviewer sees the quote in its supporting context.
        quoted = {s.key for s, _ in picked}
        # By position in the document: a quoted sentence in the overlap of two chunks is in both.
        holding = {s.passage.n for s in sentences if s.key in quoted}
        chosen: dict[int, list[tuple[Sentence, float]]] = {}
        # Quoted sentences first: every one is marked wherever it is shown.
        for sent, score in sorted(ranked, key=lambda x: x[0].key not in quoted):
            if sent.passage.n not in holding:
                continue
            marks = chosen.setdefault(sent.passage.n, [])
            if sent.key in quoted:
                marks.append((sent, score))
            elif len(marks) < self.settings.answer.highlights_per_passage and score >= max(
                SUPPORT_FLOOR, best - SUPPORT_WINDOW
            ):
                marks.append((sent, score))
        self._attach(passages, chosen)
        return Answer(question, text, template.name, self.llm_name, passages, cited,
                      extractive=True, dont_know=False)

    def _attach(self, passages: list[Passage], chosen: dict[int, list[tuple[Sentence, float]]]) -> None:
        for p in passages:
            picks = sorted(chosen.get(p.n, []), key=lambda x: x[0].start)
            path = self.library.file_path(p.doc_id)
            p.highlights = [place(sent, score, self.library.pdfs, path) for sent, score in picks]
