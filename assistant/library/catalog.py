"""The catalog of a library: which documents are in it, their text and layout, the
current cut of each document's chunks, and the intent log of unfinished writes (SQLite,
one short connection per call, so any number of threads and processes can use it)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from ..types import DocumentRecord, DocumentText, Region

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    title TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    added TEXT NOT NULL
);
-- The parsed text of each document (passage windows are cut from it), and the chunk
-- settings its stored chunks were cut with.
CREATE TABLE IF NOT EXISTS texts (
    doc_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    page_lengths TEXT NOT NULL,
    chunking TEXT NOT NULL
);
-- Word boxes of the pages whose text is not the PDF's own (read by OCR, or left out).
CREATE TABLE IF NOT EXISTS page_layers (
    doc_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    layer BLOB NOT NULL,
    PRIMARY KEY (doc_id, page)
);
-- Facts about the library itself: its id names its collection on a shared Chroma server.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- A MinHash of each document's text, to name a paper saved twice (see duplicates.py).
CREATE TABLE IF NOT EXISTS fingerprints (
    doc_id TEXT PRIMARY KEY,
    minhash BLOB NOT NULL
);
-- Chunks being written (or a document being deleted): what to remove after a crash.
CREATE TABLE IF NOT EXISTS pending (
    doc_id TEXT NOT NULL,
    cut TEXT NOT NULL,
    started TEXT NOT NULL,
    owner INTEGER NOT NULL,  -- process id doing it: leftovers of a live process are not leftovers
    PRIMARY KEY (doc_id, cut)
);
"""

# Columns added to ``documents`` after the first release, with their default for old rows.
_ADDED_COLUMNS = {
    "ocr_pages": "INTEGER NOT NULL DEFAULT 0",
    "notes": "TEXT NOT NULL DEFAULT '[]'",
    "cut": "TEXT NOT NULL DEFAULT ''",  # '' = chunks stored before cuts had ids
}
# Columns added to ``texts`` later: NULL regions = a document whose layout was not analysed yet.
_ADDED_TEXT_COLUMNS = {"regions": "TEXT"}
DELETING = "*"  # the cut recorded in ``pending`` while a document is being deleted


