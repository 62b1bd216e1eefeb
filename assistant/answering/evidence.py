"""Which sentences of which passages support an answer, and where they are on the page.

Sentences are scored with the embedding model the library already has loaded: by
similarity to the question or its description (and, for an LLM answer, to the answer's
own sentences), plus small bonuses for sharing the question's content words and for
lying where retrieval matched. A question's guide says which kinds of fact answer it
(:mod:`assistant.text.facts`): only a sentence stating one is quoted, and whether such a sentence
exists decides whether the question counts as answered. Every weight is named below.
Positions come from character spans, so boxes land exactly on the sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..library.embeddings import TextEncoder, unit_rows
from ..pdf.layout import ASIDES, cited_numbers, units
from ..pdf.pages import PdfStore, boxes
from ..retrieval.scoring import stems, without_accents
from ..text.facts import stated
from ..text.sentences import display, fold, question_for_matching, sentence_spans
from ..types import NOT_FOUND, Cited, Guide, Highlight, Passage

_WORD = re.compile(r"[\w][\w.\-]*\w|\w")
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
# Weight of the share of the question's content words a sentence holds.
LEXICAL_WEIGHT = 0.25
# Added to a sentence that states a kind of fact the question expects; only for ranking,
# never for deciding whether the question is answered.
KIND_BONUS = 0.1
# Taken from a sentence that reports others' work ("Krizhevsky et al. trained...", a list of
# cited methods) and says nothing of this paper's own ("we", "our"): asked what a paper did,
# a related-work sentence that shares the question's words is not the answer.
OTHERS_PENALTY = 0.1
# A question whose guide declares the kinds of fact that answer it (the built-in ones) gates
# its candidates on them; a sentence stating one needs this much less relevance to answer.
STRICT_RELIEF = 0.1
# Below the relevance floor, but within this margin of it, a sentence of the expected kind
# makes the answer "weak": the call is close, and the reviewer is told so.
WEAK_MARGIN = 0.08
# Extractive answers quote sentences within QUOTE_WINDOW of the best one; in the passages
# they quote, sentences within SUPPORT_WINDOW of it (and above SUPPORT_FLOOR) are marked too.
QUOTE_WINDOW = 0.25
SUPPORT_WINDOW = 0.35
SUPPORT_FLOOR = 0.33
# An LLM answer's sentences are marked when their support reaches ANSWER_SUPPORT_FLOOR and
# lie within ANSWER_SUPPORT_WINDOW of the best in their passage; support is mostly
# closeness to the answer's own sentences (ANSWER_SHARE), the rest closeness to the question.
ANSWER_SUPPORT_FLOOR = 0.45
ANSWER_SUPPORT_WINDOW = 0.12
ANSWER_SHARE = 0.65

# Whether passages answer a question (NOT_FOUND, "not found", is shared with the claim check).
ANSWERED, WEAK = "answered", "weak"
# Words by which a question asks about a table's or figure's content: only then is a caption evidence.
_OWN_WORK = re.compile(r"\b(?:we|our|ours|us)\b|\bthis (?:paper|study|work|article|research)\b|\bhere\b", re.IGNORECASE)
_CITATION_GROUP = re.compile(r"\[\d+(?:\s*[,\u2013-]\s*\d+)*\]|\([A-Z][^()]{0,60}\d{4}[a-z]?\)")
_ASKS_TABLE = re.compile(r"\b(?:tables?|figures?|fig\.|captions?|plots?|charts?)\b", re.IGNORECASE)
# A reference entry, wherever it sits: a numbered start or an author list, a year, and a venue or a quoted title.
_REFERENCE_START = re.compile(
    r"^\s*(?:\[\d{1,3}\]|\(\d{1,3}\)|\d{1,3}\.)\s+\S|^\s*[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s*){1,3}[,;:]"
)
_REFERENCE_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}[a-z]?(?!\d)")
_REFERENCE_VENUE = re.compile(
    r"\b(?:In:|In Proc|Proceedings|Proc\.|Journal|J\.|Trans\.|Transactions|Conference|Conf\.|arXiv|vol\.|pp\.|"
    r"doi|ISBN|Press|Lett\.|Rev\.|Workshop|Symposium|preprint)|[\u201c\"][^\u201d\"]{10,}[,.][\u201d\"]",
    re.IGNORECASE,
)


@dataclass
class Sentence:
    passage: Passage
    start: int  # in the passage's text
    end: int
    text: str
    heading: str = ""  # the short line (section title) before it in the passage, if any
    in_focus: bool = False  # within the part of the passage that retrieval matched
    role: str = ""  # the layout's part it belongs to: "" (body), "caption", "footnote" or "title"
    gaps: tuple[tuple[int, int], ...] = ()  # footnotes and captions it runs past: not part of it

    @cached_property
    def cited(self) -> list[Cited]:
        """The footnotes and linked reference entries outside its passage that it points to."""
        return [c for c in self.passage.cited if points_to(self.text, c)]

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
    """The sentences of passages that could be evidence, in passage order.

    Footnotes and captions are asides: a sentence that runs from one page to the next
    runs past the notes at the foot of the first (and a figure's caption set inside a
    paragraph), as a reader reads it; the asides are units of their own.
    """
    out = []
    for p in passages:
        heading = ""
        opening = True
        for s, e, text, role, gaps in passage_units(p):
            first, opening = opening and not role, opening and bool(role)
            if role == "heading":
                heading = text
                continue
            # A passage that opens in lower case opens inside a sentence (the rest of a long
            # sentence cut between chunks): the start is missing, so it is no evidence.
            if first and p.start > 0 and text[:1].islower():
                continue
            # A title and a footnote stand whole as the layout set them (a footnote may be a
            # bare link); other short units are labels, which lend their topic to what follows.
            standalone = role in ("title", "footnote") and (sum(ch.isalpha() for ch in text) >= 8 or has_link(text))
            if len(text.split()) < MIN_WORDS and not standalone:
                if not text.endswith((".", "!", "?")) and sum(ch.isalpha() for ch in text) >= 3:
                    heading = text
                continue
            # A unit with no closing punctuation is a piece (a formula's line, a sentence
            # cut by the window's edge), not a statement a reader could check.
            whole = standalone or text.endswith(_CLOSING) or len(text.split()) >= FRAGMENT_WORDS
            if not (sum(ch.isalpha() for ch in text) >= 8 or standalone) or not whole:
                continue
            if (not looks_like_prose(text) and not standalone) or looks_like_reference(text):
                continue
            in_focus = p.focus is not None and s < p.focus[1] and e > p.focus[0]
            out.append(Sentence(p, s, e, text, heading, in_focus, role, gaps))
        _anchor_notes([x for x in out if x.passage is p])
    return out


def passage_units(passage: Passage) -> list[tuple[int, int, str, str, tuple[tuple[int, int], ...]]]:
    """The passage's units as a reader reads them (see :func:`assistant.pdf.layout.units`): for
    each, its span, its readable text, its layout role, and the asides it runs past."""
    out = []
    for s, e in units(passage.text, passage.roles, max_chars=400, nested=True):
        gaps = tuple((r.start, r.end) for r in passage.roles if r.role in ASIDES and s < r.start and r.end <= e)
        text = display(_blanked(passage.text, s, e, gaps))
        if text:
            out.append((s, e, text, _role_at(passage, s), gaps))
    return out


def _anchor_notes(sentences: Sequence[Sentence]) -> None:
    """A footnote is read with the sentence that carries its mark ("our implementation2"),
    as a reader reads it: a bare link says little by itself."""
    for note in sentences:
        mark = re.match(r"\s*(\d{1,2})", note.text) if note.role == "footnote" else None
        if mark is None:
            continue
        pointer = Cited("footnote", mark.group(1), note.text, 0, 0, 0)
        anchor = next((x for x in sentences if x.role != "footnote" and points_to(x.text, pointer)), None)
        if anchor is not None:
            note.heading = anchor.text


def _blanked(text: str, start: int, end: int, gaps: Sequence[tuple[int, int]]) -> str:
    """``text[start:end]`` without the asides it runs past."""
    if not gaps:
        return text[start:end]
    chars = list(text[start:end])
    for g0, g1 in gaps:
        chars[g0 - start : g1 - start] = " " * (g1 - g0)
    return "".join(chars)


def _role_at(passage: Passage, offset: int) -> str:
    for region in passage.roles:
        if region.start <= offset < region.end:
            return region.role
    return ""


def has_link(text: str) -> bool:
    return bool(stated(["link"], text))


def looks_like_reference(text: str) -> bool:
    """Whether a unit reads as an entry of a reference list (found outside the list: a
    footnote citation, a list the layout missed): it starts like one or reads like one,
    with a year and a venue or a quoted title."""
    if not _REFERENCE_YEAR.search(text):
        return False
    venue = bool(_REFERENCE_VENUE.search(text))
    return (bool(_REFERENCE_START.match(text)) and venue) or (venue and not looks_like_prose(text))


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


def terms(text: str) -> set[str]:
    """Content words as BM25 matches them: accent-free and stemmed, so a question's
    "implemented" is found in "implémentés" and "optimizer" in "optimizers"."""
    return set(stems(sorted(content_words(without_accents(text)))))


def lexical_overlap(question_terms: set[str], sentence_terms: set[str]) -> float:
    """Share of the question's terms (see :func:`terms`) that the sentence has."""
    if not question_terms:
        return 0.0
    return len(question_terms & sentence_terms) / len(question_terms)


