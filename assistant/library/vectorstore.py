"""Where a library's chunks live: Chroma embedded in the data folder, or a Chroma server.

With ``chroma.host`` set the library talks to a Chroma server through ``chromadb.HttpClient``
and nothing else in the app changes. A server is shared: each library keeps its chunks in
a collection of its own there, named after the library's id, so two libraries (or two
workspaces) on one server never see each other's chunks. The catalog, the PDF files and
the work database stay in the data folder.

:func:`copy_library` moves a library's chunks between the two (embedded -> server and back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import chromadb

from ..config import ChromaSettings, Settings
from ..errors import AssistantError, StoreUnavailableError

_CLIENTS: dict[tuple, Connection] = {}
_CLIENTS_LOCK = threading.Lock()
COPY_BATCH = 1000


def server_url(chroma: ChromaSettings) -> str:
    return f"{'https' if chroma.ssl else 'http'}://{chroma.host}:{chroma.port}"


def _headers(chroma: ChromaSettings) -> dict[str, str]:
    token = chroma.token.get_secret_value()
    if not token:
        return {}
    if chroma.token_header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {chroma.token_header: token}


def _client_settings() -> chromadb.Settings:
    # A new object for every client: chromadb writes the path or the server address into it.
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def embedded_connection(path: Path) -> Connection:
    """One embedded Chroma client per folder and process (Chroma requires it)."""
    path = path.resolve()
    with _CLIENTS_LOCK:
        connection = _CLIENTS.get(("embedded", path))
        if connection is None:
            path.mkdir(parents=True, exist_ok=True)
            connection = Connection(lambda: chromadb.PersistentClient(path=str(path), settings=_client_settings()),
                                    reopens=True)
            _CLIENTS[("embedded", path)] = connection
        return connection


class Connection:
    """This process's client of one store, shared by every library object on it.

    An embedded client caches the store's segments; after another process wrote, reading
    through it fails ("Error finding id") or misses the new chunks, so it is closed and
    opened again (:meth:`reopen`). Threads using the client hold it shared; reopening waits
    for them, and they for it.
    """

    def __init__(self, make: Callable[[], chromadb.ClientAPI], reopens: bool) -> None:
        self._make, self.reopens = make, reopens
        self.client = make()
        self.version = 0  # counts reopenings: collections fetched before are stale
        self.generation: int | None = None  # the library's generation the client's view is of
        self._guard = threading.Condition()
        self._users = 0
        self._reopening = False

    @contextmanager
    def using(self) -> Iterator[chromadb.ClientAPI]:
        with self._guard:
            self._guard.wait_for(lambda: not self._reopening)
            self._users += 1
        try:
            yield self.client
        finally:
            with self._guard:
                self._users -= 1
                self._guard.notify_all()

    def reopen(self, generation: int | None) -> None:
        """Open the client anew (no-op for a server: it keeps no view of its own)."""
        if not self.reopens:
            return
        with self._guard:
            self._guard.wait_for(lambda: not self._reopening)
            if generation is not None and self.generation == generation:
                return  # another thread has just done it
            self._reopening = True
            self._guard.wait_for(lambda: self._users == 0)
        try:
            self.client.close()
            self.client = self._make()
            self.version += 1
            self.generation = generation
        finally:
            with self._guard:
                self._reopening = False
                self._guard.notify_all()


def server_connection(chroma: ChromaSettings) -> Connection:
    """A client of the Chroma server the settings name; a server that does not answer is a clear error."""
    key = ("server", chroma.host, chroma.port, chroma.ssl, chroma.token_header, chroma.token.get_secret_value())
    with _CLIENTS_LOCK:
        connection = _CLIENTS.get(key)
        if connection is None:
            def make() -> chromadb.ClientAPI:
                client = chromadb.HttpClient(
                    host=chroma.host, port=chroma.port, ssl=chroma.ssl, headers=_headers(chroma),
                    settings=_client_settings(),
                )
                client.heartbeat()
                return client

            try:
                connection = Connection(make, reopens=False)
            except Exception as exc:
                raise StoreUnavailableError(unreachable(chroma, exc)) from exc
            _CLIENTS[key] = connection
        return connection


def unreachable(chroma: ChromaSettings, exc: BaseException) -> str:
    return (
        f"The Chroma server at {server_url(chroma)} did not answer ({type(exc).__name__}: {exc}). Start it "
        "(e.g. `chroma run --path DIR --port N`), check ASSISTANT_CHROMA__HOST/PORT/SSL/TOKEN, or clear "
        "ASSISTANT_CHROMA__HOST to keep the chunks in the data folder."
    )


class Store:
    """One library's collection, fetched again whenever its connection was reopened."""

    def __init__(self, connection: Connection, name: str, where: str, chroma: ChromaSettings, remote: bool) -> None:
        self.connection, self.name, self.where, self.chroma, self.remote = connection, name, where, chroma, remote
        self._fetched: tuple[int, chromadb.Collection] | None = None

    @property
    def collection(self) -> chromadb.Collection:
        version = self.connection.version
        if self._fetched is None or self._fetched[0] != version:
            try:
                found = self.connection.client.get_or_create_collection(self.name, metadata={"hnsw:space": "cosine"})
            except Exception as exc:
                if self.remote:
                    raise StoreUnavailableError(unreachable(self.chroma, exc)) from exc
                raise
            self._fetched = (version, found)
        return self._fetched[1]

    @contextmanager
    def reaching(self) -> Iterator[None]:
        """A server that stops answering mid-work becomes a message that says so and what to do."""
        try:
            yield
        except AssistantError:
            raise
        except Exception as exc:
            if not (self.remote and _from_the_wire(exc)):
                raise
            raise StoreUnavailableError(unreachable(self.chroma, exc)) from exc


