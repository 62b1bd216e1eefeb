"""Question -> the passages of the chosen documents most similar to it."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from .chunking import spans_from_json
from .embeddings import unit_rows
from .index import Library
from .prompts import seed_question_block
from .types import Passage

# Candidates each retriever contributes before fusion picks the top k.
CANDIDATES = 20


def scope_filters(doc_ids: Sequence[str]) -> MetadataFilters:
    if len(doc_ids) == 1:
        return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_ids[0], operator=FilterOperator.EQ)])
    return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=list(doc_ids), operator=FilterOperator.IN)])


def retriever_for(library: Library, scope: Sequence[str], k: int) -> BaseRetriever:
    settings = library.settings.retrieval
    if settings.mode == "dense":
        return library.index.as_retriever(similarity_top_k=k, filters=scope_filters(scope))
    candidates = max(k, CANDIDATES)
    dense = library.index.as_retriever(similarity_top_k=candidates, filters=scope_filters(scope))
    keywords = library.keyword_retriever(tuple(sorted(scope)), candidates)
    return QueryFusionRetriever(
        [dense, keywords],
        similarity_top_k=k,
        num_queries=1,  # the question as asked: no LLM rewrites
        mode=FUSION_MODES.RECIPROCAL_RANK,
        use_async=False,
        # Only used to write extra queries, which num_queries=1 turns off; passing one
        # keeps the retriever from reaching for LlamaIndex's global default LLM.
        llm=MockLLM(),
    )


def retrieve(library: Library, question: str, doc_ids: Sequence[str] | None, k: int) -> list[Passage]:
    """Top ``k`` chunks of the documents ``doc_ids`` (all catalogued ones when None).

    Only the question is embedded, never the prompt template around it (unless the
    ``template`` query setting asks for the seed pipeline's behaviour).
    """
    records = {d.doc_id: d for d in library.documents()}
    scope = [d for d in (doc_ids or records) if d in records]
    if not scope or not question.strip():
        return []
    query = seed_question_block(question) if library.settings.retrieval.query == "template" else question
    results = retriever_for(library, scope, k).retrieve(query)[:k]
    similarity = cosine_similarities(library, query, [hit.node.node_id for hit in results])
    passages = []
    for n, hit in enumerate(results, start=1):
        meta = hit.node.metadata
        record = records.get(meta.get("doc_id", ""))
        passages.append(
            Passage(
                n=n,
                doc_id=meta.get("doc_id", ""),
                file_name=record.file_name if record else meta.get("file_name", ""),
                title=record.title if record else "",
                text=hit.node.get_content(),
                score=similarity.get(hit.node.node_id, 0.0),
                start=int(meta.get("char_start", 0)),
                end=int(meta.get("char_end", 0)),
                spans=spans_from_json(meta.get("spans", "[]")),
            )
        )
    return passages


def cosine_similarities(library: Library, query: str, ids: list[str]) -> dict[str, float]:
    """Cosine similarity of the query to each chunk, from the stored vectors.

    Fused rankings score by rank, which means nothing to a reader; this is what the
    passage list shows as "similarity".
    """
    if not ids:
        return {}
    stored = library.collection.get(ids=ids, include=["embeddings"])
    q = unit_rows(library.embed_model.get_query_embedding(query))
    sims = unit_rows(stored["embeddings"]) @ q[0]
    return {node_id: float(s) for node_id, s in zip(stored["ids"], sims)}
