"""Question + passages (+ LLM) -> an :class:`Answer` with its supporting sentences boxed.

With an LLM the answer is written from a named prompt template and read back from the
template's ``Answer:::`` markers; citations that point at no passage are dropped and
reported. Without one the answer is extractive: the passages' sentences that answer the
question (see :func:`assistant.answering.marks.select_for_question`), each cited and, when several
papers are asked, grouped under their paper; or a "not found" that names what was looked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from llama_index.core.llms import LLM

from ..config import Settings
from ..library.library import Library
from ..pdf.pages import boxes
from ..retrieval.retriever import matching_question, retrieve
from ..text.facts import LINK, describe
from ..text.guides import guide_for
from ..text.normalize import shorten
from ..text.sentences import quotable
from ..types import NOT_FOUND, Answer, Guide, Highlight, Passage
from .answered import AnsweredJudge, ReadAnswer, shared_judge
from .claims import check_claims, checked_texts
from .evidence import ENTRY_NUMBER, Sentence, evidence_sentences
from .llms import INTERACTIVE_RETRIES, complete
from .marks import ANSWERED, Marks, answer_claims, attach, for_answer, for_question
from .prompts import PromptTemplate, TemplateStore, parse_answer, resolve_citations
from .reranking import best_passages, candidates
from .sentence_vectors import passages_sentences

log = logging.getLogger(__name__)

DONT_KNOW = "I don't know: none of the retrieved passages answers this question closely enough."
NO_PASSAGES = "I don't know: there are no passages to answer from. Add papers to the library, or choose other papers."
NOT_FOUND_TEXT = ("Not found in {where}: none of the passages states {what}. The closest passages are shown "
                  "for checking.")
WEAK_NOTE = "Weak: the closest statement is quoted, but it may not answer the question; check it."
NO_ANSWER = ("The model wrote no answer: its output held nothing after the template's answer marker. The passages "
             "it was given are shown for checking.")
_DONT_KNOW_MARKERS = ("i don't know", "i do not know", "don't know the answer", "does not mention", "not mentioned",
                      "no information", "does not provide", "doesn't provide", "not specified", "not provided")


def quote_answer(quotes: Sequence[tuple[Sentence, float]]) -> str:
    """The quotes as an answer, each cited by its passage; when they come from several
    papers, each paper's quotes on a line of their own under its title."""
    by_doc: dict[str, list[Sentence]] = {}
    for sentence, _ in quotes:
        by_doc.setdefault(sentence.passage.doc_id, []).append(sentence)
    lines = []
    for sentences in by_doc.values():
        body = " ".join(f"{quotable(x.text)} [{x.passage.n}]{pointed_links(x)}" for x in sentences)
        if len(by_doc) > 1:
            paper = sentences[0].passage
            body = f"{paper_name(paper)}: {body}"
        lines.append(body)
    return "\n".join(lines)


# The most characters of a footnote's or reference entry's words shown before its link.
ENTRY_WORDS = 160


def pointed_links(sentence: Sentence) -> str:
    """The footnotes and reference entries with a link that a quoted sentence points to,
    as " (note 1: Web page of the challenge, http://...)": the link, after the entry's
    words that say what it is (the link alone rarely does), shortened."""
    links = []
    for cited in sentence.cited:
        text = " ".join(cited.text.split())
        found = list(LINK.finditer(text))
        if found:
            words = shorten(ENTRY_NUMBER.sub("", text[: found[0].start()]).strip(), ENTRY_WORDS)
            addresses = " ".join(m.group() for m in found)
            links.append(f"{cited.label}: {words} {addresses}" if words else f"{cited.label}: {addresses}")
    return f" ({'; '.join(links)})" if links else ""


def paper_name(passage: Passage) -> str:
    """A paper as an answer names it: its title, shortened, or its file name."""
    title = " ".join((passage.title or "").split())
    if not title:
        return passage.file_name
    return title if len(title) <= 80 else title[:77].rsplit(" ", 1)[0] + "…"


def looks_like_dont_know(text: str) -> bool:
    """An empty answer, or a short one that says the passages do not hold the answer."""
    low = text.lower().replace("\u2019", "'")
    if not low.strip():
        return True
    return len(low) < 400 and any(m in low for m in _DONT_KNOW_MARKERS)


