"""Which sentences of which passages support an answer, and where they are on the page.

Sentences are scored with the embedding model the library already has loaded: by
similarity to the question (and, for an LLM answer, to the answer's own sentences),
plus a small bonus for sharing the question's content words. Their positions come
from character spans, so boxes land exactly on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from .embeddings import unit_rows
from .pdf import PAGE_SEPARATOR, PdfStore
from .search import stems, without_accents
from .sentences import display, fold, sentence_spans
from .types import Highlight, PageSpan, Passage, Rect

_WORD = re.compile(r"[\w][\w.\-]*\w|\w")
_HINT = re.compile(r"\(\s*e\.\s*g\.[^)]*\)", re.IGNORECASE)
STOPWORDS = frozenset(
    """a an and are as at be been by can could did do does for from had has have how i in into is it its
    of on or our that the their them there these this those to under used uses using via was were what when
    where which who whom why will with within would you your paper study authors model models deep learning
    pipeline e.g kind type types setting settings detail details""".split()
)


MIN_WORDS = 5
# Units without closing punctuation are evidence only when at least this long (table rows
# and list items rarely end with a full stop).
FRAGMENT_WORDS = 20
_CLOSING = (".", "!", "?", ")", "]", "\"", "”", "’", ":", ";", "。", "！", "？")
# Share of lower-case words below which a unit is a list of names, not a statement
# (prose has about half or more; author lines and reference entries under a tenth).
PROSE_SHARE = 0.25
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")
_EDGE_PUNCTUATION = ".,;:()[]\"'\u201c\u201d\u2019"
# Added to a sentence's score when it lies in the chunk that retrieval matched.
FOCUS_BONUS = 0.05


@dataclass
class Sentence:
    passage: Passage
    start: int  # in the passage's text
    end: int
    text: str
    heading: str = ""  # the short line (section title) before it in the passage, if any
    in_focus: bool = False  # within the part of the passage that retrieval matched

    @property
    def scored_text(self) -> str:
        """What relevance is judged on: a section title says what the sentence is about."""
        return f"{self.heading}: {self.text}" if self.heading else self.text

    @cached_property
    def terms(self) -> set[str]:
        """Its content words as the question's are matched (see :func:`terms`); stemmed
        once, though both scoring and quote selection read them."""
        return terms(self.scored_text)

    @property
    def key(self) -> tuple[str, int, int]:
        """Where it is in its document: the same sentence in two overlapping passages has one key."""
        return (self.passage.doc_id, self.passage.start + self.start, self.passage.start + self.end)


def passage_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    out = []
    for p in passages:
        heading = ""
        for n, (s, e) in enumerate(sentence_spans(p.text, max_chars=400)):
            text = display(p.text[s:e])
            # A passage that opens in lower case opens inside a sentence (the rest of a long
            # sentence cut between chunks): the start is missing, so it is no evidence.
            if n == 0 and p.start > 0 and text[:1].islower():
                continue
            # Headings and labels are too short to be evidence, and short texts score
            # deceptively high on similarity; they lend their topic to what follows.
            if len(text.split()) < MIN_WORDS:
                if not text.endswith((".", "!", "?")) and sum(ch.isalpha() for ch in text) >= 3:
                    heading = text
                continue
            # A unit with no closing punctuation is a piece (a formula's line, a sentence
            # cut by the window's edge), not a statement a reader could check.
            whole = text.endswith(_CLOSING) or len(text.split()) >= FRAGMENT_WORDS
            if sum(ch.isalpha() for ch in text) >= 8 and whole and looks_like_prose(text):
                in_focus = p.focus is not None and s < p.focus[1] and e > p.focus[0]
                out.append(Sentence(p, s, e, text, heading, in_focus))
    return out


def looks_like_prose(text: str) -> bool:
    """Whether a unit reads as a statement rather than a list of names: an author line,
    an affiliation, a reference entry or a venue has few lower-case words. Text in other
    scripts (no case, or few Latin letters) is taken as prose."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isascii() for ch in letters) < 0.5 * len(letters):
        return True
    words = [w.strip(_EDGE_PUNCTUATION) for w in text.split()]
    lower = sum(1 for w in words if _PLAIN_WORD.fullmatch(w) and w[0].islower())
    return lower >= PROSE_SHARE * len(words)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1}


def question_for_matching(question: str) -> str:
    """The question without its "(e.g., ...)" hint, whose examples are not what is asked."""
    return _HINT.sub(" ", question)


def terms(text: str) -> set[str]:
    """Content words as BM25 matches them: accent-free and stemmed, so a question's
    "implemented" is found in "implémentés" and "optimizer" in "optimizers"."""
    return set(stems(sorted(content_words(without_accents(text)))))


def lexical_overlap(question_terms: set[str], sentence_terms: set[str]) -> float:
    """Share of the question's terms (see :func:`terms`) that the sentence has."""
    if not question_terms:
        return 0.0
    return len(question_terms & sentence_terms) / len(question_terms)


def score_for_question(embed: BaseEmbedding, question: str, sentences: Sequence[Sentence]) -> np.ndarray:
    """Relevance of each sentence to the question: cosine similarity plus a word-overlap bonus."""
    if not sentences:
        return np.zeros(0)
    q = unit_rows(embed.get_query_embedding(question_for_matching(question)))
    s = unit_rows(embed.get_text_embedding_batch([x.scored_text for x in sentences]))
    wanted = terms(question_for_matching(question))
    bonus = np.array([lexical_overlap(wanted, x.terms) for x in sentences], dtype=np.float32)
    # Retrieval picked the focus out of the whole paper, by keywords and meaning together:
    # evidence that the sentences there bear on the question.
    focus = np.array([x.in_focus for x in sentences], dtype=np.float32)
    return (s @ q.T)[:, 0] + 0.25 * bonus + FOCUS_BONUS * focus


