"""Which sentences an answer marks and quotes, for answers with and without an LLM.

Sentences (see :mod:`assistant.answering.evidence`) are scored with the embedding model the
library already has loaded: by similarity to the question or its description (and, for an
LLM answer, to the answer's own sentences), plus small bonuses for sharing the question's
content words and for lying where retrieval matched. A question's guide says which kinds
of fact answer it (:mod:`assistant.text.facts`): an offline answer quotes only a sentence
stating one, and whether such a sentence exists decides whether the question counts as
answered. Every weight of these decisions is named in the block below, and nowhere else.
Positions come from character spans, so boxes land exactly on the sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import AnswerSettings
from ..library.embeddings import TextEncoder, unit_rows
from ..pdf.pages import PdfStore, boxes
from ..text.facts import CONTRIBUTION, NOT_DONE, states_value
from ..text.normalize import question_for_matching, terms
from ..text.sentences import sentence_spans
from ..types import NOT_FOUND, Guide, Highlight, Passage
from .evidence import Sentence, facts_of, states_expected, usable

# --- weights -----------------------------------------------------------------------------
# Scoring a sentence against a question:
# added when it lies in the chunk that retrieval matched;
FOCUS_BONUS = 0.05
# times the share of the question's content words it holds;
LEXICAL_WEIGHT = 0.25
# added when it states a kind of fact the question expects (for ranking only, never for
# deciding whether the question is answered);
KIND_BONUS = 0.1
# taken when it reports others' work ("Krizhevsky et al. trained...", a list of cited
# methods) and says nothing of this paper's own ("we", "our"): asked what a paper did, a
# related-work sentence that shares the question's words is not the answer.
OTHERS_PENALTY = 0.1
# added, in ranking quotes, for each fact of an expected kind a sentence names beyond its
# first (up to DETAIL_CAP more): "random gain, noise and pitch shift" answers what
# augmentation was used better than "augmentation slows data loading" does.
DETAIL_BONUS = 0.05
DETAIL_CAP = 3
# added, in ranking quotes, to a sentence of an expected kind where the paper states its
# own aim or contribution ("we propose an attention-aided CNN model"; see
# assistant.text.facts.CONTRIBUTION): it names the fact first-hand.
CONTRIBUTION_QUOTE_BONUS = 0.1
# taken, in ranking quotes, from a sentence of an expected kind that says what the paper did
# not do (see assistant.text.facts.NOT_DONE).
NOT_DONE_PENALTY = 0.2
# added, in ranking quotes, to a sentence of an expected kind that gives a value of its own
# ("random displacement vectors on a coarse 3 by 3 grid"; see
# assistant.text.facts.states_value): the detailed account, not the summary of it.
VALUE_BONUS = 0.15

# Deciding whether an offline answer answers (the floor itself is the setting
# ``answer.min_relevance``): a question whose guide declares the kinds of fact that answer
# it (the built-in ones) gates its candidates on them, and a sentence stating one needs
# STRICT_RELIEF less relevance; within WEAK_MARGIN below the floor, a sentence of the
# expected kind makes the answer "weak": the call is close, and the reviewer is told so.
STRICT_RELIEF = 0.18
WEAK_MARGIN = 0.04

# What an offline answer quotes and marks: sentences within QUOTE_WINDOW of the best one
# are quoted; in the passages it quotes, sentences within SUPPORT_WINDOW of the best (and
# above SUPPORT_FLOOR) are marked too.
QUOTE_WINDOW = 0.35
SUPPORT_WINDOW = 0.35
SUPPORT_FLOOR = 0.33

# What an LLM answer marks: sentences whose support reaches ANSWER_SUPPORT_FLOOR and lies
# within ANSWER_SUPPORT_WINDOW of the best in their passage; support is mostly closeness to
# the answer's own sentences (ANSWER_SHARE), the rest closeness to the question. The floor
# is its own number, not ``answer.min_relevance``: that setting decides offline answers
# only, and changing it must not change what an LLM answer marks.
ANSWER_SUPPORT_FLOOR = 0.45
ANSWER_SUPPORT_WINDOW = 0.12
ANSWER_SHARE = 0.65
# -----------------------------------------------------------------------------------------

# Whether passages answer a question (NOT_FOUND, "not found", is shared with the claim check).
ANSWERED, WEAK = "answered", "weak"

# Marks per passage number: its chosen sentences with their scores.
Marks = dict[int, list[tuple[Sentence, float]]]


def for_question(embed: TextEncoder, question: str, matching: str, sentences: Sequence[Sentence], guide: Guide,
                 settings: AnswerSettings) -> Selection:
    """What an offline answer quotes and marks, and whether it answers (see
    :func:`select_for_question`); ``matching`` is the question as sentences are matched
    (without the name of a paper it asks about)."""
    sentences = usable(sentences, question)
    scores = relevance(embed, matching, sentences, guide)
    return select_for_question(sentences, scores, matching, guide, settings.min_relevance,
                               settings.max_sentences, settings.highlights_per_passage)


def for_answer(embed: TextEncoder, question: str, answer: str, sentences: Sequence[Sentence], guide: Guide,
               per_passage: int, cited: set[int]) -> Marks:
    """What an LLM answer marks in each passage: the sentences that support it, and at
    least one in each passage it cites (see :func:`choose_per_passage`)."""
    sentences = usable(sentences, question)
    scores = score_for_answer(embed, question, answer, sentences, guide)
    return choose_per_passage(sentences, scores, per_passage, must=cited)


def attach(passages: Sequence[Passage], marks: Marks, pdfs: PdfStore, path_of: Callable[[str], Path]) -> None:
    """Each passage's marks as its highlights, in reading order, boxed on their pages."""
    for p in passages:
        picks = sorted(marks.get(p.n, []), key=lambda x: x[0].start)
        path = path_of(p.doc_id)
        p.highlights = [place(sent, score, pdfs, path) for sent, score in picks]


