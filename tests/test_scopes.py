"""The retrieval cache of searchable scopes: kept while its papers' chunks stand, never
used once they change, with nobody telling it (Chroma on a temp dir)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import make_pdf
from test_windows import windowed

from assistant.errors import AssistantError
from assistant.library.library import Library
from assistant.retrieval.retriever import retrieve
from assistant.retrieval.scopes import scopes_of


def test_a_scope_is_kept_until_its_papers_are_cut_anew_or_deleted_by_anyone(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    cache = scopes_of(library)
    assert scopes_of(library) is cache
    first = cache.get((doc,))
    assert first.nodes and cache.get((doc,)) is first, "asked again: the same entry"

    # Another process (here another library object on the same folder) cuts the paper anew.
    other = Library(windowed(settings), fake_embedding)
    again = other.ingest_file(paper_pdf).record
    fresh = cache.get((doc,))
    assert fresh is not first and len(fresh.nodes) == again.chunks != len(first.nodes)
    assert {n.metadata["cut"] for n in fresh.nodes} == {library.catalog.cuts()[doc]}
    assert retrieve(library, "How many annotated images does the dataset hold?", [doc], 2)

    other.delete(doc)
    assert cache.get((doc,)).nodes == []
    assert retrieve(library, "How many annotated images does the dataset hold?", [doc], 2) == []


def test_the_cache_keeps_the_scopes_used_last(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    cache = scopes_of(library)
    kept = cache.get((doc,))
    for n in range(8):  # eight other scopes (of papers not in the library: empty, but scopes all the same)
        cache.get((doc, f"absent{n}"))
    assert cache.get((doc,)) is not kept, "the least recently used scope made room"


def test_a_scope_being_built_holds_up_only_those_asking_for_it(settings, fake_embedding, paper_pdf, tmp_path,
                                                                monkeypatch):
    library = Library(settings, fake_embedding)
    slow = library.ingest_file(paper_pdf).record.doc_id
    other = tmp_path / "other.pdf"
    make_pdf([["Bird songs were recorded with autonomous sensors.", "A CNN classified the spectrograms."]], other)
    quick = library.ingest_file(other).record.doc_id
    read = library.chunks.current
    started, release = threading.Event(), threading.Event()
    calls: list[tuple[str, ...]] = []

    def current(scope, vectors):  # the slow scope's read waits until released (a large library's)
        calls.append(tuple(scope))
        if slow in scope:
            started.set()
            assert release.wait(60)
        return read(scope, vectors)

    monkeypatch.setattr(library.chunks, "current", current)
    cache = scopes_of(library)
    with ThreadPoolExecutor(3) as pool:
        waiting = [pool.submit(cache.get, (slow,)) for _ in range(2)]
        assert started.wait(30)
        done = pool.submit(cache.get, (quick,)).result(timeout=30)  # not behind the slow build
        assert done.nodes and not any(w.done() for w in waiting)
        release.set()
        entries = [w.result(timeout=60) for w in waiting]
    assert entries[0] is entries[1] and entries[0].nodes, "both askers got the one build"
    assert calls.count((slow,)) == 1 and calls.count((quick,)) == 1


def test_a_failed_build_is_said_to_everyone_waiting_and_tried_again_next_time(settings, fake_embedding, paper_pdf,
                                                                              monkeypatch):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    read = library.chunks.current
    failing = [True]

    def current(scope, vectors):
        if failing[0]:
            raise AssistantError("The library's passages could not be read.")
        return read(scope, vectors)

    monkeypatch.setattr(library.chunks, "current", current)
    cache = scopes_of(library)
    with pytest.raises(AssistantError):
        cache.get((doc,))
    failing[0] = False
    assert cache.get((doc,)).nodes