def relevance(embed: TextEncoder, question: str, sentences: Sequence[Sentence],
              guide: Guide | None = None) -> np.ndarray:
    """Relevance of each sentence to the question: its cosine similarity to the question
    (or, better, to a sentence of the question's description), plus a word-overlap bonus
    and a bonus for lying where retrieval matched."""
    if not sentences:
        return np.zeros(0)
    asked = [question_for_matching(question)]
    if guide is not None and guide.description:
        asked += [guide.description[a:b] for a, b in sentence_spans(guide.description)]
    q = unit_rows(embed.get_text_embedding_batch(asked) if len(asked) > 1 else [embed.get_query_embedding(asked[0])])
    s = unit_rows(embed.get_text_embedding_batch([x.scored_text for x in sentences]))
    wanted = terms(question_for_matching(question))
    bonus = np.array([lexical_overlap(wanted, x.terms) for x in sentences], dtype=np.float32)
    # Retrieval picked the focus out of the whole paper, by keywords and meaning together:
    # evidence that the sentences there bear on the question.
    focus = np.array([x.in_focus for x in sentences], dtype=np.float32)
    others = np.array([reports_others(x.text) for x in sentences], dtype=np.float32)
    return (s @ q.T).max(axis=1) + LEXICAL_WEIGHT * bonus + FOCUS_BONUS * focus - OTHERS_PENALTY * others


