"""The searchable form of the scopes used last (a scope: the set of papers a question is
asked of), kept so that the next question of the same papers does not rebuild it.

Each entry is keyed by its documents' current cuts (see :mod:`assistant.library.ingest`),
read from the catalog that every process shares. A document cut anew or deleted, here or
by another process, changes the key, so no entry is ever used for chunks that are gone and
nobody has to tell the cache: stale entries are simply never asked for again and fall out
of the LRU. The key is read before the chunks: if the library changes in between, the
entry sits under a key the catalog no longer names.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future

from llama_index.core.schema import TextNode

from ..library.library import Library
from ..pdf.layout import cited_in
from .scoring import ScopeIndex

# Scopes kept: a reviewer moves between a few papers, a batch asks one paper at a time.
KEPT = 8

ScopeKey = tuple[tuple[str, str | None], ...]


class ScopeCache:
    """The chunks of ``scope`` made searchable (BM25 and their unit vectors in memory), for
    the scopes used last.

    Searching a few papers exactly in memory beats a filtered query to the vector store,
    which grows with the whole collection (measured: ~80 ms at 100k chunks).
    """

    def __init__(self, library: Library, kept: int = KEPT) -> None:
        self._library = library
        self._kept = kept
        self._entries: OrderedDict[ScopeKey, ScopeIndex] = OrderedDict()
        self._building: dict[ScopeKey, Future[ScopeIndex]] = {}
        self._lock = threading.Lock()

    def get(self, scope: Sequence[str]) -> ScopeIndex:
        cuts = self._library.catalog.cuts()
        key = tuple((doc_id, cuts.get(doc_id)) for doc_id in sorted(scope))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
            # One build a scope: a batch's workers ask the same paper at once, and it serves
            # them all. Other scopes do not wait for it: the whole library of 500 papers takes
            # half a minute to build, and a batch asking one paper at a time must go on.
            building = self._building.get(key)
            mine = building is None
            if mine:
                building = self._building[key] = Future()
        assert building is not None
        if not mine:
            return building.result()
        try:
            nodes, embeddings = self._library.chunks.current(scope, vectors=True)
            entry = ScopeIndex.build(nodes, embeddings, self._pointed)
        except BaseException as exc:
            with self._lock:
                del self._building[key]
            building.set_exception(exc)
            raise
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._kept:
                self._entries.popitem(last=False)
            del self._building[key]
        building.set_result(entry)
        return entry

    def _pointed(self, node: TextNode) -> str:
        """The footnotes and linked references a chunk points to, as text."""
        meta = node.metadata
        text = self._library.document_text(meta.get("doc_id", ""))
        start, end = int(meta.get("char_start", 0)), int(meta.get("char_end", 0))
        return " ".join(c.text for c in cited_in(text, start, end))


_caches: weakref.WeakKeyDictionary[Library, ScopeCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def scopes_of(library: Library) -> ScopeCache:
    """The scope cache of a library object: one each, gone with it."""
    with _caches_lock:
        cache = _caches.get(library)
        if cache is None:
            cache = _caches[library] = ScopeCache(library)
        return cache
