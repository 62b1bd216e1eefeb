from __future__ import annotations

import json

import pytest

from assistant.errors import AssistantError
from assistant.evaluate import (
    QAItem,
    first_hit,
    highlight_hit,
    keywords_present,
    overlap,
    read_qa,
)
from assistant.types import Highlight, PageSpan, Passage


def passage(n, text, page=2, highlights=()):
    p = Passage(n, "d", "f.pdf", "T", text, 0.5, 0, len(text), [PageSpan(page, 0, len(text))])
    p.highlights = [Highlight(h, 0, len(h), [PageSpan(page, 0, len(h))]) for h in highlights]
    return p


def test_matching_folds_ligatures_case_whitespace_and_hyphenation():
    assert overlap("the classiﬁcation   network", "The classifi-\ncation network was trained") == 1.0
    # Quotes of whitespace-folded text keep the break as "- ".
    assert overlap("are avail- able at https://github.com/x/", "are avail-\nable at https://github.com/x/.") == 1.0
    # A quote cut by the passage edge still counts when 80 % of it is there.
    quote = "We trained the network for twenty epochs with SGD."
    assert overlap(quote, "... We trained the network for twenty epochs with") >= 0.8
    assert overlap(quote, "We trained the network") < 0.8


def test_rank_page_and_highlight_hits():
    item = QAItem("f.pdf", "q", True, ("momentum of 0.99",), 2, ("0.99",))
    ps = [passage(1, "nothing here"), passage(2, "we use a momentum of 0.99 here", highlights=["we use a momentum of 0.99 here"])]
    assert first_hit(item, ps) == 2
    assert highlight_hit(item, ps)
    wrong_page = [passage(1, "we use a momentum of 0.99", page=3, highlights=["we use a momentum of 0.99"])]
    assert not highlight_hit(item, wrong_page)


def test_keywords_with_alternatives():
    assert keywords_present(("0.99", "stochastic gradient descent|SGD"), "SGD with momentum 0.99")
    assert not keywords_present(("0.99", "Adam"), "SGD with momentum 0.99")


def test_read_qa_names_the_bad_line(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"pdf": "a.pdf", "question": "q?"}) + "\n{not json}\n")
    with pytest.raises(AssistantError, match="line 2"):
        read_qa(path)
