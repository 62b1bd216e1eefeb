"""The library: PDFs stored by content hash, their chunks in Chroma, a catalog of documents.

Adding a document is all or nothing. Its chunks are stored under a fresh *cut* id,
written down first in an intent log (``pending``); the catalog row that makes the
document visible, naming that cut, is written last, in the same transaction that clears
the log entry. Retrieval only sees the chunks of catalogued cuts. A process killed at
any point leaves at worst invisible leftovers listed in the log, which the next start
(:meth:`Library.clean_leftovers`) removes. A document cut anew keeps answering from its
old chunks until the new ones are complete; deletion hides the row first.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from . import layout
from .chunking import SentenceSpanParser, document_for_parsing
from .config import Settings
from .errors import AmbiguousDocumentError, AssistantError, DocumentNotFoundError
from .pdf import PageGeometry, PdfStore, ReadOptions, content_hash, parse_pdf
from .search import EMBEDDED_TEXT, ScopeIndex, embedding_text
from .sentences import SPLITTER
from .types import DocumentRecord, DocumentText, IngestProgress, IngestResult, Region
from .vectorstore import open_store

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]

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


class Catalog:
    """The documents that are in the library (SQLite, one short connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
            have = {row["name"] for row in db.execute("PRAGMA table_info(documents)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE documents ADD COLUMN {column} {kind}")
            have = {row["name"] for row in db.execute("PRAGMA table_info(texts)")}
            for column, kind in _ADDED_TEXT_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE texts ADD COLUMN {column} {kind}")

    def library_id(self) -> str:
        """This library's id, made once: the same for every process that opens the folder."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('library_id', ?)", (uuid.uuid4().hex,))
            return db.execute("SELECT value FROM meta WHERE key = 'library_id'").fetchone()["value"]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def add(
        self, record: DocumentRecord, text: DocumentText, chunking: str, cut: str, layers: Mapping[int, bytes]
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
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (doc_id, DELETING, _now(), os.getpid()))

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


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running (the pending work it noted may still finish)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def safe_file_name(name: str) -> str:
    """The last path component of an uploaded name, without control characters.

    Only for showing: stored files are named by content hash, never by this name.
    """
    base = Path(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base if base.strip(".") else "document.pdf"


class StoredUnit(NamedTuple):
    """One stored chunk: its span of the document text and its node id."""

    start: int
    end: int
    node_id: str


def _where(doc_ids: Sequence[str]) -> dict:
    """Chroma's filter for the chunks of these documents."""
    return {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}


class Library:
    """Add, list, find and delete documents; give retrieval its LlamaIndex index."""

    def __init__(self, settings: Settings, embed_model: BaseEmbedding) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.root = settings.data_dir
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.root / "catalog.sqlite3")
        self.store = open_store(settings, self.catalog.library_id())
        self.collection = self.store.collection
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self.index = VectorStoreIndex.from_vector_store(self.vector_store, embed_model=embed_model)
        self.pdfs = PdfStore(layers=self._layer)
        self._ingest_lock = threading.Lock()
        self._scopes: OrderedDict[tuple[tuple[str, ...], bool], ScopeIndex] = OrderedDict()
        self._scope_lock = threading.Lock()
        self._texts: dict[str, DocumentText] = {}
        self._units: dict[str, list[StoredUnit]] = {}
        self._text_lock = threading.Lock()
        self.clean_leftovers()

    # --- documents -----------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        return self.catalog.all()

    def file_path(self, doc_id: str) -> Path:
        return self.files_dir / f"{doc_id}.pdf"

    def resolve(self, ref: str) -> DocumentRecord:
        """A document by id, unique id prefix, or file name."""
        docs = self.documents()
        exact = [d for d in docs if d.doc_id == ref or d.file_name == ref]
        if len(exact) == 1:
            return exact[0]
        matches = exact or ([d for d in docs if d.doc_id.startswith(ref)] if ref else [])
        if not matches:
            raise DocumentNotFoundError(
                f"No document {ref!r} in the library. List them with `python -m assistant list`."
            )
        if len(matches) > 1:
            names = ", ".join(f"{d.doc_id} ({d.file_name})" for d in matches)
            raise AmbiguousDocumentError(f"{ref!r} matches several documents: {names}. Give more of the id.")
        return matches[0]

    def ingest_file(
        self, path: str | Path, progress: ProgressCallback | None = None, password: str | None = None
    ) -> IngestResult:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AssistantError(f"{path} could not be read ({exc.strerror}). Check the path and permissions.") from exc
        return self.ingest(data, path.name, progress, password=password)

    @property
    def chunking_key(self) -> str:
        """The chunk settings (and the form of text embedded), as stored beside each document's text."""
        return json.dumps({**self.settings.chunking.model_dump(), "embedded": EMBEDDED_TEXT, "splitter": SPLITTER,
                           "layout": layout.LAYOUT}, sort_keys=True)

    def read_options(self, password: str | None = None) -> ReadOptions:
        pdf = self.settings.pdf
        return ReadOptions(
            max_bytes=self.settings.max_file_mb * 1_000_000,
            max_pages=pdf.max_pages,
            ocr=pdf.ocr,
            ocr_language=pdf.ocr_language,
            ocr_dpi=pdf.ocr_dpi,
            password=password,
        )

    def _is_current(self, doc_id: str) -> bool:
        return self.catalog.chunking(doc_id) == self.chunking_key

    def ingest(
        self,
        data: bytes,
        file_name: str,
        progress: ProgressCallback | None = None,
        password: str | None = None,
    ) -> IngestResult:
        """Parse, chunk, embed and store one PDF; the same bytes twice are stored once.

        ``password`` opens a protected file; it is used for this reading only. A document
        already stored with other chunk settings is cut and embedded anew (its old chunks
        answer until the new ones are complete), so a changed setting takes effect when
        its papers are added again.
        """
        started = time.perf_counter()
        name = safe_file_name(file_name)
        report = progress or (lambda p: None)
        existing = self.catalog.get(content_hash(data)) if data else None
        if existing and self._is_current(existing.doc_id):
            return IngestResult(existing, already_present=True)

        report(IngestProgress(name, "reading", 0, 0))
        parsed = parse_pdf(
            data,
            name,
            self.read_options(password),
            progress=lambda stage, done, total: report(IngestProgress(name, stage, done, total)),
        )
        with self._ingest_lock, self.store.reaching():
            existing = self.catalog.get(parsed.doc_id)
            if existing and self._is_current(existing.doc_id):
                return IngestResult(existing, already_present=True)
            report(IngestProgress(name, "chunking", 0, parsed.page_count))
            c = self.settings.chunking
            parser = SentenceSpanParser(chunk_size=c.size, chunk_overlap=c.overlap, method=c.method)
            # Chunks are cut from the text as read: running heads, the reference list and the
            # author block are blanks there, so no chunk holds them (same offsets as the PDF's text).
            source = document_for_parsing(parsed, {"doc_id": parsed.doc_id, "file_name": name},
                                          DocumentText.of(parsed).reading)
            nodes = parser.get_nodes_from_documents([source])
            cut = uuid.uuid4().hex[:12]
            for n, node in enumerate(nodes):
                node.id_ = f"{parsed.doc_id}:{cut}:{n}"
                node.metadata["cut"] = cut
            target = self.file_path(parsed.doc_id)
            tmp = target.with_name(f"{target.stem}.{cut}.part")
            self.catalog.begin(parsed.doc_id, cut)
            try:
                batch = max(1, self.settings.embedding.batch_size)
                step = batch * 4
                for i in range(0, len(nodes), step):
                    part = nodes[i : i + step]
                    report(IngestProgress(name, "embedding", i, len(nodes)))
                    vectors = self.embed_model.get_text_embedding_batch([embedding_text(n.get_content()) for n in part])
                    for node, vector in zip(part, vectors):
                        node.embedding = vector
                report(IngestProgress(name, "storing", len(nodes), len(nodes)))
                tmp.write_bytes(parsed.pdf_bytes or data)
                tmp.replace(target)
                for i in range(0, len(nodes), 1000):
                    self.vector_store.add(nodes[i : i + 1000])
                record = DocumentRecord(
                    doc_id=parsed.doc_id,
                    file_name=existing.file_name if existing else name,
                    title=parsed.title,
                    pages=parsed.page_count,
                    chunks=len(nodes),
                    added=existing.added if existing else datetime.now(UTC),
                    size_bytes=parsed.size_bytes,
                    ocr_pages=len(parsed.ocr_pages),
                    notes=parsed.notes,
                )
                layers = {page: g.to_bytes() for page, g in parsed.layers.items()}
                replaced = self.catalog.add(record, DocumentText.of(parsed), self.chunking_key, cut, layers)
            except BaseException:
                tmp.unlink(missing_ok=True)
                if self.catalog.get(parsed.doc_id) is None:
                    target.unlink(missing_ok=True)
                try:
                    self._remove_chunks(parsed.doc_id, cut)
                except Exception:  # a store that stopped answering: the log keeps the cut for the next start
                    log.warning("chunks of %s (cut %s) left for the next start to remove", parsed.doc_id, cut)
                else:
                    self.catalog.finish(parsed.doc_id, cut)
                raise
            self.pdfs.forget(target)
            if replaced is not None:
                self._remove_chunks(parsed.doc_id, replaced)
                self.catalog.finish(parsed.doc_id, replaced)
            self._forget(parsed.doc_id)
        report(IngestProgress(name, "done", len(nodes), len(nodes)))
        return IngestResult(record, already_present=False, seconds=time.perf_counter() - started)

    def delete(self, doc_id: str) -> DocumentRecord:
        record = self.catalog.get(doc_id)
        if record is None:
            raise DocumentNotFoundError(f"No document {doc_id!r} in the library; nothing was deleted.")
        self.catalog.remove(doc_id)
        with self.store.reaching():  # on failure the intent log has it: removed at the next start
            self._remove_chunks(doc_id)
        self.file_path(doc_id).unlink(missing_ok=True)
        self.pdfs.forget(self.file_path(doc_id))
        self.catalog.finish(doc_id, DELETING)
        return record

    def _remove_chunks(self, doc_id: str, cut: str | None = None) -> None:
        """Remove a document's chunks: all of them, or those of one cut ('' = stored before cuts)."""
        if cut is None or cut == DELETING:
            self.collection.delete(where=_where([doc_id]))
        else:
            found = self.collection.get(where=_where([doc_id]), include=["metadatas"])
            ids = [i for i, m in zip(found["ids"], found["metadatas"]) if (m or {}).get("cut", "") == cut]
            for i in range(0, len(ids), 1000):
                self.collection.delete(ids=ids[i : i + 1000])
        self._forget(doc_id)

    def _forget(self, doc_id: str) -> None:
        """Drop what is cached about a document whose chunks changed."""
        with self._scope_lock:
            for key in [key for key in self._scopes if doc_id in key[0]]:
                del self._scopes[key]
        with self._text_lock:
            self._texts.pop(doc_id, None)
            self._units.pop(doc_id, None)

    def _layer(self, path: Path, page: int) -> PageGeometry | None:
        """The stored word boxes of a page whose text is not the PDF's own (OCR)."""
        blob = self.catalog.layer(path.stem, page)
        return PageGeometry.from_bytes(blob) if blob is not None else None

    def document_text(self, doc_id: str) -> DocumentText:
        """The text a document's chunks were cut from (kept in the catalog; for a library
        made before texts were kept, parsed again from the stored PDF and kept then)."""
        with self._text_lock:
            cached = self._texts.get(doc_id)
        if cached is not None:
            return cached
        stored = self.catalog.text(doc_id)
        if stored is None:
            path = self.file_path(doc_id)
            text = DocumentText.of(parse_pdf(path.read_bytes(), path.name, ReadOptions(ocr=False)))
            # The chunks were cut before settings were recorded: mark them as unknown.
            self.catalog.set_text(text, chunking="")
        else:
            text, analysed = stored
            if not analysed:
                text = self._analyse(text)
        with self._text_lock:
            self._texts[doc_id] = text
            while len(self._texts) > 16:
                self._texts.pop(next(iter(self._texts)))
        return text

    def _analyse(self, text: DocumentText) -> DocumentText:
        """The layout of a document stored before layouts were analysed, read from its
        stored PDF (and OCR layers) and kept. Its chunks stay as they were cut until it is
        added again."""
        path = self.file_path(text.doc_id)
        pages = [layout.PageLines.of(self.pdfs.geometry(path, n), ocr=self.catalog.layer(text.doc_id, n) is not None)
                 for n in range(1, len(text.page_starts) + 1)]
        regions = tuple(layout.document_regions(layout.analyse(pages), text.page_starts))
        self.catalog.set_regions(text.doc_id, regions)
        return DocumentText(text.doc_id, text.text, text.page_starts, text.page_lengths, regions)

    def units(self, doc_id: str) -> list[StoredUnit]:
        """A document's stored chunks in text order: where each is and its node id."""
        with self._text_lock:
            cached = self._units.get(doc_id)
        if cached is not None:
            return cached
        found = self.collection.get(where=_where([doc_id]), include=["metadatas"])
        record = self.catalog.get(doc_id)
        cut = record.cut if record else ""
        units = sorted(
            StoredUnit(int(m.get("char_start", 0)), int(m.get("char_end", 0)), node_id)
            for node_id, m in zip(found["ids"], found["metadatas"])
            if m.get("cut", "") == cut
        )
        with self._text_lock:
            self._units[doc_id] = units
            while len(self._units) > 64:
                self._units.pop(next(iter(self._units)))
        return units

    def _current_nodes(self, found: Mapping) -> tuple[list[TextNode], list[int]]:
        """The chunks of a Chroma ``get`` that answer for their documents now, as nodes,
        with their positions in ``found``."""
        cuts = self.catalog.cuts()
        nodes, kept = [], []
        for i, (node_id, text, meta) in enumerate(zip(found["ids"], found["documents"], found["metadatas"])):
            if meta.get("cut", "") != cuts.get(meta.get("doc_id", "")):
                continue  # chunks of an unfinished or replaced cut
            node = metadata_dict_to_node(meta, text=text)
            node.id_ = node_id
            nodes.append(node)
            kept.append(i)
        return nodes, kept

    def scope_index(self, scope: tuple[str, ...], vectors: bool) -> ScopeIndex:
        """The chunks of ``scope`` made searchable (BM25, and with ``vectors`` their unit
        vectors in memory), kept for the scopes used last until one of their documents
        is cut anew or deleted (see ``_forget``).

        Searching a few papers exactly in memory beats a filtered query to the vector
        store, which grows with the whole collection (measured: ~80 ms at 100k chunks).
        """
        key = (scope, vectors)
        with self._scope_lock:
            entry = self._scopes.get(key)
            if entry is None:
                include = ["documents", "metadatas", "embeddings"] if vectors else ["documents", "metadatas"]
                found = self.collection.get(where=_where(scope), include=include)
                nodes, kept = self._current_nodes(found)
                embeddings = np.asarray(found["embeddings"])[kept] if vectors and nodes else None
                entry = ScopeIndex.build(nodes, embeddings, self._pointed)
                self._scopes[key] = entry
                while len(self._scopes) > 8:
                    self._scopes.popitem(last=False)
            self._scopes.move_to_end(key)
            return entry

    def _pointed(self, node: TextNode) -> str:
        """The footnotes and linked references a chunk points to, as text."""
        meta = node.metadata
        text = self.document_text(meta.get("doc_id", ""))
        start, end = int(meta.get("char_start", 0)), int(meta.get("char_end", 0))
        return " ".join(c.text for c in layout.cited_in(text, start, end))

    def clean_leftovers(self) -> int:
        """Remove what interrupted additions and deletions left behind: chunks of cuts that
        never became current, files no catalogued document owns. Work of a process still
        running is left alone. Returns how many leftovers were removed."""
        cuts = self.catalog.cuts()
        busy: set[str] = set()
        removed = 0
        for doc_id, cut, owner in self.catalog.pending():
            if _alive(owner):
                busy.add(doc_id)
                continue
            if cut != cuts.get(doc_id):  # never the chunks that answer now
                self._remove_chunks(doc_id, None if cut == DELETING and doc_id not in cuts else cut)
                removed += 1
            self.catalog.finish(doc_id, cut)
        for path in self.files_dir.glob("*"):
            doc_id = path.name.split(".")[0]
            if doc_id not in busy and (doc_id not in cuts or path.suffix == ".part"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def chunk_count(self, doc_ids: Iterable[str] | None = None) -> int:
        if doc_ids is None:
            return self.collection.count()
        return sum(len(self.collection.get(where=_where([d]), include=[])["ids"]) for d in doc_ids)
