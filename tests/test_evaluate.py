from __future__ import annotations

import json

import pytest
from conftest import make_passage

from assistant.errors import AssistantError
from assistant.tools.evaluate import (
    ItemResult,
    QAItem,
    Summary,
    first_hit,
    format_table,
    highlight_hit,
    keywords_present,
    overlap,
    quotes_evidence,
    read_qa,
)
from assistant.types import Answer, Cited, Highlight, PageSpan


def passage(n, text, page=2, highlights=()):
    p = make_passage(text, n, page, doc_id="d", file_name="f.pdf", title="T")
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


def test_a_passage_counts_with_the_sources_it_shows():
    item = QAItem("f.pdf", "q", True, ("http://brainiac2.mit.edu/isbi_challenge/",), 8)
    p = passage(1, "The data set is provided by the EM segmentation challenge [14].")
    assert first_hit(item, [p]) == 0
    p.cited = [Cited("reference", "14", "14. WWW: Web page, http://brainiac2.mit.edu/isbi_challenge/", 8, 0, 60)]
    assert first_hit(item, [p]) == 1


def test_answered_flag_and_quotes_of_the_evidence_are_scored():
    answerable = QAItem("f.pdf", "Which GPU?", True, ("trained on one NVIDIA Titan GPU",), 2)
    unanswerable = QAItem("f.pdf", "Which cloud?", False)
    quoting = Answer("Which GPU?", "It was trained on one NVIDIA Titan GPU. [1]", "cited", "none", [], [1],
                     extractive=True, support="answered")
    elsewhere = Answer("Which GPU?", "Training took ten hours. [1]", "cited", "none", [], [1], extractive=True,
                       support="answered")
    weak = Answer("Which cloud?", "Weak: ...", "cited", "none", [], [1], extractive=True, support="weak")
    assert quotes_evidence(answerable, quoting) and not quotes_evidence(answerable, elsewhere)
    results = [
        ItemResult(answerable, quoting, 1, True, True, None, 0.1, True),
        ItemResult(answerable, elsewhere, 1, True, False, None, 0.1, False),
        ItemResult(unanswerable, weak, 0, False, None, False, 0.1),
    ]
    assert [r.flag_ok for r in results] == [True, True, True]  # weak is not "answered"
    metrics = Summary("default", 4, results, 0.0, "none").metrics()
    assert metrics["answered_flag_accuracy"] == 1.0 and metrics["quotes_evidence"] == 0.5
    assert metrics["marked_answered"] == 2 and metrics["marked_weak"] == 1
    table = format_table([Summary("default", 4, results, 0.0, "none")])
    assert "answered-flag accuracy" in table and "answers quoting evid." in table


def test_the_figures_are_given_per_paper_too():
    """A gain on one paper that costs another shows: each paper's own hit, flag, don't-know
    and quoting figures."""
    said = Answer("Which GPU?", "It was trained on one NVIDIA Titan GPU. [1]", "cited", "none", [], [1],
                  extractive=True, support="answered")
    missed = Answer("Which GPU?", "Not found in this paper.", "cited", "none", [], [], extractive=True,
                    support="not found", dont_know=True)
    a = QAItem("a.pdf", "Which GPU?", True, ("trained on one NVIDIA Titan GPU",), 2)
    b = QAItem("b.pdf", "Which GPU?", True, ("a Tesla V100",), 3)
    b_none = QAItem("b.pdf", "Which cloud?", False)
    results = [ItemResult(a, said, 1, True, True, None, 0.1, True),
               ItemResult(b, missed, 0, False, None, None, 0.1),
               ItemResult(b_none, said, 0, False, None, False, 0.1)]
    papers = Summary("default", 4, results, 0.0, "none").metrics()["per_paper"]
    assert papers["a.pdf"] == {"items": 1, "answerable": 1, "evidence_hit": 1.0, "answered_flag_accuracy": 1.0,
                               "dont_know_accuracy": None, "quotes_evidence": 1.0}
    assert papers["b.pdf"]["evidence_hit"] == 0.0 and papers["b.pdf"]["dont_know_accuracy"] == 0.0
    assert papers["b.pdf"]["answered_flag_accuracy"] == 0.0  # missed the answerable, answered the other
    table = format_table([Summary("default", 4, results, 0.0, "none")])
    assert "default, per paper:" in table and "| a.pdf" in table and "| b.pdf" in table
