"""Stored answers: the versioned record format, and work written before it still opening.

``data/stored_v1/work.sqlite3`` is a work database written by the assistant before stored
answers had a format of their own (a batch run of the seabird paper by the offline answerer
and a scripted LLM, two reviewers' verdicts, a chat); ``data/stored_v1/expected/`` is what
that version exported from it. Opened by today's code, it must export the same."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from assistant.database import Database
from assistant.types import Cited, Rect, Region
from assistant.work import export
from assistant.work.chats import Chats
from assistant.work.records import FORMAT, RecordFormatError, answer_from_record, answer_record
from assistant.work.review import Reviews
from assistant.work.run_store import RunStore

STORED = Path(__file__).parent / "data" / "stored_v1"
_EXPORTED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by [^\"\n,<]*")
_WRITTEN = re.compile(r"report written \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _workbook_cells(data: bytes) -> str:
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(data))
    return json.dumps({sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
                       for sheet in book.worksheets}, indent=1, ensure_ascii=False, default=str)


def exports_of(db_path: Path) -> dict[str, str]:
    """Everything a stored run and chat export, by file name, with the export's own date fixed."""
    db = Database(db_path)
    batches, reviews = RunStore(db), Reviews(db)
    run = batches.runs()[0]
    results = batches.results(run.run_id)
    verdicts, passages = reviews.verdicts(run.run_id), reviews.passage_verdicts(run.run_id)
    table = export.rows(run, results, verdicts, passages)
    chats = Chats(db)
    chat = chats.of("ana")[0]
    out = {
        "run.json": export.to_json(run, table),
        "run.csv": export.to_csv(table, run.made_with),
        "report.html": export.html_report(run, results, verdicts, passages),
        "workbook.json": _workbook_cells(export.to_xlsx(run, results, verdicts, passages)),
        "chat.json": export.chat_json(chat, chats.answers(chat.chat_id), {}),
    }
    # The export's own date, and the version that wrote it, are the only things meant to differ.
    return {name: _EXPORTED.sub("(exported)", _WRITTEN.sub("report written (now)", text)) for name, text in out.items()}


def _copy(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "work.sqlite3"
    shutil.copyfile(STORED / "work.sqlite3", path)
    return path


def test_work_stored_before_the_record_format_exports_unchanged(tmp_path):
    now = exports_of(_copy(tmp_path))
    for name, text in now.items():
        assert text == (STORED / "expected" / name).read_bytes().decode("utf-8"), name


def test_the_stored_work_is_in_the_format_before_records_had_a_number():
    with sqlite3.connect(STORED / "work.sqlite3") as db:
        stored = [json.loads(a) for (a,) in db.execute("SELECT answer FROM results UNION ALL "
                                                       "SELECT answer FROM chat_answers")]
    assert len(stored) == 7 and all("format" not in d for d in stored)


def test_answers_stored_before_are_stored_again_in_the_current_format_and_export_the_same(tmp_path):
    path = _copy(tmp_path)
    batches = RunStore(Database(path))
    run = batches.runs()[0]
    for result in batches.results(run.run_id):
        batches.store(result)
    with sqlite3.connect(path) as db:
        assert {json.loads(a)["format"] for (a,) in db.execute("SELECT answer FROM results")} == {FORMAT}
    assert exports_of(path) == exports_of(_copy(tmp_path / "again"))


def test_an_answer_comes_back_whole_from_its_record(tmp_path):
    batches = RunStore(Database(_copy(tmp_path)))
    answers = [r.answer for r in batches.results(batches.runs()[0].run_id)]
    checked = next(a for a in answers if a.claims and a.claims[0].support)
    assert checked.passages[0].highlights[0].rects, "the stored answer should carry its boxes"
    checked.passages[0].roles = [Region(0, 4, "caption")]
    checked.passages[0].cited = [Cited("footnote", "1", "See www.x.org.", 2, 10, 24)]
    checked.passages[0].focus = (3, 40)
    for answer in answers:
        assert answer_from_record(json.loads(json.dumps(answer_record(answer)))) == answer


def test_the_record_keys_are_fixed_by_the_format(tmp_path):
    """A field renamed in the dataclasses must not rename what is stored: the keys of format
    2 are these, whatever the classes call them."""
    batches = RunStore(Database(_copy(tmp_path)))
    answer = next(r.answer for r in batches.results(batches.runs()[0].run_id) if r.answer.claims)
    record = answer_record(answer)
    passage = record["passages"][0]
    highlight = passage["highlights"][0]
    claim = record["claims"][0]
    assert set(record) == {"format", "question", "text", "template", "llm", "passages", "cited",
                           "dropped_citations", "extractive", "dont_know", "prompt", "raw_output", "seconds",
                           "support", "judge_confidence", "claims"}
    assert set(passage) == {"n", "doc_id", "file_name", "title", "text", "score", "start", "end", "spans",
                            "highlights", "focus", "roles", "cited"}
    assert set(highlight) == {"text", "start", "end", "spans", "rects", "score"}
    assert set(highlight["rects"][0]) == {"page", "x0", "y0", "x1", "y1", "text"}
    assert set(highlight["spans"][0]) == {"page", "start", "end"}
    assert set(claim) == {"text", "start", "end", "status", "score", "cited", "support", "miscited", "missing"}
    assert set(claim["support"][0]) == {"passage", "start", "end", "text", "page", "score"}


def test_an_answer_stored_by_the_first_batch_version_opens_with_what_it_lacked():
    """Only the keys the first stored answers had: no judged support, layout roles, cited
    notes, box texts or checked sentences."""
    old = {"question": "Which optimizer?", "text": "SGD [1].", "template": "cited", "llm": "none",
           "cited": [1], "dropped_citations": [], "extractive": True, "dont_know": False, "prompt": "",
           "raw_output": "", "seconds": 0.5,
           "passages": [{"n": 1, "doc_id": "d", "file_name": "a.pdf", "title": "A", "text": "We used SGD.",
                         "score": 0.8, "start": 0, "end": 12, "spans": [{"page": 1, "start": 0, "end": 12}],
                         "highlights": [{"text": "We used SGD.", "start": 0, "end": 12,
                                         "spans": [{"page": 1, "start": 0, "end": 12}],
                                         "rects": [{"page": 1, "x0": 1, "y0": 2, "x1": 3, "y1": 4}]}]}]}
    answer = answer_from_record(old)
    assert answer.support == "" and answer.answered and answer.claims == [] and answer.judge_confidence is None
    passage = answer.passages[0]
    assert passage.roles == [] and passage.cited == [] and passage.focus is None
    assert passage.highlights[0].rects == [Rect(1, 1, 2, 3, 4, "")] and passage.highlights[0].score == 0.0
    assert "format" not in old, "reading a record must not change it"


def test_a_record_from_a_newer_version_or_damaged_says_so():
    with pytest.raises(RecordFormatError, match="record format 3.*newer version. Update the assistant"):
        answer_from_record({"format": FORMAT + 1, "question": "q"})
    with pytest.raises(RecordFormatError, match="to 'Which optimizer\\?' is damaged: 'template' is missing"):
        answer_from_record({"format": FORMAT, "question": "Which optimizer?", "text": "SGD"})
