"""Which of the retrieved passages a question is answered from: the ones holding the
sentence that best answers it.

Retrieval ranks small chunks by the question's words and meaning (see
:mod:`assistant.retrieval.retriever`), which is quick over a whole library but blunt: a
related-work paragraph that shares the question's words ("ImageNet dataset with 1 million
training images") outranks the methods sentence that states the fact in other words
("The data set is provided by the EM segmentation challenge"). So a few times more
passages than are shown are retrieved, their sentences scored as an answer's quotes are
(see :func:`assistant.answering.marks.relevance`: closeness to the question and its
description, stating a kind of fact the question expects, this paper's own work rather
than others'), and the passages whose best sentence scores highest are kept. Sentence
vectors are remembered by the encoder, so the 28 questions of one paper, which retrieve
overlapping passages, encode each sentence about once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..library.embeddings import TextEncoder
from ..text.facts import CONTRIBUTION
from ..types import Guide, Passage
from .evidence import evidence_sentences, states_expected, usable
from .marks import relevance

# The most passages retrieved to choose from (with ``retrieval.rerank`` per passage shown).
MOST_CANDIDATES = 24
# Added for a passage's place in retrieval's ranking (the first gets all of it, the last
# none): retrieval read each chunk with its neighbours and BM25's view of the whole paper,
# which the sentence scores do not see; it breaks near ties.
RETRIEVAL_WEIGHT = 0.2
# Added to a sentence stating a kind of fact the question expects; taken from one that
# reports others' work (see :func:`assistant.answering.evidence.reports_others`), on top
# of what its relevance already lost for it: a related-work sentence naming ImageNet
# shares the words of a question about datasets and states no dataset of this paper.
KIND_BONUS = 0.2
OTHERS_PENALTY = 0.2
# Added, on top of KIND_BONUS, to a sentence of an expected kind in which the paper states
# its own aim or contribution (see :data:`assistant.text.facts.CONTRIBUTION`): "we propose
# an attention-aided CNN" names the model first-hand, where the methods section's details
# ("each convolutional layer is followed by...") share more of the question's words.
CONTRIBUTION_BONUS = 0.2
NO_SENTENCE = -1.0


def candidates(k: int, per_passage: int) -> int:
    """Passages to retrieve so that ``k`` can be chosen, ``per_passage`` for each."""
    return max(k, min(k * per_passage, MOST_CANDIDATES))


def best_passages(embed: TextEncoder, matching: str, passages: Sequence[Passage], guide: Guide,
                  k: int) -> list[Passage]:
    """The ``k`` passages whose best sentence answers the question best (``matching``: the
    question as sentences are matched), best first and numbered from 1."""
    if len(passages) <= k:
        return list(passages)
    sentences = usable(evidence_sentences(passages), matching)
    scores = relevance(embed, matching, sentences, guide) if sentences else []
    # A passage without a sentence that could be evidence (a table, a list of names) comes last.
    best = {p.n: NO_SENTENCE for p in passages}
    for sentence, score in zip(sentences, scores):
        value = float(score)
        if sentence.others:
            value -= OTHERS_PENALTY
        elif guide.expects and states_expected(sentence, guide):
            value += KIND_BONUS
            if CONTRIBUTION.search(sentence.text):
                value += CONTRIBUTION_BONUS
        best[sentence.passage.n] = max(best[sentence.passage.n], value)
    place = {p.n: RETRIEVAL_WEIGHT * (1 - i / len(passages)) for i, p in enumerate(passages)}
    kept = sorted(passages, key=lambda p: -(best[p.n] + place[p.n]))[:k]
    return [replace(p, n=i) for i, p in enumerate(kept, start=1)]
