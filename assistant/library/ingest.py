"""Adding a document to the library: read, cut into chunks, embed, store; all or nothing.

Its chunks are stored under a fresh *cut* id, written down first in the catalog's intent
log (``pending``); the catalog row that makes the document visible, naming that cut, is
written last, in the same transaction that clears the log entry (see
:mod:`assistant.library.library` for what a crash leaves and who cleans it). Reading and
embedding, the slow parts, hold nothing: other processes read and write meanwhile; only
storing takes the library's write lock, and whoever waits for it says so.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode

from ..config import Settings
from ..errors import AssistantError
from ..pdf import layout
from ..pdf.pages import PdfStore
from ..pdf.reader import ReadOptions, content_hash, parse_pdf
from ..text.sentences import SPLITTER
from ..types import DocumentRecord, DocumentText, IngestProgress, IngestResult, ParsedDocument
from . import duplicates
from .catalog import DELETING, Catalog
from .chunking import EMBEDDED_TEXT, SentenceSpanParser, document_for_parsing, embedding_text
from .chunks import ChunkStore
from .files import safe_file_name
from .keywords import KeywordStore

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class Ingester:
    """Adds documents to a library's parts. ``changed(doc_id)`` is told whenever a
    document's chunks were added or removed, so whoever caches them drops them."""

    settings: Settings
    embed_model: BaseEmbedding
    catalog: Catalog
    chunks: ChunkStore
    pdfs: PdfStore
    file_path: Callable[[str], Path]
    changed: Callable[[str], None]
    keywords: KeywordStore

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

    def is_current(self, doc_id: str) -> bool:
        return self.catalog.chunking(doc_id) == self.chunking_key

    def known(self, data: bytes) -> DocumentRecord | None:
        """The stored document these exact bytes are, when it is stored with today's settings
        (then there is nothing to read)."""
        existing = self.catalog.get(content_hash(data)) if data else None
        return existing if existing and self.is_current(existing.doc_id) else None

    def ingest_file(
        self, path: str | Path, progress: ProgressCallback | None = None, password: str | None = None
    ) -> IngestResult:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AssistantError(f"{path} could not be read ({exc.strerror}). Check the path and permissions.") from exc
        return self.ingest(data, path.name, progress, password=password)

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
        existing = self.known(data)
        if existing:
            return IngestResult(existing, already_present=True)
        report(IngestProgress(name, "reading", 0, 0))
        parsed = parse_pdf(
            data,
            name,
            self.read_options(password),
            progress=lambda stage, done, total: report(IngestProgress(name, stage, done, total)),
        )
        result = self.add_read(parsed, data, progress)
        return replace(result, seconds=time.perf_counter() - started) if not result.already_present else result

    def add_read(self, parsed: ParsedDocument, data: bytes, progress: ProgressCallback | None = None) -> IngestResult:
        """Chunk, embed and store a document already read (here, or by a worker process:
        see :mod:`.imports`); ``data`` is the file it was read from."""
        started = time.perf_counter()
        name = parsed.file_name
        report = progress or (lambda p: None)
        existing = self.catalog.get(parsed.doc_id)  # a decrypted or repaired file has its own id
        if existing and self.is_current(existing.doc_id):
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
        # Embedding, the slow part, holds nothing: other processes read and write meanwhile.
        batch = max(1, self.settings.embedding.batch_size)
        step = batch * 4
        for i in range(0, len(nodes), step):
            part = nodes[i : i + step]
            report(IngestProgress(name, "embedding", i, len(nodes)))
            vectors = self.embed_model.get_text_embedding_batch([embedding_text(n.get_content()) for n in part])
            for node, vector in zip(part, vectors):
                node.embedding = vector
        signature = duplicates.fingerprint(parsed.text)
        like = self._most_alike(signature, parsed.doc_id)

        def waiting(seconds: float, holder: str) -> None:
            report(IngestProgress(name, "waiting", int(seconds), int(self.chunks.lock.timeout),
                                  f"waiting {seconds:.0f} s for {holder} to finish writing to the library"))

        with self.chunks.writing(f"adding {name}", waiting):
            existing = self.catalog.get(parsed.doc_id)  # added by another process meanwhile?
            if existing and self.is_current(existing.doc_id):
                return IngestResult(existing, already_present=True)
            record = self._store(parsed, name, data, nodes, cut, existing, report, signature)
        report(IngestProgress(name, "done", len(nodes), len(nodes)))
        return IngestResult(record, already_present=False, seconds=time.perf_counter() - started,
                            like=like[0] if like else None, likeness=like[1] if like else 0.0)

    def _most_alike(self, signature: bytes, doc_id: str) -> tuple[DocumentRecord, float] | None:
        """The stored document with nearly the text of a new one (documents stored before
        signatures were kept get theirs now, from their stored text)."""
        stored = self.catalog.fingerprints()
        for other in self.catalog.cuts():
            if other not in stored and other != doc_id:
                kept = self.catalog.text(other)
                if kept is not None:
                    stored[other] = duplicates.fingerprint(kept[0].text)
                    self.catalog.set_fingerprint(other, stored[other])
        stored.pop(doc_id, None)
        found = duplicates.most_alike(signature, stored)
        if found is None:
            return None
        record = self.catalog.get(found[0])
        return (record, found[1]) if record else None

    def _store(self, parsed: ParsedDocument, name: str, data: bytes, nodes: list[TextNode], cut: str,
               existing: DocumentRecord | None, report: ProgressCallback, signature: bytes) -> DocumentRecord:
        """Write an embedded document: file, chunks, then the catalog row that makes it
        visible (all or nothing: see the module's docstring). Inside ``chunks.writing``."""
        target = self.file_path(parsed.doc_id)
        tmp = target.with_name(f"{target.stem}.{cut}.part")
        self.catalog.begin(parsed.doc_id, cut)
        try:
            report(IngestProgress(name, "storing", len(nodes), len(nodes)))
            tmp.write_bytes(parsed.pdf_bytes or data)
            tmp.replace(target)
            self.chunks.add(nodes)
            self.keywords.add(parsed.doc_id, cut, ((n.node_id, n.get_content()) for n in nodes))
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
            replaced = self.catalog.add(record, DocumentText.of(parsed), self.chunking_key, cut, layers, signature)
        except BaseException:
            tmp.unlink(missing_ok=True)
            if self.catalog.get(parsed.doc_id) is None:
                target.unlink(missing_ok=True)
            try:
                self.remove_chunks(parsed.doc_id, cut)
            except Exception:  # a store that stopped answering: the log keeps the cut for the next start
                log.warning("chunks of %s (cut %s) left for the next start to remove", parsed.doc_id, cut)
            else:
                self.catalog.finish(parsed.doc_id, cut)
            raise
        self.pdfs.forget(target)
        if replaced is not None:
            self.remove_chunks(parsed.doc_id, replaced)
            self.catalog.finish(parsed.doc_id, replaced)
        self.changed(parsed.doc_id)
        return record

    def remove_chunks(self, doc_id: str, cut: str | None = None) -> None:
        """A document's chunks of one cut (all of them without one), and what is cached of it."""
        self.chunks.remove(doc_id, cut)
        self.keywords.remove(doc_id, None if cut == DELETING else cut)
        self.changed(doc_id)
