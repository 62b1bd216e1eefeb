"""The library's keyword index: every current chunk's words in SQLite FTS5, kept next to
the catalog and written as each paper's cut is stored or removed.

A question over many papers (the whole library of a lab: 500 papers, 100,000 chunks) is
matched by keywords here, in milliseconds, instead of building BM25 over every chunk's
text read back from the vector store (half a minute at that size, again after each added
paper). FTS5 is incremental (a paper's rows are added and deleted with it), persisted,
shared by every process that opens the folder, and part of Python's standard library.
Words are stored as the in-memory BM25 of :mod:`assistant.retrieval.scoring` reads them
(Snowball stems, its stop words left out), and ranked by FTS5's Okapi BM25 (k1 1.2, b
0.75). A query leaves out the words found in more than a fifth of the indexed chunks:
they weigh little in BM25 anyway, and scoring every chunk that holds "model" or "data"
is what would make a search of 100,000 chunks slow; a query of such words alone finds
nothing here, and the embeddings decide. Scopes of a few papers keep the in-memory BM25,
which the evaluations were tuned with.

A library stored before this index existed is indexed on first use, paper by paper,
from the chunks the vector store holds (see
:meth:`assistant.library.library.Library.index_keywords`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path

from .chunking import keyword_tokens

FILE_NAME = "keywords.sqlite3"

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_words USING fts5(
    words, node_id UNINDEXED, doc_id UNINDEXED, cut UNINDEXED, tokenize = 'unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocabulary USING fts5vocab(chunk_words, 'row');
CREATE TABLE IF NOT EXISTS indexed_cuts (
    doc_id TEXT NOT NULL, cut TEXT NOT NULL, chunks INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (doc_id, cut)
);
"""

# Query words used at most: a question with its description runs to about forty.
_MOST_WORDS = 64
# A query word found in more than this share of the indexed chunks is left out (see the
# module's docstring) ...
COMMON_SHARE = 0.2
# ... once the index holds this many chunks (ten papers): scoring every chunk of a smaller
# one takes no time.
COMMON_FROM = 2_000


class KeywordStore:
    """Chunks' words by document and cut, searched with BM25 (SQLite FTS5; one short
    connection per call, so that threads and processes share the file safely)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, data_dir: Path) -> KeywordStore:
        return cls(data_dir / FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def add(self, doc_id: str, cut: str, chunks: Iterable[tuple[str, str]]) -> None:
        """Index a document's cut: its chunks as (node id, text). A cut already indexed is
        left as it is, so two processes catching up with the same paper index it once."""
        with closing(self._connect()) as db, db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM indexed_cuts WHERE doc_id = ? AND cut = ?", (doc_id, cut)).fetchone():
                return
            pairs = list(chunks)
            words = keyword_tokens([text for _, text in pairs])
            rows = [(" ".join(w), node_id, doc_id, cut) for (node_id, _), w in zip(pairs, words)]
            db.executemany("INSERT INTO chunk_words (words, node_id, doc_id, cut) VALUES (?, ?, ?, ?)", rows)
            db.execute("INSERT INTO indexed_cuts (doc_id, cut, chunks) VALUES (?, ?, ?)", (doc_id, cut, len(rows)))

    def remove(self, doc_id: str, cut: str | None = None) -> None:
        """Forget a document's chunks: those of one cut, or all of them."""
        where, args = ("doc_id = ?", (doc_id,)) if cut is None else ("doc_id = ? AND cut = ?", (doc_id, cut))
        with closing(self._connect()) as db, db:
            db.execute(f"DELETE FROM chunk_words WHERE {where}", args)
            db.execute(f"DELETE FROM indexed_cuts WHERE {where}", args)

    def indexed(self) -> set[tuple[str, str]]:
        """The (document, cut) pairs whose chunks are indexed."""
        with closing(self._connect()) as db:
            return {(d, c) for d, c in db.execute("SELECT doc_id, cut FROM indexed_cuts")}

    def missing(self, cuts: Mapping[str, str]) -> list[tuple[str, str]]:
        """The current cuts (document -> cut, as the catalog has them) not indexed yet."""
        have = self.indexed()
        return [(doc_id, cut) for doc_id, cut in cuts.items() if (doc_id, cut) not in have]

    def search(self, query: str, cuts: Mapping[str, str], k: int,
               scope: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` chunks of the current cuts (of ``scope``'s documents; of all when None)
        that best match the query's words: (node id, BM25 score, higher is better)."""
        words = list(dict.fromkeys(w for w in keyword_tokens([query])[0] if w))[:_MOST_WORDS]
        if not words or k <= 0:
            return []
        with closing(self._connect()) as db:
            words = self._telling(db, words)
            if not words:
                return []
            sql = "SELECT node_id, doc_id, cut, -bm25(chunk_words) FROM chunk_words WHERE chunk_words MATCH ?"
            args: list[object] = [" OR ".join(f'"{w}"' for w in words)]
            if scope is not None:
                wanted = sorted(set(scope))
                sql += f" AND doc_id IN ({','.join('?' * len(wanted))})"
                args += wanted
            # Rows of a cut being written or replaced are passed over: a few more are read.
            sql += " ORDER BY rank LIMIT ?"
            args.append(2 * k + 16)
            rows = db.execute(sql, args).fetchall()
        found = [(node_id, float(score)) for node_id, doc_id, cut, score in rows if cuts.get(doc_id) == cut]
        return found[:k]

    @staticmethod
    def _telling(db: sqlite3.Connection, words: list[str]) -> list[str]:
        """The query's words that say something in this index: those it holds, without the
        ones found in more than COMMON_SHARE of its chunks once it holds COMMON_FROM."""
        marks = ",".join("?" * len(words))
        found = dict(db.execute(f"SELECT term, doc FROM chunk_vocabulary WHERE term IN ({marks})", words).fetchall())
        total = db.execute("SELECT coalesce(sum(chunks), 0) FROM indexed_cuts").fetchone()[0]
        if total < COMMON_FROM:
            return [w for w in words if w in found]
        return [w for w in words if 0 < found.get(w, 0) <= COMMON_SHARE * total]