def score_for_answer(
    embed: BaseEmbedding, question: str, answer: str, sentences: Sequence[Sentence]
) -> np.ndarray:
    """Support of each sentence for an answer: mostly closeness to the answer's own sentences."""
    if not sentences:
        return np.zeros(0)
    by_question = score_for_question(embed, question, sentences)
    claims = [answer[s:e] for s, e in sentence_spans(answer, max_chars=400)] or [answer]
    claims = [re.sub(r"\[\d+\]", "", c).strip() for c in claims if c.strip()]
    if not claims:
        return by_question
    a = unit_rows(embed.get_text_embedding_batch(claims))
    s = unit_rows(embed.get_text_embedding_batch([x.text for x in sentences]))
    by_answer = (s @ a.T).max(axis=1)
    return 0.35 * by_question + 0.65 * by_answer


def sentence_page_spans(passage: Passage, start: int, end: int) -> list[PageSpan]:
    """Page spans of characters ``[start, end)`` of a passage's text.

    A passage's text is its page segments joined by one separator per page boundary
    (pages with no text in between contribute only separators).
    """
    out: list[PageSpan] = []
    offset = 0
    previous: PageSpan | None = None
    for seg in passage.spans:
        if previous is not None:
            offset += (seg.page - previous.page) * len(PAGE_SEPARATOR)
        length = seg.end - seg.start
        s, e = max(start, offset), min(end, offset + length)
        if s < e:
            out.append(PageSpan(seg.page, seg.start + s - offset, seg.start + e - offset))
        offset += length
        previous = seg
    return out


def place(sentence: Sentence, score: float, pdfs: PdfStore, pdf_path) -> Highlight:
    """A highlight for a sentence, boxed on every page it lies on."""
    spans = sentence_page_spans(sentence.passage, sentence.start, sentence.end)
    rects = []
    for span in spans:
        rects.extend(pdfs.geometry(pdf_path, span.page).rects(span.start, span.end))
    return Highlight(sentence.text, sentence.start, sentence.end, spans, rects, float(score))


def passage_boxes(passage: Passage, pdfs: PdfStore, pdf_path) -> list[Rect]:
    """Boxes over the whole passage, on every page it covers."""
    return [r for span in passage.spans for r in pdfs.geometry(pdf_path, span.page).rects(span.start, span.end)]


def choose_quotes(
    ranked: Sequence[tuple[Sentence, float]], question: str, floor: float, window: float, limit: int
) -> list[tuple[Sentence, float]]:
    """The sentences an extractive answer quotes, from ``ranked`` (best first).

    Those within ``window`` of the best, up to ``limit``; but a question often asks for
    several things ("optimizer and batch size"), and the strongest sentences may all
    answer one of them. So the last place goes to a sentence above ``floor`` that names
    a term of the question the others do not, when there is one. A quoted sentence that
    ends with a colon ("...as below:") announces what follows: the next sentence of its
    passage is quoted with it.
    """
    if not ranked:
        return []
    wanted = terms(question_for_matching(question))
    names = {sent.key: sent.terms & wanted for sent, _ in ranked}
    best = ranked[0][1]
    picked: list[tuple[Sentence, float]] = []
    covered: set[str] = set()

    def take(sentence: Sentence, score: float) -> None:
        picked.append((sentence, score))
        covered.update(names[sentence.key])

    def quoted(sentence: Sentence) -> bool:
        # By position: the same sentence in the overlap of two chunks is quoted once.
        return any(sentence.key == other.key for other, _ in picked)

    for sent, score in ranked:
        if score < max(floor, best - window) or len(picked) >= limit:
            break
        if quoted(sent):
            continue
        if len(picked) == limit - 1 and wanted - covered and not names[sent.key] - covered:
            continue  # keep the last place for the part of the question still unanswered
        take(sent, score)
    for sent, score in ranked:
        if len(picked) >= limit or score < floor or not wanted - covered:
            break
        if not quoted(sent) and names[sent.key] - covered:
            take(sent, score)
    following = _following(ranked)
    for sent, _ in list(picked):
        after = following.get(sent.key)
        if sent.text.endswith(":") and after is not None and not quoted(after[0]):
            take(*after)
    return picked


def _following(ranked: Sequence[tuple[Sentence, float]]) -> dict[tuple[str, int, int], tuple[Sentence, float]]:
    """For each sentence, the next one in its passage."""
    by_passage: dict[int, list[tuple[Sentence, float]]] = {}
    for pair in ranked:
        by_passage.setdefault(pair[0].passage.n, []).append(pair)
    out = {}
    for pairs in by_passage.values():
        pairs.sort(key=lambda x: x[0].start)
        out.update({a[0].key: b for a, b in zip(pairs, pairs[1:])})
    return out


def choose_per_passage(
    sentences: Sequence[Sentence], scores: np.ndarray, per_passage: int, threshold: float, must: set[int]
) -> dict[int, list[tuple[Sentence, float]]]:
    """For each passage, its best sentences above ``threshold`` (passages in ``must`` get at least one)."""
    chosen: dict[int, list[tuple[Sentence, float]]] = {}
    order = np.argsort(-scores) if len(scores) else []
    for i in order:
        sent, score = sentences[i], float(scores[i])
        picks = chosen.setdefault(sent.passage.n, [])
        if len(picks) >= per_passage:
            continue
        best = picks[0][1] if picks else score
        if (score >= threshold and score >= best - 0.12) or (not picks and sent.passage.n in must):
            picks.append((sent, score))
    return chosen