@dataclass
class Prepared:
    """One question of some papers, retrieved and put into its prompt: what every LLM
    asked it shares (a batch retrieves once per paper and question, not once per LLM)."""

    question: str
    doc_ids: list[str] | None
    guide: Guide
    template: PromptTemplate
    passages: list[Passage]
    prompt: str  # "" when there are no passages
    matching: str  # the question as sentences are matched (see retriever.matching_question)

    def fresh_passages(self) -> list[Passage]:
        """The passages without marks: each answer marks its own sentences in its own copy."""
        return [replace(p, highlights=[]) for p in self.passages]


class Answerer:
    def __init__(
        self,
        library: Library,
        settings: Settings,
        llm: LLM | None = None,
        llm_name: str = "none (offline extractive answers)",
        templates: TemplateStore | None = None,
        retries: int | None = None,
    ) -> None:
        self.library = library
        self.settings = settings
        self.llm = llm
        self.llm_name = llm_name
        self.templates = templates or TemplateStore(settings.data_dir)
        # Tries after a busy server's answer: a batch passes its LLM's setting (see llms.complete).
        self.retries = INTERACTIVE_RETRIES if retries is None else retries

    def ask(
        self,
        question: str,
        doc_ids: Sequence[str] | None = None,
        k: int | None = None,
        template: str | None = None,
        on_text: Callable[[str], None] | None = None,
        guide: Guide | None = None,
    ) -> Answer:
        """Answer one question; with an LLM, ``on_text`` sees its raw output grow as it streams.

        ``guide`` says what the question asks for (default: the built-in question's own,
        or what its words ask for; see :func:`assistant.text.guides.guide_for`)."""
        started = time.perf_counter()
        prepared = self.prepare(question, doc_ids, k, template, guide)
        raw = self.request(prepared, on_text) if self.llm is not None and prepared.passages else None
        answer = self.finish(prepared, raw)
        answer.seconds = time.perf_counter() - started
        return answer

    def prepare(self, question: str, doc_ids: Sequence[str] | None = None, k: int | None = None,
                template: str | None = None, guide: Guide | None = None) -> Prepared:
        """Retrieval and the prompt: the part of answering that needs no LLM (CPU work)."""
        guide = guide or guide_for(question)
        prompt_template = self.template(template)
        k = k or self.settings.retrieval.top_k
        found = retrieve(self.library, question, doc_ids, candidates(k, self.settings.retrieval.rerank), guide)
        matching = matching_question(self.library, question, doc_ids)
        passages = best_passages(self.library.encoder, matching, found, guide, k)
        # Their sentences are read again to mark any answer (kept: found on disk next time,
        # by every LLM and run; a paper added with its sentences encoded has them all already).
        self.library.encoder.remember(passages_sentences(passages))
        prompt = prompt_template.render(question, passages) if passages else ""
        return Prepared(question, list(doc_ids) if doc_ids is not None else None, guide, prompt_template, passages,
                        prompt, matching)

    def request(self, prepared: Prepared, on_text: Callable[[str], None] | None = None) -> str:
        """The LLM's raw output for a prepared question (waiting on the server, no CPU work here)."""
        return complete(self.llm, prepared.prompt, self.llm_name, on_text, self.retries)

    def finish(self, prepared: Prepared, raw: str | None, mark: bool = True) -> Answer:
        """The answer from the LLM's raw output (``None`` without an LLM), its sentences marked;
        ``mark=False`` leaves an LLM answer's marks to :meth:`mark` (the CPU part, done apart)."""
        passages = prepared.fresh_passages()
        template = prepared.template
        if not passages:
            return Answer(prepared.question, NO_PASSAGES, template.name, self.llm_name, [], dont_know=True,
                          extractive=self.llm is None, support=NOT_FOUND)
        if raw is None:
            return self._extractive(prepared.question, passages, template, prepared.guide, prepared.matching)
        answer = self._generated(prepared, passages, raw)
        if mark:
            self.mark(prepared, answer)
        return answer

    def mark(self, prepared: Prepared, answer: Answer) -> None:
        """Mark the sentences of an LLM answer's passages that support it, and check each of
        its sentences against them (see :mod:`assistant.answering.claims`)."""
        if not answer.passages or answer.text == NO_ANSWER:  # the app's own words: nothing to check
            return
        # An answer's sentences are its own: encoded for it, never kept on disk.
        with self.library.encoder.transient():
            if not answer.dont_know:
                self._highlight_for_answer(answer.question, answer.text, answer.passages, set(answer.cited),
                                           prepared.guide)
            answer.claims = check_claims(self.library.encoder, answer.text, answer.passages)
        self._mark_support(answer)

    def _mark_support(self, answer: Answer) -> None:
        """Every claim's support is marked and boxed in its passage, so a reviewer finds it there."""
        by_n = {p.n: p for p in answer.passages}
        for claim in answer.claims:
            for s in claim.support:
                passage = by_n[s.passage]
                if any(h.start < s.end and s.start < h.end for h in passage.highlights):
                    continue
                spans, rects = boxes(passage, s.start, s.end, self.library.pdfs, self.library.file_path(passage.doc_id))
                passage.highlights.append(Highlight(s.text, s.start, s.end, spans, rects, s.score))
                passage.highlights.sort(key=lambda h: h.start)

    def template(self, name: str | None = None) -> PromptTemplate:
        """The template named, or the configured one."""
        return self.templates.get(name or self.settings.answer.template)

    # --- with an LLM -------------------------------------------------------------------

    def _generated(self, prepared: Prepared, passages: list[Passage], raw: str) -> Answer:
        question, template = prepared.question, prepared.template
        text = parse_answer(raw)
        cited: list[int] = []
        dropped: list[int] = []
        if template.context_style == "numbered":
            text, cited, dropped = resolve_citations(text, len(passages))
        if not text.strip():
            # A small model may echo the template's labels and stop ("Answer::: Helpful
            # Answer:"): that is no answer, and an empty one would show nothing at all.
            return Answer(question, NO_ANSWER, template.name, self.llm_name, passages, extractive=False,
                          dont_know=True, prompt=prepared.prompt, raw_output=raw, support=NOT_FOUND)
        # dont_know: the answer says so in as many words (its passages are then not marked);
        # whether it answers from the paper at all is the local judge's call.
        dont_know = looks_like_dont_know(text)
        encoder = self.library.encoder
        encoder.remember([question])  # asked again of every paper; the answer is not
        with encoder.transient():
            # Everything the judge, the marks and the claim check encode of the answer, in one
            # call: several small calls cost the encoder more than one of their sum.
            encoder.get_text_embedding_batch(list(dict.fromkeys(
                [*ReadAnswer.of(question, text).encoded, *answer_claims(text), *checked_texts(text)])))
            verdict = self.judge().verdict(question, text)
        return Answer(question, text, template.name, self.llm_name, passages, cited, dropped,
                      extractive=False, dont_know=dont_know, prompt=prepared.prompt, raw_output=raw,
                      support=ANSWERED if verdict.answered else NOT_FOUND, judge_confidence=verdict.confidence)

    def judge(self) -> AnsweredJudge:
        """The local answered judge, on this library's encoder when it is the one it was fitted with."""
        return shared_judge(self.library.encoder, self.settings.embedding)

    def _highlight_for_answer(self, question: str, text: str, passages: list[Passage], cited: set[int],
                              guide: Guide) -> None:
        marks = for_answer(self.library.encoder, question, text, evidence_sentences(passages), guide,
                           self.settings.answer.highlights_per_passage, cited)
        self._attach(passages, marks)

    # --- without an LLM ----------------------------------------------------------------

    def _extractive(self, question: str, passages: list[Passage], template: PromptTemplate, guide: Guide,
                    matching: str) -> Answer:
        """``matching``: the question as its sentences are matched (without a paper's name it asks about)."""
        chosen = for_question(self.library.encoder, question, matching, evidence_sentences(passages), guide,
                              self.settings.answer)
        if not chosen.quotes:
            self._attach(passages, chosen.marks)
            text = self._not_found(passages, guide)
            return Answer(question, text, template.name, self.llm_name, passages, extractive=True, dont_know=True,
                          support=NOT_FOUND)
        self._attach(passages, chosen.marks)
        text = quote_answer(chosen.quotes)
        if chosen.support != ANSWERED:
            text = f"{WEAK_NOTE}\n{text}"
        # In the order the answer quotes them: the evidence panel opens on the first quote's passage.
        cited = list(dict.fromkeys(x.passage.n for x, _ in chosen.quotes))
        return Answer(question, text, template.name, self.llm_name, passages, cited, extractive=True,
                      dont_know=False, support=chosen.support)

    @staticmethod
    def _not_found(passages: list[Passage], guide: Guide) -> str:
        """Says what was looked for and not found, when the question says what answers it."""
        if not guide.expects:
            return DONT_KNOW
        papers = {p.doc_id for p in passages}
        where = "this paper" if len(papers) == 1 else f"these {len(papers)} papers"
        return NOT_FOUND_TEXT.format(where=where, what=describe(guide.expects))

    def _attach(self, passages: list[Passage], marks: Marks) -> None:
        attach(passages, marks, self.library.pdfs, self.library.file_path)
