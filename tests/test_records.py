"""Stored answers: the versioned record format, and work written before it still opening.

``data/stored_v1/work.sqlite3`` is a work database written by the assistant before stored
answers had a format of their own (a batch run of the seabird paper by the offline answerer
and a scripted LLM, two reviewers' verdicts, a chat); ``data/stored_v1/expected/`` is what
that version exported from it. Opened by today's code, it must export the same."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from assistant import export
from assistant.batch import Batches
from assistant.chats import Chats
from assistant.database import Database
from assistant.review import Reviews

STORED = Path(__file__).parent / "data" / "stored_v1"
_EXPORTED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by [^\"\n,<]*")
_WRITTEN = re.compile(r"report written \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _workbook_cells(data: bytes) -> str:
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(data))
    return json.dumps({sheet.title: [[c for c in row] for row in sheet.iter_rows(values_only=True)]
                       for sheet in book.worksheets}, indent=1, ensure_ascii=False, default=str)


def exports_of(db_path: Path) -> dict[str, str]:
    """Everything a stored run and chat export, by file name, with the export's own date fixed."""
    db = Database(db_path)
    batches, reviews = Batches(db), Reviews(db)
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
    path = tmp_path / "work.sqlite3"
    shutil.copyfile(STORED / "work.sqlite3", path)
    return path


def test_work_stored_before_the_record_format_exports_unchanged(tmp_path):
    now = exports_of(_copy(tmp_path))
    for name, text in now.items():
        assert text == (STORED / "expected" / name).read_bytes().decode("utf-8"), name
