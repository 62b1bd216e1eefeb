"""The library: PDFs stored by content hash, their chunks in Chroma, a catalog of documents.

Adding a document is all or nothing. Its chunks are stored under a fresh *cut* id,
written down first in an intent log (``pending``); the catalog row that makes the
document visible, naming that cut, is written last, in the same transaction that clears
the log entry. Retrieval only sees the chunks of catalogued cuts. A process killed at
any point leaves at worst invisible leftovers listed in the log, which the next start
(:meth:`Library.clean_leftovers`) removes. A document cut anew keeps answering from its
old chunks until the new ones are complete; deletion hides the row first.

Any number of processes may use one library (see :mod:`.chunks`): a paper is read and
embedded by whoever adds it without holding anything; only storing it, deleting and
cleaning up take the library's write lock, and whoever waits for it says so.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode

from ..config import Settings
from ..errors import AmbiguousDocumentError, AssistantError, DocumentNotFoundError, LibraryBusyError
from ..geometry import PageGeometry
from ..pdf import layout
from ..pdf.pages import PdfStore
from ..pdf.reader import ReadOptions, content_hash, parse_pdf
from ..retrieval.scoring import EMBEDDED_TEXT, ScopeIndex, embedding_text
from ..text.sentences import SPLITTER
from ..types import DocumentRecord, DocumentText, IngestProgress, IngestResult, ParsedDocument
from . import duplicates
from .catalog import DELETING, Catalog
from .chunking import SentenceSpanParser, document_for_parsing
from .chunks import ChunkStore, StoredUnit
from .embeddings import CachedEncoder
from .files import process_alive, safe_file_name

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]


class Library:
    """Add, list, find and delete documents; give retrieval its LlamaIndex index."""

    def __init__(self, settings: Settings, embed_model: BaseEmbedding) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.encoder = CachedEncoder(embed_model)  # for questions and passage sentences; chunks use embed_model
        self.root = settings.data_dir
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog.in_folder(self.root)
        self.chunks = ChunkStore(settings, self.catalog, embed_model)
        self.pdfs = PdfStore(layers=self._layer)
        self._generation = self.catalog.generation()
        self._generation_lock = threading.Lock()
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

    def known(self, data: bytes) -> DocumentRecord | None:
        """The stored document these exact bytes are, when it is stored with today's settings
        (then there is nothing to read)."""
        existing = self.catalog.get(content_hash(data)) if data else None
        return existing if existing and self._is_current(existing.doc_id) else None

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
            if existing and self._is_current(existing.doc_id):
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
        return record

    def delete(self, doc_id: str, waiting: Callable[[float, str], None] | None = None) -> DocumentRecord:
        with self.chunks.writing(f"deleting {doc_id}", waiting):
            record = self.catalog.get(doc_id)
            if record is None:
                raise DocumentNotFoundError(f"No document {doc_id!r} in the library; nothing was deleted.")
            self.catalog.remove(doc_id)
            self._remove_chunks(doc_id)  # on failure the intent log has it: removed at the next start
            self.file_path(doc_id).unlink(missing_ok=True)
            self.pdfs.forget(self.file_path(doc_id))
            self.catalog.finish(doc_id, DELETING)
        return record

    def _remove_chunks(self, doc_id: str, cut: str | None = None) -> None:
        self.chunks.remove(doc_id, cut)
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
        self._fresh()
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
        self._fresh()
        with self._text_lock:
            cached = self._units.get(doc_id)
        if cached is not None:
            return cached
        units = self.chunks.units(doc_id)
        with self._text_lock:
            self._units[doc_id] = units
            while len(self._units) > 64:
                self._units.pop(next(iter(self._units)))
        return units

    def scope_index(self, scope: tuple[str, ...], vectors: bool) -> ScopeIndex:
        """The chunks of ``scope`` made searchable (BM25, and with ``vectors`` their unit
        vectors in memory), kept for the scopes used last until one of their documents
        is cut anew or deleted (see ``_forget`` and ``_fresh``).

        Searching a few papers exactly in memory beats a filtered query to the vector
        store, which grows with the whole collection (measured: ~80 ms at 100k chunks).
        """
        self._fresh()
        key = (scope, vectors)
        with self._scope_lock:
            entry = self._scopes.get(key)
            if entry is None:
                nodes, embeddings = self.chunks.current(scope, vectors)
                entry = ScopeIndex.build(nodes, embeddings, self._pointed)
                self._scopes[key] = entry
                while len(self._scopes) > 8:
                    self._scopes.popitem(last=False)
            self._scopes.move_to_end(key)
            return entry

    def _fresh(self) -> None:
        """Drop every cache when another process changed the library since they were filled."""
        generation = self.catalog.generation()
        if generation == self._generation:
            return
        with self._generation_lock:
            if generation == self._generation:
                return
            with self._scope_lock:
                self._scopes.clear()
            with self._text_lock:
                self._texts.clear()
                self._units.clear()
            self._generation = generation

    def _pointed(self, node: TextNode) -> str:
        """The footnotes and linked references a chunk points to, as text."""
        meta = node.metadata
        text = self.document_text(meta.get("doc_id", ""))
        start, end = int(meta.get("char_start", 0)), int(meta.get("char_end", 0))
        return " ".join(c.text for c in layout.cited_in(text, start, end))

    def clean_leftovers(self) -> int:
        """Remove what interrupted additions and deletions left behind: chunks of cuts that
        never became current, files no catalogued document owns. Work of a process still
        running is left alone, and so is everything while another process is writing (it
        is cleaned at a later start). Returns how many leftovers were removed."""
        try:
            with self.chunks.writing("cleaning up", timeout=0):
                return self._clean()
        except LibraryBusyError:
            return 0

    def _clean(self) -> int:
        cuts = self.catalog.cuts()
        busy: set[str] = set()
        removed = 0
        for doc_id, cut, owner in self.catalog.pending():
            if process_alive(owner):
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
        return self.chunks.count(None if doc_ids is None else list(doc_ids))
