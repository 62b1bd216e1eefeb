"""Passage windows: pure growth rules, and windows cut from a real library (Chroma on a temp dir)."""

from __future__ import annotations

import sqlite3

from conftest import PAPER_PAGES, make_pdf

from assistant.config import Settings
from assistant.library.library import Library
from assistant.retrieval.retriever import retrieve
from assistant.retrieval.windows import BEFORE_SHARE, choose_windows, grow

# Ten chunks of 100 characters with one space between them.
SPANS = [(i * 101, i * 101 + 100) for i in range(10)]


def test_window_grows_mostly_after_the_matched_chunk():
    w = grow(SPANS, 5, 400, taken=set())
    assert (w.first, w.last, w.matched) == (4, 7, 5)
    assert SPANS[w.last][1] - SPANS[w.first][0] >= 400
    assert SPANS[w.matched][0] - SPANS[w.first][0] <= BEFORE_SHARE * 400 + 101


def test_window_grows_the_other_way_at_the_ends_and_around_taken_chunks():
    assert (grow(SPANS, 9, 300, set()).first, grow(SPANS, 9, 300, set()).last) == (7, 9)
    assert (grow(SPANS, 0, 300, set()).first, grow(SPANS, 0, 300, set()).last) == (0, 2)
    w = grow(SPANS, 5, 400, taken={6, 7})
    assert (w.first, w.last) == (2, 5), "it cannot take chunks already shown, so it grows before"
    alone = grow(SPANS, 5, 400, taken={4, 6})
    assert (alone.first, alone.last) == (5, 5)


def test_windows_never_share_a_chunk_and_follow_the_ranking():
    spans = {"a": SPANS, "b": SPANS[:3]}
    chosen = choose_windows(spans, [("a", 5), ("a", 6), ("b", 1), ("a", 0)], 300, k=3)
    assert [doc for doc, _ in chosen] == ["a", "b", "a"], "a chunk inside an earlier window is skipped"
    a_chunks = [set(range(w.first, w.last + 1)) for doc, w in chosen if doc == "a"]
    assert not a_chunks[0] & a_chunks[1]
    assert all(w.first <= w.matched <= w.last for _, w in chosen)
    assert len(choose_windows(spans, [("a", 5)], 300, k=3)) == 1


def windowed(settings: Settings) -> Settings:
    values = settings.model_dump()
    values["chunking"] = {"method": "sentences", "size": 200, "overlap": 0}
    values["retrieval"] = {**values["retrieval"], "window": 500}
    return Settings.model_validate(values)


def test_windows_are_exact_slices_of_the_stored_text_with_their_pages(settings, fake_embedding, paper_pdf):
    library = Library(windowed(settings), fake_embedding)
    record = library.ingest_file(paper_pdf).record
    text = library.document_text(record.doc_id)
    assert text.page_lengths and len(text.page_starts) == record.pages == 2
    units = library.units(record.doc_id)
    assert len(units) == record.chunks and units == sorted(units)

    passages = retrieve(library, "How many annotated images does the dataset hold?", None, 3)
    assert passages
    for p in passages:
        assert p.text == text.text[p.start : p.end]
        assert len(p.text) >= 500 or len(passages) < 3 or p.start == 0 or p.end == len(text.text)
        for span in p.spans:
            page_text = text.text[text.page_starts[span.page - 1] :][: text.page_lengths[span.page - 1]]
            assert page_text[span.start : span.end] in p.text
        assert p.focus is not None and 0 <= p.focus[0] < p.focus[1] <= len(p.text)
    covered = [set(range(p.start, p.end)) for p in passages]
    assert all(not (a & b) for i, a in enumerate(covered) for b in covered[i + 1 :]), "no text shown twice"
    assert "4,200 annotated images" in passages[0].text


def test_changed_chunk_settings_recut_a_document_added_again(settings, fake_embedding, paper_pdf):
    big = Library(settings, fake_embedding)
    first = big.ingest_file(paper_pdf).record
    assert big.ingest_file(paper_pdf).already_present

    small = Library(windowed(settings), fake_embedding)
    assert small.documents()[0].doc_id == first.doc_id
    again = small.ingest_file(paper_pdf)
    assert not again.already_present, "cut anew with the new settings"
    assert again.record.chunks > first.chunks and again.record.added == first.added
    assert small.chunks.count() == again.record.chunks
    assert small.ingest_file(paper_pdf).already_present


def test_library_without_stored_texts_parses_them_from_the_kept_pdf(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    record = library.ingest_file(paper_pdf).record
    with sqlite3.connect(library.catalog.path) as db:  # as a library made before texts were kept
        db.execute("DELETE FROM texts")
    fresh = Library(settings, fake_embedding)
    text = fresh.document_text(record.doc_id)
    assert PAPER_PAGES[0][2] in text.text
    assert fresh.catalog.text(record.doc_id) is not None
    assert not fresh.ingest_file(paper_pdf).already_present, "unknown chunk settings: cut anew"


def test_deleting_forgets_the_text(settings, fake_embedding, tmp_path):
    library = Library(settings, fake_embedding)
    path = tmp_path / "one.pdf"
    make_pdf([["A single page about owls and their nightly calls in the forest."]], path)
    record = library.ingest_file(path).record
    library.document_text(record.doc_id)
    library.delete(record.doc_id)
    assert library.catalog.text(record.doc_id) is None


def test_a_matched_chunk_beside_a_window_extends_it_instead_of_taking_a_place():
    # Chunk 7 ranks second and touches the window grown around chunk 5 (4..6).
    chosen = choose_windows({"a": SPANS}, [("a", 5), ("a", 7), ("a", 1)], 300, k=2)
    assert [(w.first, w.last) for _, w in chosen] == [(4, 7), (0, 2)]
    # Not past STRETCH x size: the window of 4 chunks cannot take a fifth; chunk 8 opens its own.
    chosen = choose_windows({"a": SPANS}, [("a", 5), ("a", 7), ("a", 8), ("a", 1)], 300, k=2)
    assert [(w.first, w.last) for _, w in chosen] == [(4, 7), (8, 9)]
    # Deep in the ranking (past DEPTH x k) a chunk does not extend anything.
    late = [("a", 5)] + [("b", i) for i in range(20)] + [("a", 7)]
    chosen = choose_windows({"a": SPANS, "b": [(i * 500, i * 500 + 100) for i in range(20)]}, late, 300, k=1)
    assert [(w.first, w.last) for _, w in chosen] == [(4, 6)]
