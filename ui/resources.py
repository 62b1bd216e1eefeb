"""Heavy objects shared by every session of the app, built once per settings."""

from __future__ import annotations

import streamlit as st

from assistant.config import EmbeddingSettings, Settings
from assistant.embeddings import load_embedding
from assistant.errors import AssistantError
from assistant.imports import BackgroundImports
from assistant.runner import BackgroundRuns
from assistant.workspace import Workspace, open_workspace
from ui.access import current_settings


def settings() -> Settings:
    # Cheap (env + a small JSON file): read on every run so Settings-page edits apply at once.
    return current_settings()


@st.cache_resource(show_spinner="Loading the embedding model…")
def _embedding(model: str, batch_size: int, device: str, backend: str):
    return load_embedding(EmbeddingSettings(model=model, batch_size=batch_size, device=device, backend=backend))


@st.cache_resource(show_spinner=False, max_entries=4)
def _workspace(key: str, _settings: Settings) -> Workspace:
    e = _settings.embedding
    return open_workspace(_settings, embed_model=_embedding(e.model, e.batch_size, e.device, e.backend))


def workspace() -> Workspace:
    """The workspace of the current settings; stops the page with a clear message if it cannot be built."""
    s = settings()
    try:
        return _workspace(s.model_dump_json(), s)
    except AssistantError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the run


@st.cache_resource
def background_runs() -> BackgroundRuns:
    """Batch runs going on in this app process, shared by every session."""
    return BackgroundRuns()


@st.cache_resource
def _imports(data_dir: str, _ws: Workspace) -> BackgroundImports:
    return BackgroundImports(_ws.library, _ws.imports, _ws.settings.imports.workers)


def background_imports(ws: Workspace) -> BackgroundImports:
    """The imports this app process works through for a library (one thread each, shared
    by every session, so a file dropped on the page is added whatever the page does next),
    taking up any left unfinished."""
    runner = _imports(str(ws.settings.data_dir), ws)
    runner.kick(ws.library, ws.settings.imports.workers)  # settings changed since apply from the next import
    return runner
