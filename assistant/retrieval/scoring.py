"""How chunks are matched to a question: the text each matcher sees, keyword (BM25) scores,
neighbourhood vectors, and the fusion of the three into one score per chunk.

Chunks are indexed small (a few sentences), so the sentence that answers is not drowned
by its neighbours; but a small chunk often lacks the words that say what it is about
("we used LSTM" under a heading on the vegetation classifier). Each chunk is therefore
also matched through its neighbourhood: the sum of its own vector and its neighbours',
which stands for the surrounding passage at no extra encoding cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from llama_index.core.schema import TextNode

from ..library.chunking import keyword_tokens
from ..library.embeddings import unit_rows
from ..text.facts import stated

# Neighbours on each side that make a chunk's neighbourhood vector (1: the chunk before
# and the one after, about 900 characters with 300-character chunks).
NEIGHBOURS = 1


class KeywordIndex:
    """BM25 (bm25s, English stemming and stop words) over a list of chunk texts, scoring
    every chunk at once, so that keyword and embedding scores can be added."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.size = len(texts)
        self._bm25: bm25s.BM25 | None = None
        tokens = keyword_tokens(list(texts))
        if any(tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """One BM25 score per chunk (0 where no query word occurs)."""
        if self._bm25 is None:
            return np.zeros(self.size, np.float32)
        words = [w for w in keyword_tokens([query])[0] if w in self._bm25.vocab_dict]
        if not words:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._bm25.get_scores(words), np.float32)


def neighbourhood_vectors(vectors: np.ndarray, docs: Sequence[str], starts: Sequence[int],
                          neighbours: int = NEIGHBOURS) -> np.ndarray:
    """For each chunk, the unit sum of its vector and those of the ``neighbours`` chunks
    on each side in its own document (rows in the order of ``vectors``)."""
    out = np.zeros_like(vectors)
    order = sorted(range(len(docs)), key=lambda i: (docs[i], starts[i]))
    run: list[int] = []
    for n, i in enumerate(order):
        run.append(i)
        if n + 1 == len(order) or docs[order[n + 1]] != docs[i]:
            block = vectors[run]
            cumulative = np.vstack([np.zeros((1, block.shape[1]), block.dtype), np.cumsum(block, axis=0)])
            for j, row in enumerate(run):
                lo, hi = max(0, j - neighbours), min(len(run), j + neighbours + 1)
                out[row] = cumulative[hi] - cumulative[lo]
            run = []
    return unit_rows(out) if len(out) else out


@dataclass(frozen=True)
class Weights:
    """Shares of the fused score: ``keyword`` for BM25, the rest for the embeddings, of
    which ``context`` goes to the neighbourhood vector and the rest to the chunk's own."""

    keyword: float
    context: float


def _spread(values: np.ndarray) -> np.ndarray:
    """Scores rescaled to 0..1 over the scope, so scores of different kinds can be added."""
    if not len(values):
        return values
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


# Added to the fused score of a chunk that states a kind of fact the question expects
# (a link for a link question, a GPU model for a hardware question): the fused score
# spans 0..1, so a tenth lifts such a chunk over near ties. Doubled when few chunks of
# the scope (under RARE_SHARE) state it: then stating it says much more.
KIND_BONUS = 0.1
RARE_SHARE = 0.05


def kind_bonus(index: ScopeIndex, kinds: Sequence[str]) -> np.ndarray:
    """The bonus of each chunk of ``index`` for stating one of ``kinds``."""
    out = np.zeros(len(index.nodes), np.float32)
    for kind in kinds:
        mask = index.stating(kind)
        weight = KIND_BONUS * (2.0 if len(mask) and float(mask.mean()) < RARE_SHARE else 1.0)
        out = np.maximum(out, weight * mask)
    return out


def fuse(own: np.ndarray, context: np.ndarray, keyword: np.ndarray, weights: Weights) -> np.ndarray:
    """One score per chunk: a weighted sum of the rescaled similarities and BM25 score.

    Scores, not ranks, are added (unlike reciprocal rank fusion): how far ahead a chunk is
    on one matcher counts, so a chunk that BM25 finds far better than any other is not
    outvoted by middling embedding ranks.
    """
    dense = (1 - weights.context) * _spread(own) + weights.context * _spread(context)
    top = float(keyword.max()) if len(keyword) else 0.0
    words = keyword / top if top > 0 else np.zeros_like(keyword)
    return (1 - weights.keyword) * dense + weights.keyword * words


@dataclass
class ScopeIndex:
    """What is searched for one scope (a set of documents): its chunks, BM25 over their
    texts and, when the scope is small enough to search exactly, their vectors in memory."""

    nodes: list[TextNode]
    vectors: np.ndarray | None = None
    context: np.ndarray | None = None
    # What a chunk points to (its footnotes, linked references): read with it when deciding
    # whether it states a kind of fact.
    pointed: Callable[[TextNode], str] | None = None

    @cached_property
    def keywords(self) -> KeywordIndex:
        # Built on first use: a dense-only search never needs it.
        return KeywordIndex([n.get_content() for n in self.nodes])

    @cached_property
    def _kinds(self) -> dict[str, np.ndarray]:
        return {}

    def stating(self, kind: str) -> np.ndarray:
        """1.0 for each chunk that states a fact of ``kind`` (see :mod:`assistant.text.facts`), else 0.0;
        worked out once per kind."""
        found = self._kinds.get(kind)
        if found is None:
            found = np.array([bool(stated([kind], self._with_pointed(n))) for n in self.nodes], np.float32)
            self._kinds[kind] = found
        return found

    def _with_pointed(self, node: TextNode) -> str:
        extra = self.pointed(node) if self.pointed is not None else ""
        return f"{node.get_content()} {extra}" if extra else node.get_content()

    @classmethod
    def build(cls, nodes: list[TextNode], embeddings: np.ndarray | None,
              pointed: Callable[[TextNode], str] | None = None) -> ScopeIndex:
        vectors = context = None
        if embeddings is not None and nodes:
            vectors = unit_rows(embeddings)
            docs = [n.metadata.get("doc_id", "") for n in nodes]
            starts = [int(n.metadata.get("char_start", 0)) for n in nodes]
            context = neighbourhood_vectors(vectors, docs, starts)
        return cls(nodes, vectors, context, pointed)
