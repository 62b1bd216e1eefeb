"""The library: PDFs stored by content hash, their chunks in Chroma, a catalog of documents.

Adding a document is all or nothing (see :mod:`.ingest`): its chunks are stored under a
fresh *cut* id, written down first in an intent log, and the catalog row that makes it
visible, naming that cut, is written last. Retrieval only sees the chunks of catalogued
cuts. A process killed at any point leaves at worst invisible leftovers listed in the
log, which the next start (:meth:`Library.clean_leftovers`) removes. A document cut anew
keeps answering from its old chunks until the new ones are complete; deletion hides the
row first.

Any number of processes may use one library (see :mod:`.chunks`): a paper is read and
embedded by whoever adds it without holding anything; only storing it, deleting and
cleaning up take the library's write lock, and whoever waits for it says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore

from ..config import Settings
from ..errors import AmbiguousDocumentError, DocumentNotFoundError, LibraryBusyError
from ..geometry import PageGeometry
from ..pdf import layout
from ..pdf.pages import PdfStore
from ..pdf.reader import ReadOptions, parse_pdf
from ..types import DocumentRecord, DocumentText, IngestResult, ParsedDocument
from .catalog import DELETING, Catalog
from .chunks import ChunkStore, StoredUnit, is_current
from .embeddings import CachedEncoder, embedding_name
from .files import process_alive
from .ingest import Ingester, ProgressCallback
from .keywords import KeywordStore
from .vector_memory import VectorMemory

log = logging.getLogger(__name__)


class Library:
    """Add, list, find and delete documents; their texts and chunks for retrieval."""

    def __init__(self, settings: Settings, embed_model: BaseEmbedding) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.root = settings.data_dir
        # For questions and passage sentences; chunks use embed_model.
        self.encoder = CachedEncoder(embed_model, memory=VectorMemory.in_folder(self.root,
                                                                                embedding_name(settings.embedding)))
        # Work for a paper just added, by layers above this one (answering keeps the vectors
        # of the sentences its evidence is read from): each is given the document's id.
        self.after_adding: list[Callable[[str], None]] = []
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog.in_folder(self.root)
        self.chunks = ChunkStore(settings, self.catalog, embed_model)
        self.pdfs = PdfStore(layers=self._layer)
        self._generation = self.catalog.generation()
        self._generation_lock = threading.Lock()
        self._texts: dict[str, DocumentText] = {}
        self._units: dict[str, list[StoredUnit]] = {}
        self._text_lock = threading.Lock()
        self.keywords = KeywordStore.in_folder(self.root)
        self.ingester = Ingester(settings, embed_model, self.catalog, self.chunks, self.pdfs, self.file_path,
                                 self._forget, self.keywords)
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

    # --- adding (see :mod:`.ingest`) ----------------------------------------------------

    def ingest_file(self, path: str | Path, progress: ProgressCallback | None = None,
                    password: str | None = None) -> IngestResult:
        return self._added(self.ingester.ingest_file(path, progress, password))

    def ingest(self, data: bytes, file_name: str, progress: ProgressCallback | None = None,
               password: str | None = None) -> IngestResult:
        return self._added(self.ingester.ingest(data, file_name, progress, password))

    def add_read(self, parsed: ParsedDocument, data: bytes, progress: ProgressCallback | None = None) -> IngestResult:
        return self._added(self.ingester.add_read(parsed, data, progress))

    def _added(self, result: IngestResult) -> IngestResult:
        """Run the :attr:`after_adding` work for a paper just stored. It is usable already, so a
        failure here is logged and loses nothing: what it would have prepared is done when needed."""
        if not result.already_present:
            for work in self.after_adding:
                try:
                    work(result.record.doc_id)
                except Exception:  # noqa: BLE001 - the paper is stored; this only saves time later
                    log.exception("preparing %s after adding it failed", result.record.file_name)
        return result

    def known(self, data: bytes) -> DocumentRecord | None:
        return self.ingester.known(data)

    def read_options(self, password: str | None = None) -> ReadOptions:
        return self.ingester.read_options(password)

    @property
    def chunking_key(self) -> str:
        return self.ingester.chunking_key

    # --- deleting and recovery -----------------------------------------------------------

    def delete(self, doc_id: str, waiting: Callable[[float, str], None] | None = None) -> DocumentRecord:
        with self.chunks.writing(f"deleting {doc_id}", waiting):
            record = self.catalog.get(doc_id)
            if record is None:
                raise DocumentNotFoundError(f"No document {doc_id!r} in the library; nothing was deleted.")
            self.catalog.remove(doc_id)
            self.ingester.remove_chunks(doc_id)  # on failure the intent log has it: removed at the next start
            self.file_path(doc_id).unlink(missing_ok=True)
            self.pdfs.forget(self.file_path(doc_id))
            self.catalog.finish(doc_id, DELETING)
        return record

    def _forget(self, doc_id: str) -> None:
        """Drop what is cached about a document whose chunks changed."""
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

    def _fresh(self) -> None:
        """Drop the cached texts and units when another process changed the library since
        they were filled."""
        generation = self.catalog.generation()
        if generation == self._generation:
            return
        with self._generation_lock:
            if generation == self._generation:
                return
            with self._text_lock:
                self._texts.clear()
                self._units.clear()
            self._generation = generation

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
                self.ingester.remove_chunks(doc_id, None if cut == DELETING and doc_id not in cuts else cut)
                removed += 1
            self.catalog.finish(doc_id, cut)
        for path in self.files_dir.glob("*"):
            doc_id = path.name.split(".")[0]
            if doc_id not in busy and (doc_id not in cuts or path.suffix == ".part"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def keyword_matches(self, query: str, k: int, scope: Sequence[str] | None = None) -> list[NodeWithScore]:
        """The ``k`` current chunks (of ``scope``'s documents; of all when None) whose words
        best match the query, by the persisted keyword index (see :mod:`.keywords`). Papers
        stored before the index existed are indexed first, once."""
        cuts = self.catalog.cuts()
        self.index_keywords(cuts, scope)
        found = self.keywords.search(query, cuts, k, scope)
        nodes = self.chunks.nodes([node_id for node_id, _ in found])
        return [NodeWithScore(node=nodes[node_id], score=score) for node_id, score in found if node_id in nodes]

    def index_keywords(self, cuts: Mapping[str, str] | None = None, scope: Sequence[str] | None = None) -> int:
        """Index the words of the current cuts (of ``scope``) the keyword index lacks: a
        library stored before it existed. Returns how many papers were indexed."""
        cuts = self.catalog.cuts() if cuts is None else cuts
        wanted = None if scope is None else set(scope)
        missing = [(d, c) for d, c in self.keywords.missing(cuts) if wanted is None or d in wanted]
        for doc_id, cut in missing:
            found = self.chunks.get([doc_id])
            self.keywords.add(doc_id, cut, ((node_id, text) for node_id, text, meta in
                                            zip(found["ids"], found["documents"], found["metadatas"])
                                            if is_current(meta or {}, {doc_id: cut})))
        return len(missing)

    def chunk_count(self, doc_ids: Iterable[str] | None = None) -> int:
        return self.chunks.count(None if doc_ids is None else list(doc_ids))
