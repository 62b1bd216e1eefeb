"""The chunks of a library: the one owner of its Chroma collection, of the metadata each
chunk carries (``doc_id``, ``cut``, ``char_start``, ``char_end``), of the rule that only a
document's current cut answers, and of sharing the store between processes.

Several processes use one data folder at once: the app (any number of browser sessions),
a second app, ``ingest``/``delete``/``ask``/``batch`` from terminals. Chroma's embedded
store is not safe for that (measured: a process that kept its client open while a
terminal added five papers failed 177 of 194 questions with "Error finding id" and never
saw the new papers until restarted). So:

- every write holds the library's write lock, every read a shared hold of it
  (:class:`LibraryLock`, filelock's SQLite reader/writer lock: the OS lets it go when a
  process dies, and a waiting writer keeps new readers out so it is not starved);
- a write ends by bumping the catalog's generation; a process whose client saw an older
  generation opens it again before it reads (:class:`~.vectorstore.Connection`);
- a store error that gets through anyway is retried once on a reopened client, and
  otherwise said in words, never as Chroma's ``InternalError``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import chromadb
import filelock
import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from ..config import Settings
from ..errors import AssistantError, LibraryBusyError, StoreUnavailableError
from .catalog import DELETING, Catalog
from .vectorstore import Store, _from_the_wire, open_store, unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
WAIT_STEP = 1.0  # seconds between reports while a writer waits
Waiting = Callable[[float, str], None]  # (seconds waited, who holds the library)


class StoredUnit(NamedTuple):
    """One stored chunk: its span of the document text and its node id."""

    start: int
    end: int
    node_id: str


# Chroma (embedded, and its server) binds one SQL variable per record a read returns with
# its text or metadata, and its SQLite takes at most 32,766: a larger read fails with "too
# many SQL variables" (chroma-core/chroma#7687). A whole-library question at 500 papers (100,000
# chunks) did. Reads go in pages well below that.
READ_PAGE = 10_000


def _get_paged(collection: chromadb.Collection, ids: Sequence[str] | None = None, **kwargs: Any) -> dict:
    """``collection.get(ids=..., **kwargs)`` in pages of at most READ_PAGE records, joined:
    the same keys, the records in the same order."""
    pages: list[Mapping[str, Any]] = []
    if ids is not None:
        ids = list(ids)
        # At least one call: Chroma says what is wrong with an empty list.
        pages = [collection.get(ids=ids[i : i + READ_PAGE], **kwargs) for i in range(0, len(ids) or 1, READ_PAGE)]
    else:
        while not pages or len(pages[-1]["ids"]) == READ_PAGE:
            pages.append(collection.get(limit=READ_PAGE, offset=READ_PAGE * len(pages), **kwargs))
    joined = dict(pages[0])
    if len(pages) == 1:
        return joined
    for key in ("ids", "documents", "metadatas", "uris", "data"):
        if joined.get(key) is not None:
            joined[key] = [item for page in pages for item in page[key]]
    if joined.get("embeddings") is not None:
        joined["embeddings"] = np.concatenate([np.asarray(page["embeddings"]) for page in pages if page["ids"]])
    return joined


def _where(doc_ids: Sequence[str]) -> dict:
    """Chroma's filter for the chunks of these documents."""
    return {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}


def _filters(doc_ids: Sequence[str]) -> MetadataFilters:
    """The same filter, as LlamaIndex takes it."""
    if len(doc_ids) == 1:
        return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_ids[0], operator=FilterOperator.EQ)])
    return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=list(doc_ids), operator=FilterOperator.IN)])


@dataclass(frozen=True)
class Holder:
    """Who is writing to a library, as its lock file's note says."""

    pid: int
    host: str
    command: str
    doing: str
    since: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} (`{self.command}`, {self.doing} since {self.since})"


