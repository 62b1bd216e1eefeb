"""Small facts about files and processes that light modules need without the library's
heavy parts (the embedding model, Chroma)."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (the work it noted may still finish)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def safe_file_name(name: str) -> str:
    """The last path component of an uploaded name, without control characters.

    Only for showing: stored files are named by content hash, never by this name.
    """
    base = Path(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base if base.strip(".") else "document.pdf"