def reports_others(text: str) -> bool:
    """Whether a sentence reports other people's work and not this paper's: it names
    "et al." or cites two works or more, and has no "we", "our" or "this paper"."""
    if _OWN_WORK.search(text):
        return False
    return "et al" in text or len(_CITATION_GROUP.findall(text)) >= 2


def score_for_question(embed: TextEncoder, question: str, sentences: Sequence[Sentence]) -> np.ndarray:
    """Relevance of each sentence to the question alone (see :func:`relevance`)."""
    return relevance(embed, question, sentences)


def score_for_answer(
    embed: TextEncoder, question: str, answer: str, sentences: Sequence[Sentence], guide: Guide | None = None
) -> np.ndarray:
    """Support of each sentence for an answer: mostly closeness to the answer's own sentences."""
    if not sentences:
        return np.zeros(0)
    by_question = relevance(embed, question, sentences, guide)
    claims = [answer[s:e] for s, e in sentence_spans(answer, max_chars=400)] or [answer]
    claims = [re.sub(r"\[\d+\]", "", c).strip() for c in claims if c.strip()]
    if not claims:
        return by_question
    a = unit_rows(embed.get_text_embedding_batch(claims))
    s = unit_rows(embed.get_text_embedding_batch([x.text for x in sentences]))
    by_answer = (s @ a.T).max(axis=1)
    return (1 - ANSWER_SHARE) * by_question + ANSWER_SHARE * by_answer


def usable(sentences: Sequence[Sentence], question: str) -> list[Sentence]:
    """The sentences that may be evidence for this question: a caption only when the
    question asks about a table or figure."""
    tables = bool(_ASKS_TABLE.search(question))
    return [x for x in sentences if x.role != "caption" or tables]


def states_expected(sentence: Sentence, guide: Guide) -> bool:
    """Whether a sentence (read with its section title, and the footnotes and linked
    references it points to) states a kind of fact the guide expects."""
    pointed = " ".join(_ENTRY_NUMBER.sub("", c.text) for c in sentence.cited)
    return bool(stated(guide.expects, f"{sentence.scored_text} {pointed}" if pointed else sentence.scored_text))


# The number that opens a footnote or a reference entry: no figure of the paper's.
_ENTRY_NUMBER = re.compile(r"^\s*(?:\[\d{1,3}\]|\(\d{1,3}\)|\d{1,3}\.?)\s*")


def points_to(text: str, cited: Cited) -> bool:
    """Whether a sentence carries the mark of a footnote or the number of a reference entry."""
    if cited.kind == "footnote":
        return bool(re.search(rf"(?<=[^\W\d_]){re.escape(cited.number)}(?=[\s.,;:)]|$)", text))
    for m in re.finditer(r"\[(\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*)\]", text):
        if int(cited.number) in cited_numbers(m.group(1)):
            return True
    return False