class LibraryLock:
    """Writes to a library one at a time, across processes; reads between writes.

    Each hold is its own lock instance, so threads of one process exclude each other as
    processes do; a thread already holding the lock is let through (a write reads too).
    """

    def __init__(self, data_dir: Path, timeout: float) -> None:
        self.path = data_dir / "library.lock"
        self.note_path = data_dir / "library.lock.json"
        self.timeout = timeout
        self._held = threading.local()
        data_dir.mkdir(parents=True, exist_ok=True)

    def holding(self) -> bool:
        return getattr(self._held, "depth", 0) > 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        if self.holding():
            yield
            return
        lock = filelock.ReadWriteLock(self.path, is_singleton=False)
        try:
            try:
                lock.acquire_read(timeout=self.timeout)
            except filelock.Timeout:
                raise LibraryBusyError(self._busy("reading the library", self.timeout)) from None
            with self._hold():
                yield
        finally:
            lock.close()

    @contextmanager
    def writing(self, doing: str, waiting: Waiting | None = None, timeout: float | None = None) -> Iterator[None]:
        """Hold the library for writing; ``waiting`` hears every second how long this has
        waited and for whom. A writer that cannot get in within ``timeout`` gets a
        :class:`LibraryBusyError` naming the process that holds it."""
        if self.holding():
            yield
            return
        timeout = self.timeout if timeout is None else timeout
        lock = filelock.ReadWriteLock(self.path, is_singleton=False)
        started = time.monotonic()
        try:
            while True:
                waited = time.monotonic() - started
                try:
                    lock.acquire_write(timeout=max(0.0, min(WAIT_STEP, timeout - waited)))
                    break
                except filelock.Timeout:
                    waited = time.monotonic() - started
                    if waited >= timeout:
                        raise LibraryBusyError(self._busy(doing, timeout)) from None
                    if waiting:
                        waiting(waited, self.holder_text())
            self._note(doing)
            try:
                with self._hold():
                    yield
            finally:
                self.note_path.unlink(missing_ok=True)
        finally:
            lock.close()

    @contextmanager
    def _hold(self) -> Iterator[None]:
        self._held.depth = getattr(self._held, "depth", 0) + 1
        try:
            yield
        finally:
            self._held.depth -= 1

    def _note(self, doing: str) -> None:
        program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
        if program == "__main__.py":  # python -m assistant
            program = f"python -m {Path(sys.argv[0]).parent.name}"
        command = " ".join([program, *sys.argv[1:3]])
        note = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "doing": doing,
                "since": datetime.now(UTC).astimezone().strftime("%H:%M:%S")}
        tmp = self.note_path.with_name(f"{self.note_path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(note))
        tmp.replace(self.note_path)

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self.note_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def holder_text(self) -> str:
        holder = self.holder()
        return holder.describe() if holder else "another process"

    def _busy(self, doing: str, timeout: float) -> str:
        return (
            f"The library in {self.path.parent} is busy: {self.holder_text()} is writing to it, and "
            f"{doing} waited {timeout:.0f} s for it. Try again when it is done (or stop that process); "
            "ASSISTANT_LOCK_TIMEOUT_S sets how long to wait."
        )


class ChunkStore:
    """A library's chunks in Chroma (embedded in the data folder or on a server)."""

    def __init__(self, settings: Settings, catalog: Catalog, embed_model: BaseEmbedding) -> None:
        self.catalog = catalog
        self.embed_model = embed_model
        self.lock = LibraryLock(settings.data_dir, settings.lock_timeout_s)
        # A library's first opening creates the embedded store's tables: a write. Two
        # processes doing it at once under the shared lock collided ("table collections
        # already exists").
        creating = not settings.chroma.host and not (settings.data_dir / "chroma" / "chroma.sqlite3").exists()
        with self.lock.writing("creating the library's store") if creating else self.lock.reading():
            generation = catalog.generation()  # before the client opens: a later write shows as newer
            self._store: Store = open_store(settings, catalog.library_id())
            if self._store.connection.generation is None:
                self._store.connection.generation = generation
        self._llama: tuple[int, ChromaVectorStore, VectorStoreIndex] | None = None

    @property
    def name(self) -> str:
        return self._store.name

    @property
    def where(self) -> str:
        """For messages: the folder or the server's URL."""
        return self._store.where

    # --- reading ---------------------------------------------------------------------

    def _read(self, work: Callable[[chromadb.Collection], T]) -> T:
        """Run ``work`` on the collection as the library is now; a store error is retried once
        on a reopened client, then said in words."""
        for attempt in (0, 1):
            with self.lock.reading():
                self._catch_up(force=attempt > 0)
                with self._store.connection.using():
                    try:
                        return work(self._store.collection)
                    except AssistantError:
                        raise
                    except Exception as exc:
                        if self._store.remote and _from_the_wire(exc):
                            raise StoreUnavailableError(unreachable(self._store.chroma, exc)) from exc
                        if attempt:
                            raise AssistantError(self._unreadable(exc)) from exc
                        log.warning("reading the chunks failed (%s); reopening the store", exc)
        raise AssertionError("unreachable")

    def _catch_up(self, force: bool = False) -> None:
        """Reopen the client when another process wrote since it opened."""
        connection = self._store.connection
        generation = self.catalog.generation()
        if force or generation != connection.generation:
            connection.reopen(None if force else generation)
            connection.generation = generation

    def _unreadable(self, exc: BaseException) -> str:
        return (
            f"The library's passages in {self.where} could not be read ({type(exc).__name__}: {str(exc)[:200]}). "
            "Ask again; if this keeps happening, restart the app or run `python -m assistant list` to check the "
            "library."
        )

    def count(self, doc_ids: Sequence[str] | None = None) -> int:
        """How many chunks are stored (of these documents), current or not."""
        if doc_ids is None:
            return self._read(lambda c: c.count())
        return sum(len(self._read(lambda c, d=d: c.get(where=_where([d]), include=[]))["ids"]) for d in doc_ids)

    def get(self, doc_ids: Sequence[str] | None = None, include: Sequence[str] = ("documents", "metadatas"),
            ids: Sequence[str] | None = None) -> Mapping[str, Any]:
        """Stored chunks as Chroma returns them (for checks, tools and tests)."""
        kwargs: dict[str, Any] = {"include": list(include)}
        if doc_ids is not None:
            kwargs["where"] = _where(doc_ids)
        return self._read(lambda c: _get_paged(c, ids, **kwargs))

    def units(self, doc_id: str) -> list[StoredUnit]:
        """A document's current chunks in text order: where each is and its node id."""
        with self.lock.reading():
            found = self.get([doc_id], include=["metadatas"])
            record = self.catalog.get(doc_id)
        cuts = {doc_id: record.cut if record else ""}
        return sorted(
            StoredUnit(int(m.get("char_start", 0)), int(m.get("char_end", 0)), node_id)
            for node_id, m in zip(found["ids"], found["metadatas"])
            if is_current(m, cuts)
        )

    def current(self, scope: Sequence[str], vectors: bool) -> tuple[list[TextNode], np.ndarray | None]:
        """The chunks of ``scope`` that answer for their documents now, as nodes (and their
        vectors): chunks of an unfinished or replaced cut never do."""
        include = ["documents", "metadatas", "embeddings"] if vectors else ["documents", "metadatas"]
        with self.lock.reading():
            found = self.get(scope, include=include)
            cuts = self.catalog.cuts()
        nodes, kept = self._current_nodes(found, cuts)
        embeddings = np.asarray(found["embeddings"])[kept] if vectors and nodes else None
        return nodes, embeddings

    @staticmethod
    def _current_nodes(found: Mapping, cuts: Mapping[str, str]) -> tuple[list[TextNode], list[int]]:
        nodes, kept = [], []
        for i, (node_id, text, meta) in enumerate(zip(found["ids"], found["documents"], found["metadatas"])):
            if is_current(meta, cuts):
                nodes.append(_node(node_id, text, meta))
                kept.append(i)
        return nodes, kept

    def nodes(self, ids: Sequence[str]) -> dict[str, TextNode]:
        """These chunks as nodes, by id (those no longer stored left out)."""
        if not ids:
            return {}
        found = self.get(ids=ids)
        return {node_id: _node(node_id, text, meta)
                for node_id, text, meta in zip(found["ids"], found["documents"], found["metadatas"])}

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks."""
        if not ids:
            return {}
        found = self.get(ids=ids, include=["embeddings"])
        return {node_id: np.asarray(v) for node_id, v in zip(found["ids"], found["embeddings"])}

    def dense_retriever(self, k: int, scope: Sequence[str] | None) -> BaseRetriever:
        """Chroma's HNSW search through LlamaIndex, over the current cuts of ``scope``'s
        documents (None: of every document)."""
        return _DenseRetriever(self, k, None if scope is None else _filters(scope))

    def _index(self) -> VectorStoreIndex:
        version = self._store.connection.version
        if self._llama is None or self._llama[0] != version:
            vector_store = ChromaVectorStore(chroma_collection=self._store.collection)
            index = VectorStoreIndex.from_vector_store(vector_store, embed_model=self.embed_model)
            self._llama = (version, vector_store, index)
        return self._llama[2]

    # --- writing ---------------------------------------------------------------------

    @contextmanager
    def writing(self, doing: str, waiting: Waiting | None = None, timeout: float | None = None) -> Iterator[None]:
        """Hold the library for writing. On entry the client catches up with what other
        processes wrote; on exit the generation is bumped, so that they catch up with this."""
        if self.lock.holding():
            yield
            return
        with self.lock.writing(doing, waiting, timeout):
            self._catch_up()
            # Bumped before anything is written too: a writer killed halfway leaves the
            # others knowing that their view is stale.
            self._store.connection.generation = self.catalog.bump()
            try:
                with self._store.reaching():
                    yield
            finally:
                # This process's client saw its own writes: only the others need to look again.
                self._store.connection.generation = self.catalog.bump()

    def add(self, nodes: Sequence[TextNode]) -> None:
        """Store embedded nodes (inside :meth:`writing`)."""
        self._must_hold()
        with self._store.connection.using():
            self._index()
            vector_store = self._llama[1]
            for i in range(0, len(nodes), 1000):
                vector_store.add(list(nodes[i : i + 1000]))

    def add_rows(self, ids: Sequence[str], embeddings: Any, documents: Sequence[str],
                 metadatas: Sequence[Mapping[str, Any]]) -> None:
        """Store rows as Chroma takes them (for tools that make chunks themselves); inside :meth:`writing`."""
        self._must_hold()
        with self._store.connection.using():
            self._store.collection.add(ids=list(ids), embeddings=embeddings, documents=list(documents),
                                       metadatas=list(metadatas))

    def remove(self, doc_id: str, cut: str | None = None) -> None:
        """Remove a document's chunks: all of them, or those of one cut ('' = stored before
        cuts had ids); inside :meth:`writing`."""
        self._must_hold()
        with self._store.connection.using():
            collection = self._store.collection
            if cut is None or cut == DELETING:
                collection.delete(where=_where([doc_id]))
                return
            found = _get_paged(collection, where=_where([doc_id]), include=["metadatas"])
            ids = [i for i, m in zip(found["ids"], found["metadatas"]) if (m or {}).get("cut", "") == cut]
            for i in range(0, len(ids), 1000):
                collection.delete(ids=ids[i : i + 1000])

    def _must_hold(self) -> None:
        if not self.lock.holding():
            raise RuntimeError("chunks are written only inside ChunkStore.writing()")


def _node(node_id: str, text: str, meta: Any) -> TextNode:
    """A stored chunk as the node it was stored from."""
    node = metadata_dict_to_node(meta, text=text)
    node.id_ = node_id
    return node


def is_current(meta: Mapping[str, Any], cuts: Mapping[str, str]) -> bool:
    """Whether a chunk answers for its document now: it belongs to the document's current
    cut (not to one being written, nor to one replaced)."""
    return meta.get("cut", "") == cuts.get(meta.get("doc_id", ""))


class _DenseRetriever(BaseRetriever):
    def __init__(self, chunks: ChunkStore, k: int, filters: MetadataFilters | None) -> None:
        super().__init__()
        self._chunks, self._k, self._filters = chunks, k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        chunks = self._chunks

        def search(_collection: chromadb.Collection) -> list[NodeWithScore]:
            retriever = chunks._index().as_retriever(similarity_top_k=self._k, filters=self._filters)
            return retriever.retrieve(query_bundle)

        with chunks.lock.reading():
            found = chunks._read(search)
            cuts = chunks.catalog.cuts()
        return [n for n in found if is_current(n.node.metadata, cuts)]
