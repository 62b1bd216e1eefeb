"""The Ask page's chats in the work database: kept in order, per person, exported."""

from __future__ import annotations

import json

import pytest

from assistant.database import Database
from assistant.errors import AssistantError
from assistant.types import Answer, Highlight, PageSpan, Passage, Rect
from assistant.work.chats import Chats
from assistant.work.export import chat_json


def _answer(question: str) -> Answer:
    passage = Passage(1, "d1", "a.pdf", "A paper", "We used SGD. Other.", 0.7, 0, 19, [PageSpan(2, 0, 19)],
                      [Highlight("We used SGD.", 0, 12, [PageSpan(2, 0, 12)], [Rect(2, 10, 20, 90, 32, "We used")])])
    return Answer(question, "SGD [1].", "cited", "smollm2", [passage], [1], support="answered", judge_confidence=0.9)


def test_a_chat_keeps_its_answers_in_order_with_the_papers_asked_of_and_belongs_to_its_owner(tmp_path):
    chats = Chats(Database(tmp_path / "w.sqlite3"))
    assert chats.latest("ada@example.org") is None
    chat = chats.start("ada@example.org")
    chats.add(chat.chat_id, _answer("Which optimizer?"), ["d1"], {"template": "cited"})
    chats.add(chat.chat_id, _answer("Which GPU?"), [], {"template": "cited"})
    back = chats.answers(chat.chat_id)
    assert [(a.n, a.answer.question, a.doc_ids) for a in back] == [(1, "Which optimizer?", ("d1",)),
                                                                   (2, "Which GPU?", ())]
    assert back[0].answer == _answer("Which optimizer?")  # passages, boxes and the judge's word included
    assert chats.latest("ada@example.org").label.endswith("Which optimizer? · 2 question(s)")

    other = chats.start("bob@example.org")
    assert chats.latest("ada@example.org").chat_id == chat.chat_id
    with pytest.raises(AssistantError, match=f"no chat #{other.chat_id} of yours"):
        chats.get(other.chat_id, "ada@example.org")
    chats.delete(chat.chat_id, "bob@example.org")  # not his: nothing happens
    assert len(chats.answers(chat.chat_id)) == 2

    exported = json.loads(chat_json(chats.get(chat.chat_id, "ada@example.org"), back, {"d1": "a.pdf"}))
    assert [a["asked_of"] for a in exported["answers"]] == [["a.pdf"], "all papers"]
    assert exported["answers"][0]["passages"][0]["highlighted_sentences"] == ["We used SGD."]
    assert exported["made_with"]["template"] == "cited" and "exported" in exported["made_with"]

    chats.delete(chat.chat_id, "ada@example.org")
    assert chats.answers(chat.chat_id) == [] and chats.latest("ada@example.org") is None
