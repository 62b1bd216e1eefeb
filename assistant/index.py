"""The library: PDFs stored by content hash, their chunks in Chroma, a catalog of documents.

A document becomes visible only when its catalog row is written, and that happens
last, after its file and all its chunks are stored; deletion removes the row first.
So a crash leaves at worst invisible leftovers, which the next ingestion of the same
file (or :meth:`Library.clean_leftovers`) removes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import chromadb
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from .chunking import SentenceSpanParser, document_for_parsing
from .config import Settings
from .errors import AmbiguousDocumentError, AssistantError, DocumentNotFoundError
from .pdf import PdfStore, content_hash, parse_pdf
from .types import DocumentRecord, DocumentText, IngestProgress, IngestResult

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]

_CLIENTS: dict[Path, chromadb.ClientAPI] = {}
_CLIENTS_LOCK = threading.Lock()


def chroma_client(path: Path) -> chromadb.ClientAPI:
    """One embedded Chroma client per folder and process (Chroma requires it)."""
    path = path.resolve()
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(path)
        if client is None:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(path), settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
            )
            _CLIENTS[path] = client
        return client


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
"""


class Catalog:
    """The documents that are in the library (SQLite, one short connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def add(self, record: DocumentRecord, text: DocumentText, chunking: str) -> None:
        """Make a document visible, with its text, in one transaction."""
        with closing(self._connect()) as db, db:
            self._put_text(db, text, chunking)
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc_id,
                    record.file_name,
                    record.title,
                    record.pages,
                    record.chunks,
                    record.size_bytes,
                    record.added.isoformat(),
                ),
            )

    @staticmethod
    def _put_text(db: sqlite3.Connection, text: DocumentText, chunking: str) -> None:
        db.execute(
            "INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?, ?)",
            (text.doc_id, text.text, json.dumps(text.page_starts), json.dumps(text.page_lengths), chunking),
        )

    def set_text(self, text: DocumentText, chunking: str) -> None:
        with closing(self._connect()) as db, db:
            self._put_text(db, text, chunking)

    def remove(self, doc_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM texts WHERE doc_id = ?", (doc_id,))

    def text(self, doc_id: str) -> DocumentText | None:
        """A document's text (None for libraries made before texts were kept)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT text, page_starts, page_lengths FROM texts WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        return DocumentText(
            doc_id, row["text"], tuple(json.loads(row["page_starts"])), tuple(json.loads(row["page_lengths"]))
        )

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
    )


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
        client = chroma_client(self.root / "chroma")
        self.collection = client.get_or_create_collection(
            settings.chroma.collection, metadata={"hnsw:space": "cosine"}
        )
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self.index = VectorStoreIndex.from_vector_store(self.vector_store, embed_model=embed_model)
        self.pdfs = PdfStore()
        self._ingest_lock = threading.Lock()
        self._keyword_cache: OrderedDict[tuple[str, ...], tuple[BaseRetriever, int]] = OrderedDict()
        self._keyword_lock = threading.Lock()
        self._texts: dict[str, DocumentText] = {}
        self._units: dict[str, list[StoredUnit]] = {}
        self._text_lock = threading.Lock()

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

    def ingest_file(self, path: str | Path, progress: ProgressCallback | None = None) -> IngestResult:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AssistantError(f"{path} could not be read ({exc.strerror}). Check the path and permissions.") from exc
        return self.ingest(data, path.name, progress)

    @property
    def chunking_key(self) -> str:
        """The chunk settings, as stored beside each document's text."""
        return json.dumps(self.settings.chunking.model_dump(), sort_keys=True)

    def _is_current(self, doc_id: str) -> bool:
        return self.catalog.chunking(doc_id) == self.chunking_key

    def ingest(self, data: bytes, file_name: str, progress: ProgressCallback | None = None) -> IngestResult:
        """Parse, chunk, embed and store one PDF; the same bytes twice are stored once.

        A document already stored with other chunk settings is cut and embedded anew, so
        a changed setting takes effect when its papers are added again.
        """
        started = time.perf_counter()
        name = safe_file_name(file_name)
        report = progress or (lambda p: None)
        existing = self.catalog.get(content_hash(data)) if data else None
        if existing and self._is_current(existing.doc_id):
            return IngestResult(existing, already_present=True)

        report(IngestProgress(name, "parsing"))
        parsed = parse_pdf(data, name, max_bytes=self.settings.max_file_mb * 1_000_000)
        with self._ingest_lock:
            existing = self.catalog.get(parsed.doc_id)
            if existing and self._is_current(existing.doc_id):
                return IngestResult(existing, already_present=True)
            report(IngestProgress(name, "chunking", 0, parsed.page_count))
            c = self.settings.chunking
            parser = SentenceSpanParser(chunk_size=c.size, chunk_overlap=c.overlap, method=c.method)
            source = document_for_parsing(parsed, {"doc_id": parsed.doc_id, "file_name": name})
            nodes = parser.get_nodes_from_documents([source])
            try:
                self._remove_chunks(parsed.doc_id)  # leftovers of an interrupted attempt, or a re-cut
                batch = max(1, self.settings.embedding.batch_size)
                step = batch * 4
                for i in range(0, len(nodes), step):
                    part = nodes[i : i + step]
                    report(IngestProgress(name, "embedding", i, len(nodes)))
                    vectors = self.embed_model.get_text_embedding_batch([n.get_content() for n in part])
                    for node, vector in zip(part, vectors):
                        node.embedding = vector
                report(IngestProgress(name, "storing", len(nodes), len(nodes)))
                target = self.file_path(parsed.doc_id)
                tmp = target.with_suffix(".part")
                tmp.write_bytes(data)
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
                )
                self.catalog.add(record, DocumentText.of(parsed), self.chunking_key)
            except BaseException:
                self._remove_chunks(parsed.doc_id)
                if existing is None:
                    self.file_path(parsed.doc_id).unlink(missing_ok=True)
                # A document being cut anew keeps its file and catalog row, and its old
                # chunk settings on record, so adding it again finishes the job.
                raise
        report(IngestProgress(name, "done", len(nodes), len(nodes)))
        return IngestResult(record, already_present=False, seconds=time.perf_counter() - started)

    def delete(self, doc_id: str) -> DocumentRecord:
        record = self.catalog.get(doc_id)
        if record is None:
            raise DocumentNotFoundError(f"No document {doc_id!r} in the library; nothing was deleted.")
        self.catalog.remove(doc_id)
        self._remove_chunks(doc_id)
        self.file_path(doc_id).unlink(missing_ok=True)
        return record

    def _remove_chunks(self, doc_id: str) -> None:
        self.collection.delete(where=_where([doc_id]))
        self._forget(doc_id)

    def _forget(self, doc_id: str) -> None:
        """Drop what is cached about a document whose chunks changed."""
        with self._keyword_lock:
            for scope in [s for s in self._keyword_cache if doc_id in s]:
                del self._keyword_cache[scope]
        with self._text_lock:
            self._texts.pop(doc_id, None)
            self._units.pop(doc_id, None)

    def document_text(self, doc_id: str) -> DocumentText:
        """The text a document's chunks were cut from (kept in the catalog; for a library
        made before texts were kept, parsed again from the stored PDF and kept then)."""
        with self._text_lock:
            cached = self._texts.get(doc_id)
        if cached is not None:
            return cached
        text = self.catalog.text(doc_id)
        if text is None:
            path = self.file_path(doc_id)
            text = DocumentText.of(parse_pdf(path.read_bytes(), path.name))
            # The chunks were cut before settings were recorded: mark them as unknown.
            self.catalog.set_text(text, chunking="")
        with self._text_lock:
            self._texts[doc_id] = text
            while len(self._texts) > 16:
                self._texts.pop(next(iter(self._texts)))
        return text

    def units(self, doc_id: str) -> list[StoredUnit]:
        """A document's stored chunks in text order: where each is and its node id."""
        with self._text_lock:
            cached = self._units.get(doc_id)
        if cached is not None:
            return cached
        found = self.collection.get(where=_where([doc_id]), include=["metadatas"])
        units = sorted(
            StoredUnit(int(m.get("char_start", 0)), int(m.get("char_end", 0)), node_id)
            for node_id, m in zip(found["ids"], found["metadatas"])
        )
        with self._text_lock:
            self._units[doc_id] = units
            while len(self._units) > 64:
                self._units.pop(next(iter(self._units)))
        return units

    def chunk_nodes(self, scope: Sequence[str]) -> list[TextNode]:
        """The stored chunks of the documents in ``scope``, rebuilt as LlamaIndex nodes."""
        found = self.collection.get(where=_where(scope), include=["documents", "metadatas"])
        nodes = []
        for node_id, text, meta in zip(found["ids"], found["documents"], found["metadatas"]):
            node = metadata_dict_to_node(meta, text=text)
            node.id_ = node_id
            nodes.append(node)
        return nodes

    def clean_leftovers(self) -> int:
        """Remove stored files that no catalogued document owns; returns how many."""
        known = {d.doc_id for d in self.documents()}
        removed = 0
        for path in self.files_dir.glob("*"):
            if path.stem not in known:
                self._remove_chunks(path.stem)
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def keyword_retriever(self, scope: tuple[str, ...], k: int) -> BaseRetriever:
        """BM25 over the chunks of the documents in ``scope``, kept for the scopes used last.

        A cached index stays valid until one of its documents is cut anew or deleted
        (see ``_forget``); only ``k`` is set anew.
        """
        from llama_index.retrievers.bm25 import BM25Retriever

        with self._keyword_lock:
            entry = self._keyword_cache.get(scope)
            if entry is None:
                logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
                nodes = self.chunk_nodes(scope)
                entry = (BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(k, len(nodes))), len(nodes))
                self._keyword_cache[scope] = entry
                while len(self._keyword_cache) > 32:
                    self._keyword_cache.popitem(last=False)
            self._keyword_cache.move_to_end(scope)
            retriever, size = entry
            retriever.similarity_top_k = min(k, size)  # BM25 cannot return more chunks than it holds
            return retriever

    def chunk_count(self, doc_ids: Iterable[str] | None = None) -> int:
        if doc_ids is None:
            return self.collection.count()
        return sum(len(self.collection.get(where=_where([d]), include=[])["ids"]) for d in doc_ids)
