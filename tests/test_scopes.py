"""The retrieval cache of searchable scopes: kept while its papers' chunks stand, never
used once they change, with nobody telling it (Chroma on a temp dir)."""

from __future__ import annotations

from test_windows import windowed

from assistant.library.library import Library
from assistant.retrieval.retriever import retrieve
from assistant.retrieval.scopes import scopes_of


def test_a_scope_is_kept_until_its_papers_are_cut_anew_or_deleted_by_anyone(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    cache = scopes_of(library)
    assert scopes_of(library) is cache
    first = cache.get((doc,), vectors=True)
    assert first.nodes and cache.get((doc,), vectors=True) is first, "asked again: the same entry"
    assert cache.get((doc,), vectors=False) is not first, "without vectors: an entry of its own"

    # Another process (here another library object on the same folder) cuts the paper anew.
    other = Library(windowed(settings), fake_embedding)
    again = other.ingest_file(paper_pdf).record
    fresh = cache.get((doc,), vectors=True)
    assert fresh is not first and len(fresh.nodes) == again.chunks != len(first.nodes)
    assert {n.metadata["cut"] for n in fresh.nodes} == {library.catalog.cuts()[doc]}
    assert retrieve(library, "How many annotated images does the dataset hold?", [doc], 2)

    other.delete(doc)
    assert cache.get((doc,), vectors=True).nodes == []
    assert retrieve(library, "How many annotated images does the dataset hold?", [doc], 2) == []


def test_the_cache_keeps_the_scopes_used_last(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    cache = scopes_of(library)
    kept = cache.get((doc,), vectors=True)
    for n in range(8):  # eight other scopes (of papers not in the library: empty, but scopes all the same)
        cache.get((doc, f"absent{n}"), vectors=True)
    assert cache.get((doc,), vectors=True) is not kept, "the least recently used scope made room"