def lexical_overlap(question_terms: set[str], sentence_terms: set[str]) -> float:
    """Share of the question's terms (see :func:`assistant.text.normalize.terms`) that the sentence has."""
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
    others = np.array([x.others for x in sentences], dtype=np.float32)
    return (s @ q.T).max(axis=1) + LEXICAL_WEIGHT * bonus + FOCUS_BONUS * focus - OTHERS_PENALTY * others


def answer_claims(answer: str) -> list[str]:
    """An answer's sentences as its evidence is matched to them: without their citations."""
    claims = [answer[s:e] for s, e in sentence_spans(answer, max_chars=400)] or [answer]
    return [re.sub(r"\[\d+\]", "", c).strip() for c in claims if c.strip()]


def score_for_answer(
    embed: TextEncoder, question: str, answer: str, sentences: Sequence[Sentence], guide: Guide | None = None
) -> np.ndarray:
    """Support of each sentence for an answer: mostly closeness to the answer's own sentences."""
    if not sentences:
        return np.zeros(0)
    by_question = relevance(embed, question, sentences, guide)
    claims = answer_claims(answer)
    if not claims:
        return by_question
    a = unit_rows(embed.get_text_embedding_batch(claims))
    s = unit_rows(embed.get_text_embedding_batch([x.text for x in sentences]))
    by_answer = (s @ a.T).max(axis=1)
    return (1 - ANSWER_SHARE) * by_question + ANSWER_SHARE * by_answer


@dataclass
class Selection:
    """What an offline answer quotes, what is marked in each passage, and whether the
    question counts as answered from these passages (``support``: answered, weak, not found)."""

    quotes: list[tuple[Sentence, float]]
    marks: Marks
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
    if decided == NOT_FOUND and (guide.strict or best_relevance < floor):
        return Selection([], {}, NOT_FOUND)
    # What answers may be quoted: under a strict guide, a sentence of the expected kind
    # answers with STRICT_RELIEF less relevance (see :func:`support`).
    floor = min(floor - (STRICT_RELIEF if guide.strict else 0.0), best_relevance)
    facts = {sentences[i].key: facts_of(sentences[i], guide) for i in candidates if kinds[i]}
    ranked_scores = {i: float(scores[i]) + (quote_bonus(sentences[i], guide, facts[sentences[i].key]) if kinds[i]
                                            else 0.0) for i in candidates}
    ranked = [(sentences[i], ranked_scores[i]) for i in sorted(candidates, key=lambda i: -ranked_scores[i])]
    quotes = leading_with_the_best(choose_quotes(ranked, question, floor, QUOTE_WINDOW, limit, facts))
    # In the passages the answer quotes, also mark the other sentences that clearly bear on
    # the question: a reviewer sees the quote in its supporting context.
    quoted = {x.key for x, _ in quotes}
    holding = {x.passage.n for x in sentences if x.key in quoted}
    best = ranked[0][1]
    marks: Marks = {}
    # Quoted sentences first: every one is marked wherever it is shown.
    for sent, score in sorted(ranked, key=lambda x: x[0].key not in quoted):
        if sent.passage.n not in holding:
            continue
        chosen = marks.setdefault(sent.passage.n, [])
        if sent.key in quoted:
            chosen.append((sent, score))
        elif len(chosen) < per_passage and score >= max(SUPPORT_FLOOR, best - SUPPORT_WINDOW):
            chosen.append((sent, score))
    if decided == NOT_FOUND:
        # Close sentences, none stating what is asked: nothing is quoted, and the closest
        # are marked so that a reviewer checking the "not found" sees where to look.
        return Selection([], marks, NOT_FOUND)
    return Selection(quotes, marks, decided)


