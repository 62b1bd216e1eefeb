"""Library and answers with a deterministic embedding and a scripted LLM (real Chroma on a temp dir)."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest
from conftest import HashEmbedding, ScriptedLLM, make_pdf, on_server, readback

from assistant.answering.answerer import DONT_KNOW, Answerer
from assistant.errors import (
    AmbiguousDocumentError,
    DocumentNotFoundError,
    LLMUnavailableError,
    NotAPDFError,
)
from assistant.library import chunks as chunks_module
from assistant.library.files import safe_file_name
from assistant.library.library import Library
from assistant.retrieval.retriever import retrieve
from assistant.text.normalize import fold


@pytest.fixture(params=["embedded", "server"])
def settings(request, settings):
    """Every test here runs twice: chunks in the data folder, and on a real Chroma server."""
    if request.param == "server":
        return on_server(settings, request.getfixturevalue("chroma_endpoint"))
    return settings


@pytest.fixture
def library(settings, fake_embedding):
    return Library(settings, fake_embedding)


def other_pdf(tmp_path):
    path = tmp_path / "frogs.pdf"
    make_pdf([["Frog calls were recorded with audio sensors in ponds.", "We used a recurrent network for frogs."]], path)
    return path


def test_ingest_dedupes_lists_resolves_and_deletes(library, paper_pdf, tmp_path):
    stages = []
    first = library.ingest_file(paper_pdf, lambda p: stages.append(p.stage))
    assert not first.already_present
    assert stages[0] == "reading" and stages[-1] == "done" and "embedding" in stages
    rec = first.record
    assert (rec.pages, rec.file_name) == (2, "seabirds.pdf") and rec.chunks >= 1
    assert library.chunks.count() == rec.chunks
    assert library.file_path(rec.doc_id).read_bytes() == paper_pdf.read_bytes()

    again = library.ingest(paper_pdf.read_bytes(), "renamed.pdf")
    assert again.already_present and again.record.doc_id == rec.doc_id
    assert len(library.documents()) == 1 and library.chunks.count() == rec.chunks

    assert library.resolve(rec.doc_id[:6]).doc_id == rec.doc_id
    assert library.resolve("seabirds.pdf").doc_id == rec.doc_id
    with pytest.raises(DocumentNotFoundError, match="'nothing.pdf'"):
        library.resolve("nothing.pdf")

    frogs = library.ingest_file(other_pdf(tmp_path)).record
    common = next(i for i in range(1, 16) if rec.doc_id[:i] != frogs.doc_id[:i]) - 1
    if common:
        with pytest.raises(AmbiguousDocumentError):
            library.resolve(rec.doc_id[:common])

    library.delete(rec.doc_id)
    assert [d.doc_id for d in library.documents()] == [frogs.doc_id]
    assert library.chunks.count() == frogs.chunks
    assert not library.file_path(rec.doc_id).exists()


def test_library_survives_a_new_instance(settings, fake_embedding, paper_pdf):
    rec = Library(settings, fake_embedding).ingest_file(paper_pdf).record
    reopened = Library(settings, fake_embedding)
    assert [d.doc_id for d in reopened.documents()] == [rec.doc_id]
    assert retrieve(reopened, "momentum of the gradient descent", None, 2)


def test_a_failed_ingestion_leaves_nothing_behind(settings, paper_pdf):
    class Broken(HashEmbedding):
        def _get_text_embedding(self, text):
            raise RuntimeError("encoder crashed")

    library = Library(settings, Broken())
    with pytest.raises(RuntimeError):
        library.ingest_file(paper_pdf)
    assert library.documents() == [] and library.chunks.count() == 0
    assert list(library.files_dir.iterdir()) == []


def test_rejected_input_keeps_the_library_as_it_was(library, paper_pdf):
    library.ingest_file(paper_pdf)
    before = (library.documents(), library.chunks.count())
    with pytest.raises(NotAPDFError, match="notes.pdf"):
        library.ingest(b"just some text", "notes.pdf")
    assert (library.documents(), library.chunks.count()) == before


def test_file_names_cannot_leave_the_library():
    assert safe_file_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert safe_file_name("/abs/path/x.pdf") == "x.pdf"
    assert safe_file_name("C:\\Users\\me\\paper.pdf") == "paper.pdf"
    assert safe_file_name("bad\x00name.pdf") == "badname.pdf"
    assert safe_file_name("..") == "document.pdf"


def test_retrieval_is_scoped_to_the_chosen_documents(library, paper_pdf, tmp_path):
    seabirds = library.ingest_file(paper_pdf).record
    frogs = library.ingest_file(other_pdf(tmp_path)).record
    hits = retrieve(library, "frog calls recorded audio", [seabirds.doc_id], 5)
    assert hits and {p.doc_id for p in hits} == {seabirds.doc_id}
    assert retrieve(library, "frog calls recorded audio", None, 1)[0].doc_id == frogs.doc_id
    assert retrieve(library, "anything", ["not-a-document"], 3) == []


def test_extractive_answer_quotes_cites_and_boxes_the_sentence(library, settings, paper_pdf):
    library.ingest_file(paper_pdf)
    answer = Answerer(library, settings).ask("What was the batch size of the images?")
    assert answer.extractive and not answer.dont_know
    assert "The batch size was 16 images on one GPU. [" in answer.text
    cited = [p for p in answer.passages if p.n in answer.cited]
    marked = [h for p in cited for h in p.highlights if "batch size" in h.text]
    assert marked
    h = marked[0]
    with pymupdf.open(library.file_path(cited[0].doc_id)) as doc:
        for rect in h.rects:
            text = readback(doc[rect.page - 1], rect)
            assert fold(text) in fold(h.text)
    assert [r.page for r in h.rects] == [2]


def test_extractive_answer_says_it_does_not_know_when_nothing_is_relevant(library, settings, paper_pdf):
    library.ingest_file(paper_pdf)
    answer = Answerer(library, settings).ask("Which quantum chromodynamics lattice spacing?")
    assert answer.dont_know and answer.text == DONT_KNOW
    assert all(not p.highlights for p in answer.passages)


def test_llm_answer_is_parsed_cited_and_bad_citations_dropped(library, settings, paper_pdf):
    library.ingest_file(paper_pdf)
    llm = ScriptedLLM(replies=["Answer:::\nAnswer: The batch size was 16 [1], trained for 120 epochs [7].\n\nAnswer:::"],
                      prompts=[])
    answer = Answerer(library, settings, llm, "scripted").ask("What was the batch size?", k=2)
    assert answer.text == "The batch size was 16 [1], trained for 120 epochs."
    assert answer.cited == [1] and answer.dropped_citations == [7]
    prompt = llm.prompts[0]
    assert prompt.startswith("Use the following pieces of context") and "[1] (seabirds.pdf, page" in prompt
    assert 'Query: "What was the batch size?"' in prompt
    assert any(h.rects for h in answer.passages[0].highlights), "a cited passage gets at least one highlight"


def test_a_model_that_writes_nothing_after_the_marker_is_said_to_have_given_no_answer(library, settings, paper_pdf):
    from assistant.answering.answerer import NO_ANSWER
    from assistant.types import NOT_FOUND

    library.ingest_file(paper_pdf)
    llm = ScriptedLLM(replies=["Question: What was the batch size?\n\nAnswer:::\n\nHelpful Answer:"], prompts=[])
    answer = Answerer(library, settings, llm, "scripted").ask("What was the batch size?", k=2)
    assert answer.text == NO_ANSWER and answer.dont_know and answer.support == NOT_FOUND
    assert answer.raw_output.endswith("Helpful Answer:") and answer.passages
    assert not answer.claims  # the app's own message is not checked against the paper


def test_seed_template_sends_plain_passages_and_reads_unmarked_answers(library, settings, paper_pdf):
    library.ingest_file(paper_pdf)
    llm = ScriptedLLM(replies=["The drones flew at 30 metres."], prompts=[])
    answer = Answerer(library, settings, llm, "scripted").ask("How high did the drones fly?", template="seed")
    assert answer.text == "The drones flew at 30 metres." and answer.template == "seed"
    assert "[1] (" not in llm.prompts[0]


def test_an_llm_that_fails_gives_a_clear_error(library, settings, paper_pdf):
    library.ingest_file(paper_pdf)
    down = ScriptedLLM(error="connection refused")
    with pytest.raises(LLMUnavailableError, match="did not answer: ConnectionError: connection refused"):
        Answerer(library, settings, down, "down-server").ask("What was the batch size?")


def test_no_documents_means_no_passages_and_a_plain_message(library, settings):
    answer = Answerer(library, settings).ask("Anything?")
    assert answer.dont_know and answer.passages == [] and "Add papers" in answer.text


@pytest.mark.parametrize(
    "text, expected",
    [("", True), ("I don’t know.", True), ("The paper does not mention a learning rate.", True),
     ("They used Adam with a learning rate of 0.001 [1].", False),
     ("Not mentioned " + "but a long detailed answer follows " * 20, False)],
)
def test_dont_know_answers_are_recognised(text, expected):
    from assistant.answering.answerer import looks_like_dont_know

    assert looks_like_dont_know(text) is expected


def test_a_library_larger_than_one_sqlite_statement_is_read_whole(settings, fake_embedding):
    """Chroma, embedded or server, fails a read of more than 32,766 records with their
    metadata ("too many SQL variables"); a whole-library question at 500 papers is one."""
    library = Library(settings, fake_embedding)
    n = 33_000
    with library.chunks.writing("filling the library"):
        for i in range(0, n, 5000):
            rows = range(i, min(n, i + 5000))
            library.chunks.add_rows([f"big:{j}" for j in rows], np.ones((len(rows), 4), np.float32),
                                    [f"chunk {j}" for j in rows], [{"doc_id": "big", "chunk": j} for j in rows])
    found = library.chunks.get(["big"], include=["documents", "metadatas"])
    assert len(found["ids"]) == len(set(found["ids"])) == n
    assert [m["chunk"] for m in found["metadatas"]] == list(range(n)), "every record once, in stored order"
    assert found["documents"][-1] == f"chunk {n - 1}"


def test_reads_in_pages_join_every_field_in_order(settings, fake_embedding, paper_pdf, monkeypatch):
    library = Library(settings, fake_embedding)
    doc = library.ingest_file(paper_pdf).record.doc_id
    whole = library.chunks.get([doc], include=["documents", "metadatas", "embeddings"])
    monkeypatch.setattr(chunks_module, "READ_PAGE", 1)
    assert len(whole["ids"]) >= 2, "the paper needs more than one page of chunks"
    paged = library.chunks.get([doc], include=["documents", "metadatas", "embeddings"])
    assert paged["ids"] == whole["ids"] and paged["documents"] == whole["documents"]
    assert paged["metadatas"] == whole["metadatas"]
    assert np.array_equal(paged["embeddings"], whole["embeddings"])
    some = whole["ids"][::-1]
    assert library.chunks.get(ids=some, include=["documents"])["ids"] == some
    nodes, vectors = library.chunks.current([doc], vectors=True)
    assert len(nodes) == len(whole["ids"]) and vectors.shape == np.asarray(whole["embeddings"]).shape
