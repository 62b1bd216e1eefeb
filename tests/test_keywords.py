"""The persisted keyword index: written with each paper's cut, gone with it, caught up for
a library stored before it, and what a question over many papers is matched with, so
nothing in that question's path reads every chunk (SQLite and Chroma on a temp dir)."""

from __future__ import annotations

from conftest import make_pdf
from test_windows import windowed

from assistant.library.chunking import keyword_tokens
from assistant.library.keywords import COMMON_FROM, COMMON_SHARE, FILE_NAME, KeywordStore
from assistant.library.library import Library
from assistant.retrieval import retriever
from assistant.retrieval.retriever import retrieve
from assistant.retrieval.scopes import scopes_of


def matched(library: Library, query: str, scope=None) -> list[str]:
    return [hit.node.get_content() for hit in library.keyword_matches(query, 3, scope)]


def test_a_papers_words_are_indexed_with_its_cut_and_go_with_it(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    first = library.catalog.cuts()[doc]
    hits = library.keyword_matches("What momentum?", 3)
    assert len(hits) == 1 and "momentum of 0.9" in hits[0].node.get_content()
    assert hits[0].node.metadata["cut"] == first and hits[0].score > 0

    # Cut anew (another process, other chunk settings): only the new cut's chunks are found.
    other = Library(windowed(settings), fake_embedding)
    other.ingest_file(paper_pdf)
    second = library.catalog.cuts()[doc]
    assert second != first
    assert {h.node.metadata["cut"] for h in library.keyword_matches("momentum", 3)} == {second}
    assert library.keywords.indexed() == {(doc, second)}

    other.delete(doc)
    assert library.keyword_matches("momentum", 3) == [] and library.keywords.indexed() == set()


def test_a_scope_limits_the_papers_searched(settings, fake_embedding, paper_pdf, tmp_path):
    library = Library(settings, fake_embedding)
    seabirds = library.ingest_file(paper_pdf).record.doc_id
    bats_pdf = tmp_path / "bats.pdf"
    make_pdf([["Bat calls were recorded with ultrasonic detectors.", "The momentum was never tuned for bats."]],
             bats_pdf)
    bats = library.ingest_file(bats_pdf).record.doc_id
    everywhere = library.keyword_matches("momentum", 5)
    assert {h.node.metadata["doc_id"] for h in everywhere} == {seabirds, bats}
    assert {h.node.metadata["doc_id"] for h in library.keyword_matches("momentum", 5, [bats])} == {bats}
    assert matched(library, "the of and") == []  # nothing but stop words


def test_a_library_stored_before_the_index_is_indexed_on_first_use(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    for suffix in ("", "-wal", "-shm"):
        (settings.data_dir / f"{FILE_NAME}{suffix}").unlink(missing_ok=True)
    reopened = Library(settings, fake_embedding)
    assert reopened.keywords.indexed() == set()
    assert "momentum of 0.9" in matched(reopened, "momentum")[0]
    assert reopened.keywords.indexed() == {(doc, reopened.catalog.cuts()[doc])}
    assert reopened.index_keywords() == 0, "indexed once"


def test_chunks_are_ranked_by_bm25(tmp_path):
    store = KeywordStore(tmp_path / FILE_NAME)
    filler = [(f"d:{i}", f"Seabird colonies were counted on island {i} from drone images.") for i in range(20)]
    store.add("d", "c", [*filler, ("d:a", "We used stochastic gradient descent with a momentum of 0.9."),
                         ("d:b", "Momentum and learning rate were tuned, momentum by grid search.")])
    found = store.search("Which momentum did stochastic gradient descent use?", {"d": "c"}, 3)
    assert [node_id for node_id, _ in found] == ["d:a", "d:b"]
    assert found[0][1] > found[1][1] > 0


def test_indexing_the_same_cut_twice_keeps_one_copy(tmp_path):
    store = KeywordStore(tmp_path / FILE_NAME)
    store.add("d", "c1", [("d:1", "Gradient descent with momentum.")])
    store.add("d", "c1", [("d:1", "Gradient descent with momentum.")])
    assert store.search("momentum", {"d": "c1"}, 5) == [("d:1", store.search("momentum", {"d": "c1"}, 5)[0][1])]
    assert store.search("momentum", {"d": "c2"}, 5) == [], "a cut that is not current is never found"


def test_words_are_read_as_the_in_memory_bm25_reads_them():
    said = "Les données utilisées: the data, the DATA and pre-trained models?"
    words = keyword_tokens([said])[0]
    assert list(dict.fromkeys(words)) == ["les", "donne", "utilise", "data", "pre", "train", "pretrain", "model"]
    assert words.count("data") == 2


def test_words_in_most_chunks_of_a_large_index_are_left_out_of_a_query(tmp_path):
    store = KeywordStore(tmp_path / FILE_NAME)
    common = [(f"d:{i}", f"The model was trained on the data of site {i}.") for i in range(COMMON_FROM)]
    store.add("d", "c", [*common, ("d:x", "A model trained with dropout."), ("d:y", "The model and its data.")])
    assert 1 / COMMON_FROM < COMMON_SHARE < 1
    # "model" and "data" are in nearly every chunk: "dropout" decides alone.
    assert [n for n, _ in store.search("model data dropout", {"d": "c"}, 5)] == ["d:x"]
    # Asked nothing else, the keywords say nothing (the embeddings decide).
    assert store.search("model data", {"d": "c"}, 5) == []


def test_a_question_over_a_scope_too_large_for_memory_reads_no_scope_whole(settings, fake_embedding, paper_pdf,
                                                                         monkeypatch):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    monkeypatch.setattr(retriever, "EXACT_LIMIT", 0)  # every scope is "large"
    passages = retrieve(library, "What momentum was used for stochastic gradient descent?", None, 2)
    assert passages and any("momentum of 0.9" in p.text for p in passages)
    assert passages[0].doc_id == doc
    assert not scopes_of(library)._entries, "no scope was read whole into memory"
