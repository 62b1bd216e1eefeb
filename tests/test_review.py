"""Reviewers' verdicts in the work database, agreement between reviewers, and exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from assistant.database import Database
from assistant.types import Answer, Highlight, PageSpan, Passage, Rect
from assistant.work.export import answer_rates, heatmap_cells, html_report, rows, to_csv, to_json
from assistant.work.review import AnswerKey, ReviewError, Reviews, cohen_kappa
from assistant.work.run_store import RunStore
from assistant.work.runs import Result, RunSpec


def test_kappa_on_a_known_table():
    # 10 items, 8 agreements; each rater says "correct" 5 times: p_o = 0.8, p_e = 0.5, kappa = 0.6.
    a = ["correct"] * 5 + ["wrong"] * 5
    b = ["correct"] * 4 + ["wrong"] * 5 + ["correct"]
    assert cohen_kappa(a, b) == pytest.approx(0.6)
    # A 2x2 table: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4.
    a = ["correct"] * 25 + ["wrong"] * 25
    b = ["correct"] * 20 + ["wrong"] * 5 + ["correct"] * 10 + ["wrong"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["correct"] * 3, ["correct"] * 3) is None  # undefined: no variation at all
    assert cohen_kappa(["correct"], ["wrong"]) is None


@pytest.fixture
def run_with_results(tmp_path):
    db = Database(tmp_path / "w.sqlite3")
    batches = RunStore(db)
    spec = RunSpec("mine", ("Which optimizer was used?", "Which <b>GPU</b>?"), ("d1", "d2"), ("main", "second"),
                   "cited", 4)
    from assistant.config import Settings

    run = batches.open_run(spec, Settings(data_dir=tmp_path))
    passage = Passage(1, "d1", "a.pdf", "A paper", "We used SGD with momentum 0.99. Other text.", 0.7, 0, 42,
                      [PageSpan(4, 100, 142)])
    passage.highlights = [Highlight("We used SGD with momentum 0.99.", 0, 31, [PageSpan(4, 100, 131)],
                                    [Rect(4, 10, 20, 200, 32, "We used SGD")], 0.8)]
    for doc, name in (("d1", "a.pdf"), ("d2", "b.pdf")):
        for q, question in enumerate(spec.questions):
            for llm in spec.llms:
                answered = doc == "d1" and q == 0 or (llm == "main" and q == 1)
                text = "SGD, momentum 0.99 [1]." if answered else "I don't know."
                answer = Answer(question, text, "cited", llm, [passage] if answered else [], [1] if answered else [],
                                dont_know=not answered)
                batches.store(Result(run.run_id, doc, q, llm, name, question, answer, answered, "llm", 1.5))
    return db, batches, run


def test_verdicts_are_kept_per_reviewer_and_counted(run_with_results):
    db, batches, run = run_with_results
    reviews = Reviews(db)
    k1 = AnswerKey(run.run_id, "d1", 0, "main")
    k2 = AnswerKey(run.run_id, "d2", 0, "main")
    reviews.set_verdict(k1, "  Ada  Lovelace ", "correct", "exact")
    reviews.set_verdict(k1, "Ben", "partly")
    reviews.set_verdict(k1, "Ada Lovelace", "wrong", "changed my mind")  # replaces Ada's own, not Ben's
    reviews.set_verdict(k2, "Ada Lovelace", "not_in_paper")
    reviews.set_passage(k1, 1, "Ada Lovelace", True, "the quote says it")
    reviews.set_passage(k1, 1, "Ben", False)
    assert reviews.reviewers(run.run_id) == ["Ada Lovelace", "Ben"]
    assert reviews.reviewed_count(run.run_id, "Ada Lovelace") == 2
    assert reviews.reviewed_count(run.run_id, "Ben") == 1
    mine = {v.key: (v.verdict, v.note) for v in reviews.verdicts(run.run_id, "Ada Lovelace")}
    assert mine[k1] == ("wrong", "changed my mind")
    assert {(p.reviewer, p.supports) for p in reviews.passage_verdicts(run.run_id)} == {("Ada Lovelace", True),
                                                                                       ("Ben", False)}
    reviews.clear_verdict(k2, "Ada Lovelace")
    assert reviews.reviewed_count(run.run_id, "Ada Lovelace") == 1
    with pytest.raises(ReviewError, match="Enter your name"):
        reviews.set_verdict(k1, "   ", "correct")
    with pytest.raises(ReviewError, match="Unknown verdict"):
        reviews.set_verdict(k1, "Ben", "great")
    agreement = reviews.agreement(run.run_id, "Ada Lovelace", "Ben")
    assert agreement.items == 1 and agreement.observed == 0.0 and agreement.kappa is None
    # Deleting the run takes its results and verdicts with it.
    batches.delete(run.run_id)
    assert reviews.verdicts(run.run_id) == [] and batches.results(run.run_id) == []


def test_agreement_between_two_reviewers_over_common_items(run_with_results):
    db, _, run = run_with_results
    reviews = Reviews(db)
    a = ["correct", "correct", "wrong", "wrong", "correct", "partly", "partly", "wrong"]
    b = ["correct", "wrong", "wrong", "wrong", "correct", "partly", "correct", "wrong"]
    keys = [AnswerKey(run.run_id, d, q, llm) for d in ("d1", "d2") for q in (0, 1) for llm in ("main", "second")]
    for key, va, vb in zip(keys, a, b, strict=True):
        reviews.set_verdict(key, "A", va)
        reviews.set_verdict(key, "B", vb)
    reviews.set_verdict(AnswerKey(run.run_id, "d9", 0, "main"), "A", "correct")  # only A: not compared
    [agreement] = reviews.agreements(run.run_id)
    assert agreement.items == 8 and agreement.observed == pytest.approx(6 / 8)
    assert agreement.kappa == pytest.approx(cohen_kappa(a, b))
    # p_o = .75; marginals A: c3 p2 w3, B: c3 p1 w4 -> p_e = (9 + 2 + 12) / 64; kappa = (.75 - p_e) / (1 - p_e)
    p_e = 23 / 64
    assert agreement.kappa == pytest.approx((0.75 - p_e) / (1 - p_e))


def test_exports_round_trip(run_with_results):
    db, batches, run = run_with_results
    reviews = Reviews(db)
    key = AnswerKey(run.run_id, "d1", 0, "main")
    reviews.set_verdict(key, "Ada", "correct", 'says "0.99", fine')
    reviews.set_passage(key, 1, "Ada", True)
    results = batches.results(run.run_id)
    table = rows(run, results, reviews.verdicts(run.run_id), reviews.passage_verdicts(run.run_id))
    assert len(table) == 8
    first = table[0]
    assert (first["paper"], first["question_number"], first["llm"]) == ("a.pdf", 1, "main")
    assert first["evidence"] == [{"passage": 1, "page": 4, "quote": "We used SGD with momentum 0.99."}]
    assert first["vote_answered"] == "yes" and first["vote_agreement"] == 1.0
    assert first["reviews"]["Ada"] == {"verdict": "correct", "note": 'says "0.99", fine',
                                       "passages_supporting": [1], "passages_not_supporting": []}
    q2 = [r for r in table if r["question_number"] == 2 and r["paper"] == "b.pdf"]
    assert {r["vote_answered"] for r in q2} == {"tie"}  # main yes, second no

    back = json.loads(to_json(run, table))
    assert back["answers"] == json.loads(json.dumps(table)) and back["run"]["llms"] == ["main", "second"]

    parsed = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert len(parsed) == 8
    assert parsed[0]["evidence_quotes"] == "p.4: We used SGD with momentum 0.99."
    assert parsed[0]["evidence_pages"] == "4"
    assert parsed[0]["verdict:Ada"] == "correct" and parsed[0]["note:Ada"] == 'says "0.99", fine'
    assert parsed[0]["supporting_passages:Ada"] == "1"
    assert [p["answer"] for p in parsed] == [r["answer"] for r in table]


def test_chart_tables_and_html_report(run_with_results):
    db, batches, run = run_with_results
    reviews = Reviews(db)
    reviews.set_verdict(AnswerKey(run.run_id, "d1", 0, "main"), "Ada", "correct")
    results = batches.results(run.run_id)
    cells = heatmap_cells(run, results, reviews.verdicts(run.run_id))
    by = {(c["paper"], c["question"]): c for c in cells}
    assert by[("a.pdf", "Q1")] == {"paper": "a.pdf", "question": "Q1", "q_index": 0, "status": "answered",
                                  "verdict": "correct"}
    assert by[("b.pdf", "Q1")]["status"] == "not answered"
    assert by[("b.pdf", "Q2")]["status"] == "tie"
    rates = answer_rates(run, results)
    assert [(r["question"], r["answered"], r["papers"]) for r in rates] == [("Q1", 1, 2), ("Q2", 0, 2)]

    report = html_report(run, results, reviews.verdicts(run.run_id))
    assert "<b>GPU</b>" not in report and "&lt;b&gt;GPU&lt;/b&gt;" in report  # text from outside is escaped
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", report)  # self-contained
    assert "<mark>We used SGD with momentum 0.99.</mark>" in report and "p.4" in report
    assert "Reviewer Ada" in report and "Answer rate per question" in report


def test_a_sentence_marked_in_two_overlapping_passages_is_quoted_once():
    from assistant.work.export import quotes

    def passage(n):
        p = Passage(n, "d1", "a.pdf", "A paper", "Shared sentence here.", 0.5, 0, 21, [PageSpan(2, 0, 21)])
        p.highlights = [Highlight("Shared sentence here.", 0, 21, [PageSpan(2, 0, 21)], [], 0.6)]
        return p

    answer = Answer("q?", "Shared sentence here. [1]", "cited", "main", [passage(1), passage(2)], [1])
    result = Result(1, "d1", 0, "main", "a.pdf", "q?", answer, True, "rule", 0.1)
    assert [(q.passage, q.page) for q in quotes(result)] == [(1, 2)]


def test_flags_and_one_cell_without_loading_every_answer(run_with_results):
    from assistant.work.runs import Cell, vote

    _, batches, run = run_with_results
    flags = batches.flags(run.run_id)
    assert len(flags) == 8 and {f.file_name for f in flags} == {"a.pdf", "b.pdf"}
    cell = Cell("d2", 1)
    whole = batches.results(run.run_id, cell)
    assert [(r.doc_id, r.q_index, r.llm) for r in whole] == [("d2", 1, "main"), ("d2", 1, "second")]
    assert vote([f for f in flags if f.cell == cell]) == vote(whole)


def test_the_answered_judge_against_reviewers_per_question(tmp_path):
    from assistant.work.review import judge_agreement

    batches = RunStore(Database(tmp_path / "w.sqlite3"))
    from assistant.config import Settings

    spec = RunSpec("mine", ("Which optimizer?", "Which GPU?"), ("d1", "d2"), ("main",), "cited", 4)
    run = batches.open_run(spec, Settings(data_dir=tmp_path))
    # (doc, q): the local judge's flag, the LLM's (None: not asked), and a reviewer's verdict.
    cells = {("d1", 0): (True, True, "correct"), ("d2", 0): (True, False, "not_in_paper"),
             ("d1", 1): (False, False, "wrong"), ("d2", 1): (False, True, "partly")}
    reviews = Reviews(batches.db)
    for (doc, q), (local, llm, verdict) in cells.items():
        answer = Answer(spec.questions[q], "text", "cited", "main", [], judge_confidence=0.8)
        batches.store(Result(run.run_id, doc, q, "main", f"{doc}.pdf", spec.questions[q], answer, local, "local",
                             1.0, "answered" if local else "not found", 0.8, local, llm))
        reviews.set_verdict(AnswerKey(run.run_id, doc, q, "main"), "ann", verdict)
    reviews.set_verdict(AnswerKey(run.run_id, "d1", 0, "main"), "bob", "wrong")  # a second reviewer disagrees
    table = judge_agreement(batches.results(run.run_id), reviews.verdicts(run.run_id))
    assert [(a.q_index, a.judged, a.local_agreed, a.llm_judged, a.llm_agreed) for a in table] == [
        (0, 3, 1, 3, 2),  # ann: local right, wrong; bob: local wrong. LLM: right, right, wrong
        (1, 2, 1, 2, 2),
    ]
    assert table[0].local_rate == pytest.approx(1 / 3) and table[1].llm_rate == 1.0
    flagged = [r for r in batches.results(run.run_id) if r.disagree]
    assert {(r.doc_id, r.q_index) for r in flagged} == {("d2", 0), ("d2", 1)}


def test_every_export_says_how_the_run_was_made_and_a_run_made_before_says_so(run_with_results, tmp_path):
    from assistant.database import MIGRATIONS
    from assistant.work.provenance import NOT_RECORDED

    db, batches, run = run_with_results
    made = run.made_with
    assert made["made by"].startswith("research-assistant ")
    assert made["LLMs"].startswith("main: none (offline extractive answers); second: not configured")
    assert (made["template"], made["passages per question"], made["answered judge"]) == ("cited", "4", "local")
    assert "top_k" not in made["retrieval"] and "api_key" not in json.dumps(made)
    results = batches.results(run.run_id)
    table = rows(run, results)
    assert json.loads(to_json(run, table))["made_with"]["template"] == "cited"
    assert json.loads(to_json(run, table))["made_with"]["exported"].endswith(made["made by"])
    flat = list(csv.DictReader(io.StringIO(to_csv(table, run.made_with))))
    assert all("template: cited" in r["made_with"] for r in flat)
    assert "How this run was made" in html_report(run, results) and "answered judge: local" in html_report(run, results)

    # A run stored by a version that did not record its settings: its own columns, and that the rest is unknown.
    old = Database(tmp_path / "old.sqlite3", MIGRATIONS[:4])
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (key, question_set, questions, doc_ids, llms, template, top_k, created) "
                     "VALUES ('k', 'mine', '[\"Q?\"]', '[\"d1\"]', '[\"main\"]', 'cited', 4, '2026-11-01T10:00:00')")
    reopened = RunStore(Database(tmp_path / "old.sqlite3"))
    before = reopened.runs()[0]
    assert before.made_with == {"made by": NOT_RECORDED, "LLMs": "main", "template": "cited",
                                "passages per question": "4"}
    assert json.loads(to_json(before, []))["made_with"]["made by"] == NOT_RECORDED


def test_workbook_read_back(run_with_results):
    from openpyxl import load_workbook

    from assistant.work.export import to_xlsx

    db, batches, run = run_with_results
    reviews = Reviews(db)
    reviews.set_verdict(AnswerKey(run.run_id, "d1", 0, "main"), "Ada", "correct", "on p. 4")
    results = batches.results(run.run_id)
    book = load_workbook(io.BytesIO(to_xlsx(run, results, reviews.verdicts(run.run_id))))
    assert book.sheetnames == ["Papers x questions", "Answers", "Questions", "About"]
    grid = [list(r) for r in book["Papers x questions"].iter_rows(values_only=True)]
    assert grid == [["Paper", "Q1", "Q2"], ["a.pdf", "answered · correct", "tie"], ["b.pdf", "not answered", "tie"]]
    assert book["Papers x questions"]["B2"].fill.fgColor.rgb.endswith("81C784")  # green: answered
    answers = [list(r) for r in book["Answers"].iter_rows(values_only=True)]
    head = answers[0]
    assert len(answers) == 9 and head[:5] == ["Paper", "Q", "Question", "LLM", "Answer"]
    first = dict(zip(head, answers[1], strict=True))
    assert (first["Paper"], first["Q"], first["LLM"], first["Answered"]) == ("a.pdf", 1, "main", "yes")
    assert first["Evidence (page: quote)"] == "[1] p.4: We used SGD with momentum 0.99."
    assert (first["Verdict: Ada"], first["Note: Ada"]) == ("correct", "on p. 4")
    questions = [list(r) for r in book["Questions"].iter_rows(values_only=True)]
    assert questions[1][:4] == ["Q1", "Which optimizer was used?", 2, 1]
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["template"] == "cited" and about["exported"].startswith("20")

    # Text that looks like a formula stays text.
    batches.store(Result(run.run_id, "d2", 0, "main", "=HYPERLINK(\"http://x\").pdf", "Which optimizer was used?",
                         Answer("Which optimizer was used?", "=1+1", "cited", "main", []), False, "local", 1.0))
    book = load_workbook(io.BytesIO(to_xlsx(run, batches.results(run.run_id))))
    cells = [c for line in book["Answers"].iter_rows() for c in line if str(c.value).startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)
    assert "=1+1" in [c.value for c in cells]


def test_review_order_puts_what_i_have_not_judged_first_and_contested_answers_first_among_them(run_with_results):
    from assistant.work.review import contested, review_order

    db, batches, run = run_with_results
    results = batches.results(run.run_id)  # paper, question, LLM: d1 Q1 both yes; d1 Q2 and d2 Q2 main yes, second no
    names = [(r.doc_id, r.q_index + 1, r.llm) for r in results]
    keys = [AnswerKey(r.run_id, r.doc_id, r.q_index, r.llm) for r in results]
    assert {(k.doc_id, k.q_index + 1) for k in contested(results)} == {("d1", 2), ("d2", 2)}
    order = [names[i] for i in review_order(results, set())]
    assert order == [("d1", 2, "main"), ("d1", 2, "second"), ("d2", 2, "main"), ("d2", 2, "second"),
                     ("d1", 1, "main"), ("d1", 1, "second"), ("d2", 1, "main"), ("d2", 1, "second")]
    judged = {keys[names.index(("d1", 2, "main"))], keys[names.index(("d1", 1, "main"))]}
    order = [names[i] for i in review_order(results, judged)]
    assert order[:3] == [("d1", 2, "second"), ("d2", 2, "main"), ("d2", 2, "second")]
    assert order[-2:] == [("d1", 2, "main"), ("d1", 1, "main")]  # judged: last, contested first among them


def test_claims_not_found_and_wrong_citations_reach_every_export(run_with_results):
    from openpyxl import load_workbook

    from assistant.types import NOT_FOUND, SUPPORTED, Claim, ClaimSupport
    from assistant.work.export import to_xlsx

    db, batches, run = run_with_results
    text = "SGD with momentum 0.99 was used [1]. It ran on eight TPUs [1]."
    claims = [Claim("SGD with momentum 0.99 was used [1].", 0, 36, SUPPORTED, 0.9, [1],
                    [ClaimSupport(1, 0, 31, "We used SGD with momentum 0.99.", 4, 0.9)]),
              Claim("It ran on eight TPUs [1].", 37, 62, NOT_FOUND, 0.2, [1], [], [1])]
    passage = Passage(1, "d2", "b.pdf", "B paper", "We used SGD with momentum 0.99.", 0.7, 0, 31, [PageSpan(4, 0, 31)])
    answer = Answer("Which optimizer was used?", text, "cited", "main", [passage], [1], claims=claims)
    batches.store(Result(run.run_id, "d2", 0, "main", "b.pdf", answer.question, answer, True, "local", 1.0))
    results = batches.results(run.run_id)
    stored = next(r for r in results if r.doc_id == "d2" and r.q_index == 0 and r.llm == "main")
    assert stored.answer.claims == claims, "claims are stored with the batch's answers"

    table = rows(run, results)
    row = next(r for r in table if r["doc_id"] == "d2" and r["question_number"] == 1 and r["llm"] == "main")
    assert row["claims_checked"] == 2 and row["claims_not_found"] == ["It ran on eight TPUs [1]."]
    assert row["wrong_citations"] == [1]
    assert row["claims"][0]["support"][0] == {"passage": 1, "page": 4, "text": "We used SGD with momentum 0.99.",
                                              "score": 0.9}
    flat = next(r for r in csv.DictReader(io.StringIO(to_csv(table))) if r["doc_id"] == "d2"
                and r["question_number"] == "1" and r["llm"] == "main")
    assert (flat["claims_checked"], flat["claims_not_found"], flat["wrong_citations"]) == (
        "2", "It ran on eight TPUs [1].", "1")
    assert "Not found in the passages: It ran on eight TPUs [1]." in html_report(run, results)
    book = load_workbook(io.BytesIO(to_xlsx(run, results)))
    answers = [list(r) for r in book["Answers"].iter_rows(values_only=True)]
    found = [dict(zip(answers[0], a, strict=True)) for a in answers[1:]]
    assert any(a["Not found in the passages"] == "It ran on eight TPUs [1]." and a["Wrong citations"] == "1"
               for a in found)


def test_a_weak_cell_stays_weak_in_every_export_and_picture(run_with_results):
    """A close call (support "weak") is neither answered nor a plain miss: the workbook's
    grid and Answers sheet, the HTML report, the heat map and the Batch table each say
    weak, in a colour of its own that is neither the tie's nor a verdict's."""
    from openpyxl import load_workbook

    from assistant.work.export import STATE_COLOURS, VERDICT_COLOURS, to_xlsx
    from ui.batch_view import COLOURS, WEAK, cell_symbol, heatmap_chart

    db, batches, run = run_with_results
    for llm in run.spec.llms:  # d2 Q1: both LLMs found only a close call
        answer = Answer("Which optimizer was used?", "Possibly SGD [1].", "cited", llm, [], [1], support="weak")
        batches.store(Result(run.run_id, "d2", 0, llm, "b.pdf", answer.question, answer, False, "local", 1.0,
                             support="weak"))
    results = batches.results(run.run_id)
    cells = {(c["paper"], c["question"]): c["status"] for c in heatmap_cells(run, results)}
    assert cells[("b.pdf", "Q1")] == "weak" and cells[("a.pdf", "Q1")] == "answered"

    book = load_workbook(io.BytesIO(to_xlsx(run, results)))
    grid = [list(r) for r in book["Papers x questions"].iter_rows(values_only=True)]
    assert grid[2][1] == "weak"
    fill = book["Papers x questions"]["B3"].fill.fgColor.rgb
    assert fill.endswith(STATE_COLOURS["weak"].lstrip("#").upper())
    assert not fill.endswith(STATE_COLOURS["tie"].lstrip("#").upper())
    rows_ = [list(r) for r in book["Answers"].iter_rows(values_only=True)]
    answers = [dict(zip(rows_[0], r, strict=True)) for r in rows_[1:]]
    said = {(a["Paper"], a["Q"], a["LLM"]): (a["Answered"], a["Vote"]) for a in answers}
    assert said[("b.pdf", 1, "main")] == ("weak", "weak")
    assert said[("a.pdf", 1, "main")] == ("yes", "yes")

    report = html_report(run, results)
    assert f"background:{STATE_COLOURS['weak']}" in report and "answered: weak" in report
    assert "yellow weak" in report  # the legend names it

    mine = [r for r in results if r.doc_id == "d2" and r.q_index == 0]
    assert cell_symbol(mine).startswith(WEAK) and COLOURS[WEAK] == STATE_COLOURS["weak"]
    # The heat map's legend: weak present, and no two of its entries share a colour.
    scale = heatmap_chart(run, results, []).to_dict()["encoding"]["color"]["scale"]
    assert "weak" in scale["domain"] and len(set(scale["range"])) == len(scale["range"])
    assert set(VERDICT_COLOURS.values()).isdisjoint(STATE_COLOURS.values())
