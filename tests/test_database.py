"""The work database: numbered migrations, run forward once, all or nothing."""

from __future__ import annotations

import sqlite3

import pytest

from assistant.database import Database
from assistant.errors import ConfigurationError


def test_database_migrates_forward_once_and_refuses_a_newer_file(tmp_path):
    path = tmp_path / "w.sqlite3"
    first = ["CREATE TABLE t (a INTEGER);"]
    Database(path, first)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO t VALUES (7)")
    second = first + ["ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x';"]
    upgraded = Database(path, second)
    assert upgraded.version == 2
    Database(path, second)  # opening again runs nothing twice
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT a, b FROM t").fetchall() == [(7, "x")]
    with pytest.raises(ConfigurationError, match="newer version"):
        Database(path, first)


def test_failed_migration_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "w.sqlite3"
    Database(path, ["CREATE TABLE t (a INTEGER);"])
    with pytest.raises(sqlite3.Error):
        Database(path, ["CREATE TABLE t (a INTEGER);", "CREATE TABLE u (a INTEGER); SELECT * FROM missing;"])
    db = Database(path, ["CREATE TABLE t (a INTEGER);"])
    assert db.version == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'u'").fetchone() is None
