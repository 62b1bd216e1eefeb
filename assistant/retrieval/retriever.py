"""Question -> the passages of the chosen documents most similar to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle

from ..config import RetrievalSettings
from ..geometry import page_spans
from ..library.chunking import spans_from_json
from ..library.chunks import StoredUnit
from ..library.embeddings import unit_rows
from ..library.library import Library
from ..pdf.layout import cited_in, roles_in
from ..text.normalize import question_for_matching
from ..text.seed_prompt import seed_question_block
from ..text.sentences import sentence_spans
from ..types import Cited, DocumentRecord, Guide, PageSpan, Passage, Region
from .scopes import scopes_of
from .scoring import Weights, fuse, kind_bonus
from .windows import choose_windows

# Chunks ranked before windows are chosen (deep enough that k windows can skip chunks
# already shown), and chunks each retriever contributes to rank fusion on large scopes.
CANDIDATES = 40
# Scopes of up to this many chunks (25 papers) are searched exactly in memory, the vectors
# loaded and BM25 built on a scope's first question (about 2 s at 10,000 chunks); larger
# ones through the persisted indexes, which nothing has to load.
EXACT_LIMIT = 5_000


def weights(settings: RetrievalSettings) -> Weights:
    return Weights(keyword=settings.keyword_weight if settings.mode == "hybrid" else 0.0,
                   context=settings.context_weight)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    best = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    return best[np.argsort(-scores[best], kind="stable")]


class ExactRetriever(BaseRetriever):
    """Every chunk of a few papers scored in memory (see :mod:`.scoring`): the question's
    cosine similarity to the chunk and to its neighbourhood, and BM25, added with weights;
    plus a bonus for stating a kind of fact the question expects.

    The query bundle's ``embedding_strs`` (the question and the sentences of its
    description) are each matched and the best similarity counts; BM25 reads its ``query_str``.
    """

    def __init__(self, library: Library, scope: Sequence[str], k: int, weights: Weights,
                 kinds: Sequence[str] = ()) -> None:
        super().__init__()
        self._library, self._scope, self._k, self._weights = library, tuple(sorted(scope)), k, weights
        self._kinds = tuple(kinds)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        index = scopes_of(self._library).get(self._scope)
        if not index.nodes:
            return []
        texts = query_bundle.embedding_strs or [query_bundle.query_str]
        encoder = self._library.encoder
        embeddings = encoder.get_text_embedding_batch(texts) if len(texts) > 1 else [
            query_bundle.embedding or encoder.get_query_embedding(texts[0])]
        # In torch, whose threads encoded the question: numpy's BLAS threads, woken for
        # this product, would spin on the same cores and slow the next encoding twofold.
        q = torch.from_numpy(unit_rows(embeddings)).T
        own = (torch.from_numpy(index.vectors) @ q).max(dim=1).values.numpy()
        context = (torch.from_numpy(index.context) @ q).max(dim=1).values.numpy() if self._weights.context else own
        keyword = index.keywords.scores(query_bundle.query_str) if self._weights.keyword else np.zeros_like(own)
        scores = fuse(own, context, keyword, self._weights)
        if self._kinds:
            scores = scores + kind_bonus(index, self._kinds)
        return [NodeWithScore(node=index.nodes[i], score=float(scores[i])) for i in _top(scores, self._k)]


class KeywordRetriever(BaseRetriever):
    """Keywords alone, by the library's persisted index (for rank fusion on scopes too large
    to hold in memory; ``scope`` None: the whole library)."""

    def __init__(self, library: Library, scope: Sequence[str] | None, k: int) -> None:
        super().__init__()
        self._library, self._scope, self._k = library, None if scope is None else tuple(sorted(scope)), k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._library.keyword_matches(query_bundle.query_str, self._k, self._scope)


def retriever_for(library: Library, scope: Sequence[str], k: int,
                  records: dict[str, DocumentRecord] | None = None, kinds: Sequence[str] = ()) -> BaseRetriever:
    """Exact fused scoring in memory for scopes of up to EXACT_LIMIT chunks. Beyond, Chroma's
    HNSW index (unfiltered when the scope is the whole library: a filter costs a scan),
    fused by reciprocal rank, when hybrid, with the persisted keyword index: nothing in
    the question's path reads every chunk (neighbourhoods would need every vector)."""
    settings = library.settings.retrieval
    records = records if records is not None else {d.doc_id: d for d in library.documents()}
    if sum(records[d].chunks for d in scope if d in records) <= EXACT_LIMIT:
        return ExactRetriever(library, scope, k, weights(settings), kinds)
    candidates = max(k, CANDIDATES)
    everything = set(scope) >= set(records)  # unfiltered: a filter costs a scan
    within = None if everything else scope
    dense = library.chunks.dense_retriever(k if settings.mode == "dense" else candidates, within)
    if settings.mode == "dense":
        return dense
    return QueryFusionRetriever(
        [dense, KeywordRetriever(library, within, candidates)],
        similarity_top_k=k,
        num_queries=1,  # the question as asked: no LLM rewrites
        mode=FUSION_MODES.RECIPROCAL_RANK,
        use_async=False,
        # Only used to write extra queries, which num_queries=1 turns off; passing one
        # keeps the retriever from reaching for LlamaIndex's global default LLM.
        llm=MockLLM(),
    )