def _add_column(db: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    """Add a column a file made by an older version lacks. Two openers of a new library at
    once (the app's first page and its loading thread, two processes) may both find it
    missing: the second to add it finds it there, which is what it wanted."""
    try:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    except sqlite3.OperationalError as exc:
        if "duplicate column name" not in str(exc):
            raise


FILE_NAME = "catalog.sqlite3"


class Catalog:
    """The documents that are in the library (SQLite, one short connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = threading.local()  # per thread: its connection for generation()
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
            for table, added in (("documents", _ADDED_COLUMNS), ("texts", _ADDED_TEXT_COLUMNS)):
                have = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                for column, kind in added.items():
                    if column not in have:
                        _add_column(db, table, column, kind)

    @classmethod
    def in_folder(cls, data_dir: Path) -> Catalog:
        return cls(data_dir / FILE_NAME)

    def library_id(self) -> str:
        """This library's id, made once: the same for every process that opens the folder."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('library_id', ?)", (uuid.uuid4().hex,))
            return db.execute("SELECT value FROM meta WHERE key = 'library_id'").fetchone()["value"]

    def generation(self) -> int:
        """How many times the library's chunks were written to (by any process): a process
        whose view of the store is of an older generation must look again.

        Asked before every read of a paper's text (a hundred times a question), so read on a
        connection the thread keeps: opening one cost more than the reading. Outside a
        transaction each read sees what any process has committed."""
        db = getattr(self._reader, "db", None)
        if db is None:
            db = self._reader.db = self._connect()
        row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row["value"]) if row else 0

    def bump(self) -> int:
        """Note that the chunks were written to; returns the new generation."""
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('generation', '1') "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
            return int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()["value"])

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def add(
        self, record: DocumentRecord, text: DocumentText, chunking: str, cut: str, layers: Mapping[int, bytes],
        fingerprint: bytes | None = None,
    ) -> str | None:
        """Make a document visible, with its text and its chunks of ``cut``, in one
        transaction; returns the cut it replaces (whose chunks are now to be removed)."""
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT cut FROM documents WHERE doc_id = ?", (record.doc_id,)).fetchone()
            old = row["cut"] if row else None
            self._put_text(db, text, chunking)
            db.execute("DELETE FROM page_layers WHERE doc_id = ?", (record.doc_id,))
            db.executemany(
                "INSERT INTO page_layers VALUES (?, ?, ?)", [(record.doc_id, p, blob) for p, blob in layers.items()]
            )
            if fingerprint is not None:
                db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?)", (record.doc_id, fingerprint))
            db.execute(
                "INSERT OR REPLACE INTO documents (doc_id, file_name, title, pages, chunks, size_bytes, added, "
                "ocr_pages, notes, cut) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc_id,
                    record.file_name,
                    record.title,
                    record.pages,
                    record.chunks,
                    record.size_bytes,
                    record.added.isoformat(),
                    record.ocr_pages,
                    json.dumps(list(record.notes)),
                    cut,
                ),
            )
            db.execute("DELETE FROM pending WHERE doc_id = ? AND cut = ?", (record.doc_id, cut))
            if old is not None and old != cut:
                # The replaced chunks become leftovers to remove, even if we die right now.
                db.execute(
                    "INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (record.doc_id, old, _now(), os.getpid())
                )
        return old if old != cut else None

    def begin(self, doc_id: str, cut: str) -> None:
        """Note that chunks of ``cut`` are about to be written (or, with DELETING, removed)."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (doc_id, cut, _now(), os.getpid()))

    def finish(self, doc_id: str, cut: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM pending WHERE doc_id = ? AND cut = ?", (doc_id, cut))

    def pending(self) -> list[tuple[str, str, int]]:
        """(document, cut, owner process) of the writes and deletions not finished."""
        with closing(self._connect()) as db:
            return [(r["doc_id"], r["cut"], r["owner"]) for r in db.execute("SELECT doc_id, cut, owner FROM pending")]

    def cuts(self) -> dict[str, str]:
        """The current cut of every catalogued document."""
        with closing(self._connect()) as db:
            return {r["doc_id"]: r["cut"] for r in db.execute("SELECT doc_id, cut FROM documents")}

    def layer(self, doc_id: str, page: int) -> bytes | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT layer FROM page_layers WHERE doc_id = ? AND page = ?", (doc_id, page)
            ).fetchone()
        return row["layer"] if row else None

    @staticmethod
    def _put_text(db: sqlite3.Connection, text: DocumentText, chunking: str, analysed: bool = True) -> None:
        db.execute(
            "INSERT OR REPLACE INTO texts (doc_id, text, page_starts, page_lengths, chunking, regions) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (text.doc_id, text.text, json.dumps(text.page_starts), json.dumps(text.page_lengths), chunking,
             _regions_json(text.regions) if analysed else None),
        )

    def set_text(self, text: DocumentText, chunking: str, analysed: bool = True) -> None:
        with closing(self._connect()) as db, db:
            self._put_text(db, text, chunking, analysed)

    def set_regions(self, doc_id: str, regions: Sequence[Region]) -> None:
        """Keep the layout of a document stored before layouts were analysed."""
        with closing(self._connect()) as db, db:
            db.execute("UPDATE texts SET regions = ? WHERE doc_id = ?", (_regions_json(regions), doc_id))

    def remove(self, doc_id: str) -> None:
        """Hide a document and note that its chunks and file are to be removed."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM texts WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM page_layers WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM fingerprints WHERE doc_id = ?", (doc_id,))
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (doc_id, DELETING, _now(), os.getpid()))

    def fingerprints(self) -> dict[str, bytes]:
        """The text signature of every catalogued document that has one."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT f.doc_id, f.minhash FROM fingerprints f JOIN documents d ON d.doc_id = f.doc_id"
            ).fetchall()
        return {r["doc_id"]: r["minhash"] for r in rows}

    def set_fingerprint(self, doc_id: str, fingerprint: bytes) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?)", (doc_id, fingerprint))

    def count(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def text(self, doc_id: str) -> tuple[DocumentText, bool] | None:
        """A document's text, and whether its layout was analysed (None for libraries made
        before texts were kept)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT text, page_starts, page_lengths, regions FROM texts WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        regions = tuple(Region(int(s), int(e), str(r)) for s, e, r in json.loads(row["regions"] or "[]"))
        text = DocumentText(
            doc_id, row["text"], tuple(json.loads(row["page_starts"])), tuple(json.loads(row["page_lengths"])), regions
        )
        return text, row["regions"] is not None

    def chunking(self, doc_id: str) -> str | None:
        """The chunk settings a document's chunks were cut with ("" when unknown, None when no text is kept)."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT chunking FROM texts WHERE doc_id = ?", (doc_id,)).fetchone()
        return row["chunking"] if row else None

    def get(self, doc_id: str) -> DocumentRecord | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return _record(row) if row else None

    def all(self) -> list[DocumentRecord]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM documents ORDER BY added, file_name").fetchall()
        return [_record(r) for r in rows]


def _record(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        doc_id=row["doc_id"],
        file_name=row["file_name"],
        title=row["title"],
        pages=row["pages"],
        chunks=row["chunks"],
        added=datetime.fromisoformat(row["added"]),
        size_bytes=row["size_bytes"],
        ocr_pages=row["ocr_pages"],
        notes=tuple(json.loads(row["notes"] or "[]")),
        cut=row["cut"],
    )


def _regions_json(regions: Sequence[Region]) -> str:
    return json.dumps([[r.start, r.end, r.role] for r in regions])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
