"""A question of several papers answered paper by paper: each paper its own passages, its
own answer and mark; a whole-library question put to the best-matching papers only."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import ScriptedLLM, make_pdf

from assistant.answering.answerer import Answerer
from assistant.answering.per_paper import ask_per_paper
from assistant.library.library import Library
from assistant.work.chats import Chats, rounds

pytestmark = pytest.mark.integration

PAPERS = {
    "sgd.pdf": [["Counting gulls with a detector", "We count gulls on cliffs from drone images.",
                 "The detector was trained with stochastic gradient descent and a momentum of 0.9.",
                 "Training ran for 80 epochs."]],
    "adam.pdf": [["Whale calls in hydrophone records", "We classify whale calls in underwater recordings.",
                  "The network was optimised with the Adam optimizer and a learning rate of 0.001."]],
    "ArcticLog2019.pdf": [["A field season in the Arctic", "Snow fell on most days of the field season.",
                     "The hut was reached by boat in early June, and the station kept a log of the tides."]],
}
QUESTION = "Which optimizer was used for training?"


@pytest.fixture
def library(settings, real_embedding, tmp_path):
    library = Library(settings, real_embedding)
    for name, pages in PAPERS.items():
        library.ingest(make_pdf(pages), name)
    return library


def _ids(library: Library) -> dict[str, str]:
    return {d.file_name: d.doc_id for d in library.documents()}


def test_each_paper_gets_its_own_passages_answer_and_mark(library, settings):
    ids = _ids(library)
    found = ask_per_paper(Answerer(library, settings), QUESTION, list(ids.values()), most=10, k=3)
    by_paper = {a.doc_id: a.answer for a in found.answers}
    assert set(by_paper) == set(ids.values()) and found.in_scope == 3 and found.not_asked == 0
    for doc_id, answer in by_paper.items():
        assert answer.passages and {p.doc_id for p in answer.passages} == {doc_id}  # its own passages only
    assert "stochastic gradient descent" in by_paper[ids["sgd.pdf"]].text
    assert "Adam" in by_paper[ids["adam.pdf"]].text
    assert by_paper[ids["ArcticLog2019.pdf"]].support == "not found"
    assert {a.doc_id for a in found.answered} == {ids["sgd.pdf"], ids["adam.pdf"]}
    assert found.answers[-1].doc_id == ids["ArcticLog2019.pdf"]  # answered papers first


def test_a_whole_library_question_asks_only_the_best_matching_papers(library, settings):
    ids = _ids(library)
    found = ask_per_paper(Answerer(library, settings), QUESTION, None, most=2, k=3)
    assert found.in_scope == 3 and found.not_asked == 1 and len(found.answers) == 2
    assert {a.doc_id for a in found.answers} == {ids["sgd.pdf"], ids["adam.pdf"]}


def test_with_an_llm_one_request_per_paper_several_in_flight(library, settings):
    ids = _ids(library)
    lock, flight, peak = threading.Lock(), [0], [0]

    def reply(prompt: str) -> str:
        with lock:
            flight[0] += 1
            peak[0] = max(peak[0], flight[0])
        time.sleep(0.5)
        with lock:
            flight[0] -= 1
        for word in ("stochastic gradient descent", "Adam"):
            if word in prompt:
                return f"Answer:::\nThe paper used {word} [1].\nAnswer:::"
        return "Answer:::\nI don't know.\nAnswer:::"

    llm = ScriptedLLM(answer=reply)
    found = ask_per_paper(Answerer(library, settings, llm, "scripted"), QUESTION, list(ids.values()), most=10, k=3,
                          parallel=3)
    assert len(llm.prompts) == 3 and peak[0] >= 2
    for prompt in llm.prompts:  # each prompt holds one paper's passages
        assert sum(name in prompt for name in PAPERS) == 1
    texts = {a.doc_id: a.answer.text for a in found.answers}
    assert "Adam" in texts[ids["adam.pdf"]] and "don't know" in texts[ids["ArcticLog2019.pdf"]]


def test_a_chat_keeps_a_question_answered_by_paper_together(library, settings, tmp_path):
    from assistant.database import Database

    ids = _ids(library)
    found = ask_per_paper(Answerer(library, settings), QUESTION, list(ids.values()), most=10, k=3)
    chats = Chats(Database(tmp_path / "w.sqlite3"))
    chat = chats.start("")
    chats.add(chat.chat_id, found.answers[0].answer, [ids["sgd.pdf"]], {})
    chats.add_by_paper(chat.chat_id, [(a.doc_id, a.answer) for a in found.answers], list(ids.values()), {})
    back = rounds(chats.answers(chat.chat_id))
    assert [len(r) for r in back] == [1, 3]
    assert [a.paper for a in back[1]] == [a.doc_id for a in found.answers]
    assert chats.latest("").answers == 2  # two questions


def test_a_question_that_names_a_paper_is_put_to_that_paper(library, settings):
    ids = _ids(library)
    found = ask_per_paper(Answerer(library, settings), "Which optimizer does ArcticLog2019 use?", None, most=10, k=3)
    assert [a.doc_id for a in found.answers] == [ids["ArcticLog2019.pdf"]] and found.not_asked == 2