@dataclass
class Selection:
    """What an offline answer quotes, what is marked in each passage, and whether the
    question counts as answered from these passages (``support``: answered, weak, not found)."""

    quotes: list[tuple[Sentence, float]]
    marks: dict[int, list[tuple[Sentence, float]]]
    support: str


def select_for_question(
    sentences: Sequence[Sentence], scores: np.ndarray, question: str, guide: Guide,
    floor: float, limit: int, per_passage: int,
) -> Selection:
    """The quotes and marks of an extractive answer, and its support.

    With a guide that expects kinds of fact, only sentences stating one of them are
    candidates when it is ``strict`` (a built-in question's guide); otherwise every
    sentence is, those stating an expected kind ranked a little higher. Whether the
    passages answer is decided by :func:`support`.
    """
    kinds = [states_expected(x, guide) for x in sentences] if guide.expects else [False] * len(sentences)
    candidates = [i for i, ok in enumerate(kinds) if ok] if guide.strict else list(range(len(sentences)))
    best_relevance = max((float(scores[i]) for i in candidates), default=0.0)
    best_stating = max((float(scores[i]) for i in candidates if kinds[i]), default=None)
    decided = support(best_relevance, best_stating, guide, floor)
    if decided == NOT_FOUND:
        return Selection([], {}, NOT_FOUND)
    floor = min(floor, best_relevance)
    ranked_scores = {i: float(scores[i]) + (KIND_BONUS if kinds[i] else 0.0) for i in candidates}
    ranked = [(sentences[i], ranked_scores[i]) for i in sorted(candidates, key=lambda i: -ranked_scores[i])]
    quotes = choose_quotes(ranked, question, floor, QUOTE_WINDOW, limit)
    # Read in document order, as a person would quote them.
    quotes.sort(key=lambda x: (x[0].passage.doc_id, x[0].key[1]))
    # In the passages the answer quotes, also mark the other sentences that clearly bear on
    # the question: a reviewer sees the quote in its supporting context.
    quoted = {x.key for x, _ in quotes}
    holding = {x.passage.n for x in sentences if x.key in quoted}
    best = ranked[0][1]
    marks: dict[int, list[tuple[Sentence, float]]] = {}
    # Quoted sentences first: every one is marked wherever it is shown.
    for sent, score in sorted(ranked, key=lambda x: x[0].key not in quoted):
        if sent.passage.n not in holding:
            continue
        chosen = marks.setdefault(sent.passage.n, [])
        if sent.key in quoted:
            chosen.append((sent, score))
        elif len(chosen) < per_passage and score >= max(SUPPORT_FLOOR, best - SUPPORT_WINDOW):
            chosen.append((sent, score))
    return Selection(quotes, marks, decided)


def support(best: float, best_stating: float | None, guide: Guide, floor: float) -> str:
    """Whether passages answer a question, from the relevance of their best candidate
    sentence (``best``) and of their best sentence stating an expected kind of fact.

    A strict guide's candidates all state an expected kind: at ``floor`` - STRICT_RELIEF or
    above they answer, within WEAK_MARGIN below that the call is close ("weak"). A guide
    that only prefers kinds answers when a sentence stating one reaches the floor; relevant
    sentences that state none, or one of the kind a little below the floor, make it weak:
    the passages speak of the matter without giving the fact asked for. Without expected
    kinds, the best sentence reaching the floor answers.
    """
    if guide.strict:
        floor -= STRICT_RELIEF
        if best_stating is None:
            return NOT_FOUND
        return ANSWERED if best_stating >= floor else WEAK if best_stating >= floor - WEAK_MARGIN else NOT_FOUND
    if not guide.expects:
        return ANSWERED if best >= floor else NOT_FOUND
    if best_stating is not None and best_stating >= floor:
        return ANSWERED
    if best >= floor or (best_stating is not None and best_stating >= floor - WEAK_MARGIN):
        return WEAK
    return NOT_FOUND


def place(sentence: Sentence, score: float, pdfs: PdfStore, pdf_path) -> Highlight:
    """A highlight for a sentence, boxed on every page it lies on."""
    spans, rects = boxes(sentence.passage, sentence.start, sentence.end, pdfs, pdf_path, sentence.gaps)
    return Highlight(sentence.text, sentence.start, sentence.end, spans, rects, float(score))


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
    sentences: Sequence[Sentence], scores: np.ndarray, per_passage: int, must: set[int],
    threshold: float = ANSWER_SUPPORT_FLOOR,
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
        if (score >= threshold and score >= best - ANSWER_SUPPORT_WINDOW) or (not picks and sent.passage.n in must):
            picks.append((sent, score))
    return chosen