def quote_bonus(sentence: Sentence, guide: Guide, facts: frozenset[str] | None = None) -> float:
    """What ranks a sentence that states an expected kind higher as a quote, beyond its
    relevance: naming facts of those kinds, more for each further one (``facts``: those
    it names, when the caller has read them already)."""
    named = len(facts if facts is not None else facts_of(sentence, guide))
    if not named:
        return 0.0
    own = CONTRIBUTION_QUOTE_BONUS if CONTRIBUTION.search(sentence.text) else 0.0
    if NOT_DONE.search(sentence.text):
        own -= NOT_DONE_PENALTY
    if states_value(sentence.text):
        own += VALUE_BONUS
    return KIND_BONUS + DETAIL_BONUS * min(named - 1, DETAIL_CAP) + own


def support(best: float, best_stating: float | None, guide: Guide, floor: float) -> str:
    """Whether passages answer a question, from the relevance of their best candidate
    sentence (``best``) and of their best sentence stating an expected kind of fact.

    A strict guide's candidates all state an expected kind: at ``floor`` - STRICT_RELIEF or
    above they answer, within WEAK_MARGIN below that the call is close ("weak"). A guide
    that only prefers kinds answers when a sentence stating one reaches the floor; one of the
    kind a little below the floor, or relevant sentences beside a sentence of the kind, make it
    weak: the passages speak of the matter without clearly giving the fact asked for. When no
    sentence states an expected kind at all, nothing is found, however close the words ("we
    used an LSTM" for its learning rate). Without expected kinds, the best sentence reaching
    the floor answers.
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
    if best_stating is None:
        return NOT_FOUND
    if best >= floor or (best_stating is not None and best_stating >= floor - WEAK_MARGIN):
        return WEAK
    return NOT_FOUND


def place(sentence: Sentence, score: float, pdfs: PdfStore, pdf_path) -> Highlight:
    """A highlight for a sentence, boxed on every page it lies on."""
    spans, rects = boxes(sentence.passage, sentence.start, sentence.end, pdfs, pdf_path, sentence.gaps)
    return Highlight(sentence.text, sentence.start, sentence.end, spans, rects, float(score))


def choose_quotes(
    ranked: Sequence[tuple[Sentence, float]], question: str, floor: float, window: float, limit: int,
    facts: Mapping[tuple[str, int, int], frozenset[str]] | None = None,
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

    facts = facts or {}
    told: set[str] = set()
    passed: list[tuple[Sentence, float]] = []
    for sent, score in ranked:
        if score < max(floor, best - window) or len(picked) >= limit:
            break
        if quoted(sent):
            continue
        own = facts.get(sent.key, frozenset())
        if own and own <= told and not states_value(sent.text):
            passed.append((sent, score))  # says again what is quoted, with no value of its own
            continue
        if len(picked) == limit - 1 and wanted - covered and not names[sent.key] - covered:
            passed.append((sent, score))  # the last place is kept for the part still unanswered
            continue
        told.update(own)
        take(sent, score)
    for sent, score in ranked:
        if len(picked) >= limit or score < floor or not wanted - covered:
            break
        if not quoted(sent) and names[sent.key] - covered:
            take(sent, score)
    # No sentence names that part: the place goes to the best one passed over for it.
    for sent, score in passed[:limit - len(picked)]:
        take(sent, score)
    following = _following(ranked)
    for sent, _ in list(picked):
        after = following.get(sent.key)
        if sent.text.endswith(":") and after is not None and not quoted(after[0]):
            take(*after)
    return picked


def leading_with_the_best(quotes: Sequence[tuple[Sentence, float]]) -> list[tuple[Sentence, float]]:
    """Quotes as an answer gives them: the one that best states the asked fact first (the
    first of ``quotes``, best first as chosen), then the others in document order, as a
    person reads them; a quote that ends with a colon keeps what it announces right after it."""
    if not quotes:
        return []
    lead, *rest = quotes
    rest.sort(key=lambda x: (x[0].passage.doc_id, x[0].key[1]))
    if lead[0].text.endswith(":"):
        doc, _, end = lead[0].key
        after = [x for x in rest if x[0].key[0] == doc and x[0].key[1] >= end]
        if after:
            rest.remove(after[0])
            rest.insert(0, after[0])
    return [lead, *rest]


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
) -> Marks:
    """For each passage, its best sentences above ``threshold`` (passages in ``must`` get at least one)."""
    chosen: Marks = {}
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
