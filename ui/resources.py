"""Heavy objects shared by every session of the app, built once per settings.

The first page must not wait for them: the library's modules and the embedding model
take most of a start (seconds on two cores) and the Library page can take files, list
the papers and show what is going on without them. So the workspace of a set of settings
is built on a thread of its own, started by the first page view (:func:`start`); a page
that needs it waits with a message (:func:`workspace`), one that can do without asks
:func:`ready`. Nothing here imports the heavy modules at the top: a page importing them
while the thread does would race it (a module seen half-initialised).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import TYPE_CHECKING

import streamlit as st

from assistant.config import Settings
from assistant.errors import AssistantError
from ui.access import current_settings

if TYPE_CHECKING:
    from assistant.library.imports import BackgroundImports
    from assistant.work.background import BackgroundRuns
    from assistant.workspace import Workspace

MAX_WORKSPACES = 4  # settings combinations kept built (Settings page edits, workspaces)
_lock = threading.Lock()
_builds: OrderedDict[str, Future] = OrderedDict()
_embeddings: dict[str, object] = {}
_libraries: OrderedDict[str, object] = OrderedDict()  # open libraries by library_key, reused across LLM edits


def settings() -> Settings:
    # Cheap (env + a small JSON file): read on every run so Settings-page edits apply at once.
    return current_settings()


def _build(s: Settings) -> Workspace:
    """The workspace of ``s``; its library is the one already open under the same library
    settings, if any, so saving an LLM setting builds no library and loads no model again.
    An LLM that cannot be built leaves the app answering offline and saying why."""
    from assistant.library.embeddings import load_embedding
    from assistant.library.library import Library
    from assistant.workspace import library_key, open_workspace

    shape = library_key(s)
    with _lock:
        library = _libraries.get(shape)
        if library is not None:
            _libraries.move_to_end(shape)
    if library is None:
        key = s.embedding.model_dump_json(exclude={"batch_size"})
        with _lock:
            embed = _embeddings.get(key)
        if embed is None:
            embed = load_embedding(s.embedding)
            with _lock:
                embed = _embeddings.setdefault(key, embed)
        built = Library(s, embed)
        with _lock:
            library = _libraries.setdefault(shape, built)
            _libraries.move_to_end(shape)
            while len(_libraries) > MAX_WORKSPACES:
                _libraries.popitem(last=False)
    return open_workspace(s, library=library, offline_if_llm_fails=True)


def start(s: Settings | None = None) -> Future:
    """The workspace of ``s`` (default: this session's settings), being built or built.
    A build that failed is tried again by the next call (a Chroma server that was down
    may be up)."""
    s = s or settings()
    key = s.model_dump_json()
    with _lock:
        future = _builds.get(key)
        if future is not None and future.done() and future.exception() is not None:
            future = None
        if future is None:
            future = Future()
            _builds[key] = future
            while len(_builds) > MAX_WORKSPACES:
                _builds.popitem(last=False)

            def build() -> None:
                try:
                    future.set_result(_build(s))
                except BaseException as exc:  # handed to whoever waits, shown there
                    future.set_exception(exc)

            threading.Thread(target=build, name="workspace-build", daemon=True).start()
        _builds.move_to_end(key)
    return future


def ready() -> bool:
    """The workspace of this session's settings is built (or failed: :func:`workspace` says why)."""
    return start().done()


def workspace() -> Workspace:
    """The workspace of the current settings, waited for with a message; stops the page with
    a clear message if it cannot be built."""
    future = start()
    if not future.done():
        with st.spinner("Loading the library and the embedding model (once, when the app starts)…"):
            future.exception()  # waits
    try:
        return future.result()
    except AssistantError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the run


@st.cache_resource
def background_runs() -> BackgroundRuns:
    """Batch runs going on in this app process, shared by every session."""
    from assistant.work.background import BackgroundRuns

    return BackgroundRuns()


@st.cache_resource
def _imports(data_dir: str, _ws: Workspace) -> BackgroundImports:
    from assistant.library.imports import BackgroundImports

    return BackgroundImports(_ws.library, _ws.imports, _ws.settings.imports.workers)


def background_imports(ws: Workspace) -> BackgroundImports:
    """The imports this app process works through for a library (one thread each, shared
    by every session, so a file dropped on the page is added whatever the page does next),
    taking up any left unfinished."""
    runner = _imports(str(ws.settings.data_dir), ws)
    runner.kick(ws.library, ws.settings.imports.workers)  # settings changed since apply from the next import
    return runner


def llm_notice(ws: Workspace) -> None:
    """On a page that uses the LLM: why the configured one cannot be used, and where to mend it."""
    if ws.llm_problem:
        st.warning(f"{ws.llm_problem} Until then, answers are offline: the papers' own sentences, quoted.",
                   icon=":material/warning:")
        st.page_link("pages/settings.py", label="Mend it in Settings", icon=":material/settings:")