def retrieve(library: Library, question: str, doc_ids: Sequence[str] | None, k: int,
             guide: Guide | None = None) -> list[Passage]:
    """The ``k`` passages of the documents ``doc_ids`` (all catalogued ones when None)
    that best match the question: windows around the best chunks (see :mod:`.windows`),
    or the chunks themselves when ``retrieval.window`` is 0.

    Only the question is embedded, never the prompt template around it (unless the
    ``template`` query setting asks for the seed pipeline's behaviour). A question's
    ``(e.g., ...)`` list is left out: its examples say what kind of fact is wanted, not
    words the paper must contain. The ``guide`` adds what the question asks for: each
    sentence of its description is matched too (the best similarity counts), BM25 reads
    the description, and chunks stating an expected kind of fact get a bonus.
    """
    return _retrieve(library, question, doc_ids, k, guide or Guide())


_NAME = re.compile(r"[^\W_][\w]*(?:-[\w]+)*")


def named_in(question: str, records: Sequence[DocumentRecord]) -> list[str]:
    """The papers among ``records`` that a question names by a rare word of their title or
    file name ("U-Net", "ResNet", "BirdCLEF"), when it names some but not all of them."""
    if len(records) < 2:
        return []
    asked = {w.casefold() for w in _NAME.findall(question) if _is_name(w)}
    if not asked:
        return []
    named = []
    for record in records:
        words = {w.casefold() for w in _NAME.findall(f"{record.title} {record.file_name.rsplit('.', 1)[0]}")}
        words |= {part for w in list(words) for part in w.replace("-", "_").split("_") if len(part) >= 3}
        if asked & words:
            named.append(record.doc_id)
    return named if 0 < len(named) < len(records) else []


def narrowed(question: str, records: Sequence[DocumentRecord]) -> tuple[list[str], str]:
    """The papers a question is about, and the question to match in them: "Which optimizer
    was used to train U-Net?" asked of many papers is asked of U-Net's, and its name, now
    said by the scope, is not matched against U-Net's sentences."""
    named = named_in(question, records)
    if named:
        return named, without_names(question)
    return [r.doc_id for r in records], question


def matching_question(library: Library, question: str, doc_ids: Sequence[str] | None) -> str:
    """The question as the sentences of its passages are matched to it (see :func:`narrowed`)."""
    records = library.documents()
    chosen = [r for r in records if not doc_ids or r.doc_id in doc_ids]
    return narrowed(question, chosen)[1]


def without_names(question: str) -> str:
    """The question without the names of things it asks about (see :func:`_is_name`)."""
    left = " ".join(_NAME.sub(lambda m: "" if _is_name(m.group()) else m.group(), question).split())
    return re.sub(r"\s+([?.,;:!])", r"\1", left)


def _is_name(word: str) -> bool:
    """A word that names a thing rather than says something: written with capitals inside
    or digits ("U-Net", "ResNet", "Qwen2"), and rare in English."""
    from wordfreq import zipf_frequency

    marked = any(ch.isupper() for ch in word[1:]) or any(ch.isdigit() for ch in word) or "-" in word
    return len(word) >= 3 and marked and zipf_frequency(word.replace("-", "").casefold(), "en") < 3.0


def query_for(question: str, guide: Guide) -> QueryBundle:
    """What is searched for: the question without its examples, and the description's sentences."""
    core = question_for_matching(question).strip() or question
    described = [s for s in (guide.description[a:b].strip() for a, b in sentence_spans(guide.description)) if s]
    return QueryBundle(query_str=guide.description.strip() or core, custom_embedding_strs=[core, *described])