def _from_the_wire(exc: BaseException) -> bool:
    """Whether an error came from talking to the server (not, say, from the encoder)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionError, TimeoutError)) or type(seen).__module__.split(".")[0] in _WIRE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_WIRE = {"httpx", "httpcore"}


def open_store(settings: Settings, library_id: str, server: bool | None = None) -> Store:
    """The collection holding a library's chunks (created empty when missing).

    ``server`` picks the side regardless of the settings (for copying between them);
    None follows ``chroma.host``.
    """
    chroma = settings.chroma
    use_server = bool(chroma.host) if server is None else server
    if use_server:
        if not chroma.host:
            raise StoreUnavailableError("No Chroma server is configured: set ASSISTANT_CHROMA__HOST (and PORT).")
        connection, where = server_connection(chroma), server_url(chroma)
        name = f"{chroma.collection}-{library_id}"
    else:
        folder = settings.data_dir / "chroma"
        connection, where = embedded_connection(folder), str(folder)
        name = chroma.collection
    store = Store(connection, name, where, chroma, use_server)
    store.collection  # noqa: B018 - made now, so that a server that does not answer is said at once
    return store


@dataclass(frozen=True)
class CopyReport:
    chunks: int
    source: str
    target: str


def copy_library(
    settings: Settings, library_id: str, to_server: bool, progress: Callable[[int, int], None] | None = None
) -> CopyReport:
    """Copy every chunk (ids, vectors, texts, metadata) of a library from one store to the other.

    The target ends as an exact copy: chunks there with the same id are overwritten (a
    copy that was stopped can simply be run again) and chunks the source lacks are
    removed. The source is left as it was. The copy is checked by comparing ids.
    """
    source = open_store(settings, library_id, server=not to_server)
    target = open_store(settings, library_id, server=to_server)
    total = source.collection.count()
    done = 0
    while done < total:
        batch = source.collection.get(
            limit=COPY_BATCH, offset=done, include=["embeddings", "documents", "metadatas"]
        )
        if not batch["ids"]:
            break
        target.collection.upsert(
            ids=batch["ids"], embeddings=batch["embeddings"], documents=batch["documents"],
            metadatas=batch["metadatas"],
        )
        done += len(batch["ids"])
        if progress:
            progress(done, total)
    source_ids = set(source.collection.get(include=[])["ids"])
    target_ids = set(target.collection.get(include=[])["ids"])
    missing = source_ids - target_ids
    if missing:
        raise StoreUnavailableError(
            f"{len(missing)} chunks did not reach {target.where}; nothing was removed. Run the copy again."
        )
    # The target becomes an exact copy: chunks left there by an older copy of documents
    # deleted since would otherwise come back.
    stale = sorted(target_ids - source_ids)
    for i in range(0, len(stale), COPY_BATCH):
        target.collection.delete(ids=stale[i : i + COPY_BATCH])
    return CopyReport(total, source.where, target.where)
