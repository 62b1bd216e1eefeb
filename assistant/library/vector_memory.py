"""The encoder's memory on disk: the vector of every text a library encodes again and
again (its papers' sentences, the questions asked of them), kept next to the catalog.

A batch cell's CPU was mostly the encoder (0.35 of 0.44 s, the U-Net paper's 28
questions): the sentences of the passages it found, to mark the evidence and check the
answer's claims against, and the question and its description, to match them. Those
texts are the same in every run, every LLM and every restart; only an answer's own
sentences are new. They are encoded once and kept here, by the encoder that made them
and the text (a hash of both), so a re-cut paper keeps its sentences' vectors and a
changed model does not read another's. Kept as float32: a ranking compared item for item
before and after must not move because its vectors were rounded.

Losing this file loses nothing but time: a text not found is encoded again.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE_NAME = "vectors.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS text_vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL);
"""

# SQLite allows this many parameters in one statement (at least, in every build).
_PER_QUERY = 900


class VectorMemory:
    """Vectors by (encoder, text) in SQLite; one short connection per call, so that threads
    and processes share the file. A read or write that fails is logged and counts as not
    found or not kept: the encoder then encodes, as it would without this."""

    def __init__(self, path: Path, encoder_name: str) -> None:
        self.path = path
        self._prefix = encoder_name.encode() + b"\0"
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, data_dir: Path, encoder_name: str) -> VectorMemory:
        return cls(data_dir / FILE_NAME, encoder_name)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def key(self, text: str, query: bool) -> bytes:
        return hashlib.blake2b(self._prefix + (b"q\0" if query else b"t\0") + text.encode(), digest_size=16).digest()

    def get(self, texts: Sequence[str], query: bool = False) -> dict[str, np.ndarray]:
        """The kept vectors of those of ``texts`` that have one."""
        keys = {self.key(t, query): t for t in dict.fromkeys(texts)}
        found: dict[str, np.ndarray] = {}
        try:
            with closing(self._connect()) as db:
                wanted = list(keys)
                for i in range(0, len(wanted), _PER_QUERY):
                    part = wanted[i : i + _PER_QUERY]
                    sql = f"SELECT key, vector FROM text_vectors WHERE key IN ({','.join('?' * len(part))})"
                    for key, blob in db.execute(sql, part):
                        found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error as exc:
            log.warning("reading kept vectors from %s failed: %s", self.path, exc)
        return found

    def put(self, vectors: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]], query: bool = False) -> None:
        """Keep these texts' vectors (a text kept already keeps its vector)."""
        items = vectors.items() if isinstance(vectors, Mapping) else vectors
        rows = [(self.key(t, query), np.asarray(v, dtype=np.float32).tobytes()) for t, v in items]
        if not rows:
            return
        try:
            with closing(self._connect()) as db, db:
                db.executemany("INSERT OR IGNORE INTO text_vectors (key, vector) VALUES (?, ?)", rows)
        except sqlite3.Error as exc:
            log.warning("keeping vectors in %s failed: %s", self.path, exc)