def _retrieve(library: Library, question: str, doc_ids: Sequence[str] | None, k: int, guide: Guide) -> list[Passage]:
    records = {d.doc_id: d for d in library.documents()}
    scope = [d for d in (doc_ids or records) if d in records]
    if not scope or not question.strip():
        return []
    scope, question = narrowed(question, [records[d] for d in scope])
    settings = library.settings.retrieval
    if settings.query == "template":  # the seed pipeline's way: the prompt's question block, nothing else
        query, kinds = QueryBundle(seed_question_block(question)), ()
    else:
        query, kinds = query_for(question, guide), guide.expects
    depth = max(k, CANDIDATES) if settings.window else k
    hits = [hit for hit in retriever_for(library, scope, depth, records, kinds).retrieve(query)
            if _current(hit, records) and _readable(library, hit)][:depth]
    if settings.window:
        pieces = _windows(library, hits, settings.window, k)
    else:
        pieces = [_chunk_piece(library, hit) for hit in hits[:k]]
    similarity = cosine_similarities(library, query.query_str if settings.query == "template" else
                                     query.embedding_strs[0], [i for piece in pieces for i in piece.node_ids])
    passages = []
    for n, piece in enumerate(pieces, start=1):
        record = records.get(piece.doc_id)
        passages.append(
            Passage(
                n=n,
                doc_id=piece.doc_id,
                file_name=record.file_name if record else "",
                title=record.title if record else "",
                text=piece.text,
                # A window's similarity is that of its best-matching chunk.
                score=max((similarity.get(i, 0.0) for i in piece.node_ids), default=0.0),
                start=piece.start,
                end=piece.end,
                spans=piece.spans,
                focus=piece.focus,
                roles=piece.roles,
                cited=piece.cited,
            )
        )
    return passages


def _current(hit: NodeWithScore, records: dict[str, DocumentRecord]) -> bool:
    """Whether a chunk is one that answers for its document now (not one of a cut being replaced)."""
    meta = hit.node.metadata
    record = records.get(meta.get("doc_id", ""))
    return record is not None and meta.get("cut", "") == record.cut


def _readable(library: Library, hit: NodeWithScore) -> bool:
    """Whether a chunk holds text a reader takes as the paper's (a chunk of a paper stored
    before layouts were analysed may lie wholly in its reference list)."""
    meta = hit.node.metadata
    start, end = int(meta.get("char_start", 0)), int(meta.get("char_end", 0))
    return bool(library.document_text(meta.get("doc_id", "")).reading[start:end].strip())


@dataclass
class _Piece:
    doc_id: str
    text: str
    start: int
    end: int
    spans: list[PageSpan]
    node_ids: list[str]
    focus: tuple[int, int] | None = None
    roles: list[Region] = field(default_factory=list)
    cited: list[Cited] = field(default_factory=list)


def _chunk_piece(library: Library, hit: NodeWithScore) -> _Piece:
    meta = hit.node.metadata
    doc, start, end = meta.get("doc_id", ""), int(meta.get("char_start", 0)), int(meta.get("char_end", 0))
    text = library.document_text(doc)
    return _Piece(
        doc_id=doc,
        text=text.reading[start:end],
        start=start,
        end=end,
        spans=spans_from_json(meta.get("spans", "[]")),
        node_ids=[hit.node.node_id],
        roles=roles_in(text.regions, start, end),
        cited=cited_in(text, start, end),
    )


def _windows(library: Library, hits: Sequence[NodeWithScore], size: int, k: int) -> list[_Piece]:
    units: dict[str, list[StoredUnit]] = {}
    positions: dict[str, dict[str, int]] = {}
    ranked = []
    for hit in hits:
        doc = hit.node.metadata.get("doc_id", "")
        if doc not in units:
            units[doc] = library.units(doc)
            positions[doc] = {u.node_id: i for i, u in enumerate(units[doc])}
        if hit.node.node_id in positions[doc]:
            ranked.append((doc, positions[doc][hit.node.node_id]))
    spans = {doc: [(u.start, u.end) for u in us] for doc, us in units.items()}
    pieces = []
    for doc, window in choose_windows(spans, ranked, size, k):
        text = library.document_text(doc)
        chunks = units[doc][window.first : window.last + 1]
        start, end = chunks[0].start, chunks[-1].end
        pieces.append(
            _Piece(
                doc_id=doc,
                text=text.reading[start:end],
                start=start,
                end=end,
                spans=page_spans(text.page_starts, text.page_lengths, start, end),
                node_ids=[u.node_id for u in chunks],
                focus=(units[doc][window.matched].start - start, units[doc][window.matched].end - start),
                roles=roles_in(text.regions, start, end),
                cited=cited_in(text, start, end),
            )
        )
    return pieces


def cosine_similarities(library: Library, query: str, ids: list[str]) -> dict[str, float]:
    """Cosine similarity of the query to each chunk, from the stored vectors.

    Fused rankings score by rank, which means nothing to a reader; this is what the
    passage list shows as "similarity".
    """
    if not ids:
        return {}
    stored = library.chunks.vectors(ids)
    if not stored:
        return {}
    q = unit_rows(library.encoder.get_query_embedding(query))
    sims = unit_rows(np.asarray(list(stored.values()))) @ q[0]
    return {node_id: float(s) for node_id, s in zip(stored, sims)}
