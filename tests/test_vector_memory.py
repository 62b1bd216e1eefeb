"""The encoder's memory on disk: what a library encodes again and again is encoded once."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest
from conftest import HashEmbedding, eval_paper

from assistant.answering.answerer import Answerer
from assistant.answering.sentence_vectors import encode_sentences_when_added, paper_sentences, passages_sentences
from assistant.library.catalog import Catalog
from assistant.library.embeddings import CachedEncoder
from assistant.library.library import Library
from assistant.library.vector_memory import VectorMemory
from assistant.text.guides import guide_for
from assistant.text.normalize import readable


class Counting(HashEmbedding):
    """The hash embedding, counting the texts it is asked to encode."""

    def model_post_init(self, context) -> None:
        super().model_post_init(context)
        object.__setattr__(self, "_seen", [])

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._seen.extend(texts)
        return [self._vector(t) for t in texts]

    def _get_text_embedding(self, text: str) -> list[float]:
        self._seen.append(text)
        return self._vector(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        self._seen.append(query)
        return self._vector(query)


def test_vectors_are_kept_by_encoder_and_kind_of_text(tmp_path):
    memory = VectorMemory(tmp_path / "v.sqlite3", "model A")
    v = np.arange(4, dtype=np.float32) / 7
    memory.put({"a sentence": v})
    assert np.array_equal(memory.get(["a sentence", "another"])["a sentence"], v)  # exact: float32 kept
    assert memory.get(["a sentence"], query=True) == {}  # a query's vector is another thing
    assert VectorMemory(tmp_path / "v.sqlite3", "model B").get(["a sentence"]) == {}
    memory.put({"a sentence": v + 1})  # kept already: the first vector stays
    assert np.array_equal(memory.get(["a sentence"])["a sentence"], v)
    many = [f"text {i}" for i in range(2_000)]  # more than one statement's parameters
    memory.put({t: v for t in many})
    assert len(memory.get(many)) == 2_000


def test_an_unreadable_memory_only_costs_encoding(tmp_path, caplog):
    memory = VectorMemory(tmp_path / "v.sqlite3", "m")
    with sqlite3.connect(memory.path) as db:
        db.execute("DROP TABLE text_vectors")
    encoder = CachedEncoder(Counting(), memory=memory)
    assert len(encoder.get_text_embedding_batch(["still encoded"])[0]) == 256
    assert "reading kept vectors" in caplog.text


def test_a_second_process_reads_what_the_first_encoded_but_not_what_was_transient(tmp_path):
    first_embed, second_embed = Counting(), Counting()
    first = CachedEncoder(first_embed, memory=VectorMemory(tmp_path / "v.sqlite3", "m"))
    assert first.remember(["kept one", "kept two", "kept one"]) == 2
    assert first.remember(["kept one"]) == 0
    first.get_query_embedding("a question")
    with first.transient():
        first.get_text_embedding_batch(["an answer's own sentence"])
    assert sorted(first_embed._seen) == ["a question", "an answer's own sentence", "kept one", "kept two"]

    second = CachedEncoder(second_embed, memory=VectorMemory(tmp_path / "v.sqlite3", "m"))
    got = second.get_text_embedding_batch(["kept two", "kept one", "an answer's own sentence"])
    second.get_query_embedding("a question")
    assert second_embed._seen == ["an answer's own sentence"]
    assert np.allclose(got[0], first.get_text_embedding_batch(["kept two"])[0])


def test_transient_is_per_thread(tmp_path):
    encoder = CachedEncoder(Counting(), memory=VectorMemory(tmp_path / "v.sqlite3", "m"))
    with encoder.transient():
        other = threading.Thread(target=encoder.get_text_embedding_batch, args=(["from another thread"],))
        other.start()
        other.join()
    assert set(encoder.memory.get(["from another thread"])) == {"from another thread"}


def test_a_failing_after_adding_step_loses_nothing(settings, fake_embedding, paper_pdf, caplog):
    library = Library(settings, fake_embedding)

    def broken(doc_id: str) -> None:
        raise RuntimeError("disk full")

    library.after_adding.append(broken)
    record = library.ingest_file(paper_pdf).record
    assert [d.doc_id for d in library.documents()] == [record.doc_id]
    assert "disk full" in caplog.text


def test_control_characters_become_spaces_and_line_breaks_stay():
    assert readable("a\x00b\x0cc\x7fd\x9fe") == "a b c d e"
    assert readable("line\nbreak\ttab \ufb01") == "line\nbreak\ttab fi"


def test_a_generation_written_by_another_connection_is_seen_at_once(tmp_path):
    reader, writer = Catalog(tmp_path / "catalog.sqlite3"), Catalog(tmp_path / "catalog.sqlite3")
    before = reader.generation()
    writer.bump()
    assert reader.generation() == before + 1
    seen = []
    other = threading.Thread(target=lambda: seen.append(reader.generation()))
    other.start()
    other.join()
    assert seen == [before + 1]


@pytest.mark.integration
def test_a_paper_added_has_its_sentences_encoded_and_a_question_encodes_only_the_answer(settings, real_embedding):
    library = encode_sentences_when_added(Library(settings, real_embedding))
    doc = library.ingest_file(eval_paper("ronneberger2015_unet.pdf")).record.doc_id
    units = library.units(doc)
    texts = paper_sentences(library.document_text(doc), units[0].start, units[-1].end)
    assert len(texts) > 100
    kept = library.encoder.memory.get(texts)
    assert len(kept) == len(texts)
    # The same vectors as encoding the sentence alone (batching pads, it changes nothing that counts).
    alone = real_embedding.get_text_embedding_batch([texts[5]])[0]
    assert float(np.dot(kept[texts[5]], alone)) > 0.9999

    # A new process: what does answering a question with an LLM's answer encode?
    reopened = Library(settings, real_embedding)
    encoded: list[str] = []
    inner = reopened.encoder.embed
    batch_of, query_of = inner.get_text_embedding_batch, inner.get_query_embedding

    def counting(batch, **kwargs):
        encoded.extend(batch)
        return batch_of(batch, **kwargs)

    def counting_query(text):
        encoded.append(text)
        return query_of(text)

    object.__setattr__(inner, "get_text_embedding_batch", counting)
    object.__setattr__(inner, "get_query_embedding", counting_query)
    try:
        question = "Which data augmentation techniques were applied?"
        answerer = Answerer(reopened, settings)
        prepared = answerer.prepare(question, [doc], 4, None, guide_for(question))
        encoded_by_retrieval = list(encoded)
        quoted = prepared.passages[0].text.split(". ")[1]
        answer = answerer.finish(prepared, f"Answer:::\nThe paper says: {quoted}. [1]\nAnswer:::", mark=False)
        answerer.mark(prepared, answer)
    finally:
        object.__delattr__(inner, "get_text_embedding_batch")
        object.__delattr__(inner, "get_query_embedding")
    passage_texts = set(texts)
    # Retrieval encodes the question and the few sentences a window reads otherwise than
    # the whole paper does (under another title, cut by its edge), never the paper's.
    assert any("augmentation" in t for t in encoded_by_retrieval), encoded_by_retrieval
    assert not passage_texts & set(encoded_by_retrieval)
    assert len(encoded_by_retrieval) <= 8, encoded_by_retrieval
    # Marking and the claim check encode the answer, not the paper.
    later = encoded[len(encoded_by_retrieval):]
    assert later and all(t not in passage_texts for t in later), later
    assert answer.claims


@pytest.mark.integration
def test_left_to_the_first_question_sentences_are_kept_when_read(settings, real_embedding):
    settings = settings.model_copy(update={"imports": settings.imports.model_copy(update={"sentence_vectors": False})})
    library = encode_sentences_when_added(Library(settings, real_embedding))
    assert library.after_adding == []
    doc = library.ingest_file(eval_paper("ronneberger2015_unet.pdf")).record.doc_id
    units = library.units(doc)
    texts = paper_sentences(library.document_text(doc), units[0].start, units[-1].end)
    assert library.encoder.memory.get(texts) == {}  # adding encoded none

    question = "Which optimizer was used for training?"
    prepared = Answerer(library, settings).prepare(question, [doc], 4, None, guide_for(question))
    read = passages_sentences(prepared.passages)
    kept = Library(settings, real_embedding).encoder.memory.get(read)  # as another process finds them
    assert read and len(kept) == len(read)
    assert len(kept) < len(texts)  # only what the question read
