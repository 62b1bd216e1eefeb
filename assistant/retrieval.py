"""Question -> the passages of the chosen documents most similar to it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from .chunking import spans_from_json
from .index import Library
from .types import Passage


def scope_filters(doc_ids: Sequence[str]) -> MetadataFilters:
    if len(doc_ids) == 1:
        return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_ids[0], operator=FilterOperator.EQ)])
    return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=list(doc_ids), operator=FilterOperator.IN)])


def retrieve(library: Library, question: str, doc_ids: Sequence[str] | None, k: int) -> list[Passage]:
    """Top ``k`` chunks of the documents ``doc_ids`` (all catalogued ones when None).

    Only the question is embedded, never the prompt template around it.
    """
    records = {d.doc_id: d for d in library.documents()}
    scope = [d for d in (doc_ids or records) if d in records]
    if not scope or not question.strip():
        return []
    retriever = library.index.as_retriever(similarity_top_k=k, filters=scope_filters(scope))
    results = retriever.retrieve(question)
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
                # Chroma's cosine distance d comes back as exp(-d); report cosine similarity.
                score=1.0 + math.log(hit.score) if hit.score and hit.score > 0 else 0.0,
                start=int(meta.get("char_start", 0)),
                end=int(meta.get("char_end", 0)),
                spans=spans_from_json(meta.get("spans", "[]")),
            )
        )
    return passages
