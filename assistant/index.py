"""The library: PDFs stored by content hash, their chunks in Chroma, a catalog of documents.

A document becomes visible only when its catalog row is written, and that happens
last, after its file and all its chunks are stored; deletion removes the row first.
So a crash leaves at worst invisible leftovers, which the next ingestion of the same
file (or :meth:`Library.clean_leftovers`) removes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

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
from .types import DocumentRecord, IngestProgress, IngestResult

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

    def add(self, record: DocumentRecord) -> None:
        with closing(self._connect()) as db, db:
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

    def remove(self, doc_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

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

    def ingest(self, data: bytes, file_name: str, progress: ProgressCallback | None = None) -> IngestResult:
        """Parse, chunk, embed and store one PDF; the same bytes twice are stored once."""
        started = time.perf_counter()
        name = safe_file_name(file_name)
        report = progress or (lambda p: None)
        existing = self.catalog.get(content_hash(data)) if data else None
        if existing:
            return IngestResult(existing, already_present=True)

        report(IngestProgress(name, "parsing"))
        parsed = parse_pdf(data, name, max_bytes=self.settings.max_file_mb * 1_000_000)
        with self._ingest_lock:
            if existing := self.catalog.get(parsed.doc_id):
                return IngestResult(existing, already_present=True)
            report(IngestProgress(name, "chunking", 0, parsed.page_count))
            c = self.settings.chunking
            parser = SentenceSpanParser(chunk_size=c.size, chunk_overlap=c.overlap, method=c.method)
            source = document_for_parsing(parsed, {"doc_id": parsed.doc_id, "file_name": name})
            nodes = parser.get_nodes_from_documents([source])
            try:
                self._remove_chunks(parsed.doc_id)  # leftovers of an interrupted attempt
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
                    file_name=name,
                    title=parsed.title,
                    pages=parsed.page_count,
                    chunks=len(nodes),
                    added=datetime.now(UTC),
                    size_bytes=parsed.size_bytes,
                )
                self.catalog.add(record)
            except BaseException:
                self._remove_chunks(parsed.doc_id)
                self.file_path(parsed.doc_id).unlink(missing_ok=True)
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

        A document's chunks never change (its id is its content hash), so a cached
        index stays valid; only ``k`` is set anew.
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
