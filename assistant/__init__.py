"""A research assistant over a library of scientific PDFs: ingest, ask, and see the evidence.

The library never imports Streamlit; the app in ``app.py``/``pages/`` and the CLI
(``python -m assistant``) both sit on top of it. Its entry points::

    from assistant import open_workspace

    ws = open_workspace(data_dir="data")            # the library in that folder, built from settings
    ws.library.ingest_file("paper.pdf")
    answer = ws.answerer.ask("Which optimizer and momentum were used for training?")
    for passage in answer.passages:                 # numbered as the answer cites them
        for sentence in passage.highlights:         # the supporting sentences, with their boxes
            print(passage.n, sentence.spans[0].page, sentence.text)

Errors meant for people are :class:`AssistantError`: ``str(error)`` says what went wrong
and what to do. The folders follow the pipeline (see ``docs/design.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import AssistantError
from .types import Answer, Passage

if TYPE_CHECKING:
    from .workspace import Workspace, open_workspace

__version__ = "0.1.0"
__all__ = ["AssistantError", "Answer", "Passage", "Workspace", "open_workspace", "__version__"]


def __getattr__(name: str) -> Any:
    # The workspace brings the embedding model, Chroma and LlamaIndex: imported when asked
    # for, so a light module of the package (the first page's) stays light.
    if name in ("Workspace", "open_workspace"):
        from . import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
