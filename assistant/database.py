"""The work database: question sets, batch runs and their results, reviewers' verdicts.

One SQLite file in the data folder (``work.sqlite3``). Its schema is versioned with
SQLite's ``user_version``: each entry of :data:`MIGRATIONS` moves it one version up
and runs once, in a transaction, when an older file is opened. Entries are only ever
appended, never edited, so every existing file can be brought forward.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from filelock import FileLock

from .errors import ConfigurationError

FILE_NAME = "work.sqlite3"

MIGRATIONS: list[str] = [
    # 1: question sets, runs, results, verdicts.
    """
    CREATE TABLE question_sets (
        name TEXT PRIMARY KEY,
        questions TEXT NOT NULL,          -- JSON list of strings, in order
        updated TEXT NOT NULL
    );
    CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,         -- what makes two runs the same (see work.runs.RunSpec.key)
        question_set TEXT NOT NULL,
        questions TEXT NOT NULL,          -- JSON list, frozen when the run was made
        doc_ids TEXT NOT NULL,            -- JSON list
        llms TEXT NOT NULL,               -- JSON list of LLM names
        template TEXT NOT NULL,
        top_k INTEGER NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE results (
        run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        doc_id TEXT NOT NULL,
        q_index INTEGER NOT NULL,
        llm TEXT NOT NULL,
        file_name TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,             -- JSON of types.Answer.to_json()
        answered INTEGER NOT NULL,        -- the yes/no step: 1 answered from the paper, 0 not
        judged_by TEXT NOT NULL,          -- 'llm' (asked the LLM) or 'rule'
        seconds REAL NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (run_id, doc_id, q_index, llm)
    );
    CREATE TABLE answer_verdicts (
        run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        doc_id TEXT NOT NULL,
        q_index INTEGER NOT NULL,
        llm TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'partly', 'wrong', 'not_in_paper')),
        note TEXT NOT NULL DEFAULT '',
        updated TEXT NOT NULL,
        PRIMARY KEY (run_id, doc_id, q_index, llm, reviewer)
    );
    CREATE TABLE passage_verdicts (
        run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        doc_id TEXT NOT NULL,
        q_index INTEGER NOT NULL,
        llm TEXT NOT NULL,
        passage INTEGER NOT NULL,
        reviewer TEXT NOT NULL,
        supports INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        updated TEXT NOT NULL,
        PRIMARY KEY (run_id, doc_id, q_index, llm, passage, reviewer)
    );
    """,
    # 2: what each question asks for (a description, as systematic-review columns carry
    # instructions), and the three-way answered state ('answered', 'weak', 'not found').
    """
    ALTER TABLE question_sets ADD COLUMN descriptions TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN descriptions TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE results ADD COLUMN support TEXT NOT NULL DEFAULT '';
    """,
    # 3: imports of many files at once (see library/imports.py): the list is written before any
    # file is read, so a restart goes on where the last one stopped.
    """
    CREATE TABLE imports (
        import_id INTEGER PRIMARY KEY AUTOINCREMENT,
        label TEXT NOT NULL,              -- what was imported: "3 files", "papers.zip", a folder
        origin TEXT NOT NULL,             -- 'app' (resumed by the app) or 'terminal' (by the command)
        owner TEXT NOT NULL DEFAULT '',   -- 'pid:token' of the process working on it, '' for none
        created TEXT NOT NULL,
        finished TEXT                     -- NULL while files are left
    );
    CREATE TABLE import_files (
        import_id INTEGER NOT NULL REFERENCES imports(import_id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        name TEXT NOT NULL,               -- the file's name as shown
        path TEXT NOT NULL,               -- where its bytes are
        staged INTEGER NOT NULL,          -- 1: a copy in the data folder, removed once it is handled
        state TEXT NOT NULL DEFAULT 'queued',  -- queued, added, exists, failed, locked
        message TEXT NOT NULL DEFAULT '',
        doc_id TEXT NOT NULL DEFAULT '',
        like_id TEXT NOT NULL DEFAULT '', -- a stored paper with nearly the same text
        seconds REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (import_id, n)
    );
    """,
    # 4: who said an answer was answered: the local judge's confidence, and in
    # ASSISTANT_BATCH__JUDGE=both each judge's own word (NULL: not asked).
    """
    ALTER TABLE results ADD COLUMN confidence REAL;
    ALTER TABLE results ADD COLUMN local_answered INTEGER;
    ALTER TABLE results ADD COLUMN llm_answered INTEGER;
    """,
    # 5: what a run was made with (see work/provenance.py), as JSON: exports say it even after
    # the settings change. '' for runs made before.
    """
    ALTER TABLE runs ADD COLUMN made_with TEXT NOT NULL DEFAULT '';
    """,
    # 6: the Ask page's chats (see work/chats.py), kept like batch answers: a reload or a new
    # day finds them again, each answer with the papers it was asked of.
    """
    CREATE TABLE chats (
        chat_id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner TEXT NOT NULL DEFAULT '',       -- the signed-in person's e-mail; '' without sign-in
        created TEXT NOT NULL
    );
    CREATE TABLE chat_answers (
        chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
        n INTEGER NOT NULL,                   -- 1, 2, ... in the order asked
        asked TEXT NOT NULL,
        doc_ids TEXT NOT NULL,                -- JSON list of the papers asked of; [] = all papers
        made_with TEXT NOT NULL,              -- JSON: what made the answer (see provenance.py)
        answer TEXT NOT NULL,                 -- JSON: records.answer_record(), passages and boxes included
        PRIMARY KEY (chat_id, n)
    );
    CREATE INDEX chats_by_owner ON chats (owner, chat_id);
    """,
    # 7: a question of several papers is answered paper by paper (see answering/per_paper.py):
    # each paper's answer is a row of its own, ``part_of`` the first row's n of that question
    # (NULL: a question answered as one) and ``paper`` the paper it answers for.
    """
    ALTER TABLE chat_answers ADD COLUMN part_of INTEGER;
    ALTER TABLE chat_answers ADD COLUMN paper TEXT NOT NULL DEFAULT '';
    """,
]


class Database:
    """The work database of one data folder; one short connection per operation, so
    threads (a batch running beside the app's pages) never share a connection."""

    def __init__(self, path: Path, migrations: list[str] | None = None) -> None:
        self.path = path
        self.migrations = MIGRATIONS if migrations is None else migrations
        path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    @classmethod
    def in_folder(cls, data_dir: Path) -> Database:
        return cls(data_dir / FILE_NAME)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(self.connect()) as db, db:
            yield db

    @property
    def version(self) -> int:
        with closing(self.connect()) as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        # Two openers of a new or older file at once (the app's first page and its loading
        # thread, two processes) would both find a step to do and the second would fail on
        # it: one at a time, each reading the version only once it holds the lock.
        with FileLock(f"{self.path}.migrating", timeout=120), closing(self.connect()) as db:
            db.execute("PRAGMA journal_mode = WAL")  # readers (the pages) do not wait for the batch writer
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current > len(self.migrations):
                raise ConfigurationError(
                    f"The work database {self.path} was written by a newer version of the assistant "
                    f"(schema {current}, this one knows {len(self.migrations)}). Update the assistant, "
                    "or point it at another data folder."
                )
            for version in range(current, len(self.migrations)):
                # executescript commits first; BEGIN/COMMIT inside make each step all-or-nothing.
                db.executescript(
                    f"BEGIN;\n{self.migrations[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
                )
