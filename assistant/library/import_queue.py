"""The list of files an import will add, kept in the work database: files dropped on the
Library page, a zip's PDFs and a folder's are written down (dropped and zipped ones
copied into the data folder) before any is read, and each file's outcome is recorded the
moment it has one. See imports.py for who works through the list.

Kept apart from the reading and embedding (imports.py) so that the app's first page can
take files before the embedding model has loaded: dropped files are queued at once and
added when it is ready.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..config import Settings
from ..database import Database
from ..errors import AssistantError
from .files import process_alive, safe_file_name

QUEUED, ADDED, EXISTS, FAILED, LOCKED = "queued", "added", "exists", "failed", "locked"
HANDLED = (ADDED, EXISTS, FAILED, LOCKED)
APP, TERMINAL = "app", "terminal"
STAGING = "imports"  # the data folder's subfolder holding copies of dropped and zipped files


def _token() -> str:
    """This process, as recorded as an import's owner: the pid alone could be a restarted
    app's (pid 1 in a container, every time)."""
    global _TOKEN
    if _TOKEN is None or _TOKEN[0] != os.getpid():
        _TOKEN = (os.getpid(), f"{os.getpid()}:{uuid.uuid4().hex[:10]}")
    return _TOKEN[1]


_TOKEN: tuple[int, str] | None = None


def _owner_alive(owner: str) -> bool:
    if not owner:
        return False
    if owner == _token():
        return True
    pid = int(owner.split(":", 1)[0])
    return pid != os.getpid() and process_alive(pid)  # our pid with another token: an earlier process


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ImportFile:
    import_id: int
    n: int
    name: str
    path: str
    staged: bool
    state: str
    message: str = ""
    doc_id: str = ""
    like_id: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class ImportJob:
    import_id: int
    label: str
    origin: str
    owner: str
    created: datetime
    finished: datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.total - self.counts.get(QUEUED, 0)

    @property
    def running(self) -> bool:
        return self.finished is None and _owner_alive(self.owner)

    def summary(self) -> str:
        parts = [f"{self.counts[s]} {word}" for s, word in
                 ((ADDED, "added"), (EXISTS, "already there"), (LOCKED, "need a password"), (FAILED, "not added"),
                  (QUEUED, "waiting")) if self.counts.get(s)]
        return ", ".join(parts) or "no files"


@dataclass(frozen=True)
class UnderWay:
    """The imports not finished yet, together: files added so far, files in all, files
    still to be handled."""

    added: int
    total: int
    waiting: int

    def __str__(self) -> str:
        return f"{self.added} of {self.total} added, {self.waiting} being added"


@dataclass
class ImportProgress:
    """Where a running import is: ``done`` of ``total`` files handled, ``current`` the file
    being embedded and its stage."""

    import_id: int
    total: int
    done: int = 0
    current: str = ""
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    def copy(self) -> ImportProgress:
        return replace(self, counts=dict(self.counts))

    @property
    def per_minute(self) -> float | None:
        elapsed = time.monotonic() - self.started
        handled = sum(self.counts.values())
        return 60 * handled / elapsed if handled and elapsed > 0 else None


class Imports:
    """The imports of one data folder, kept in its work database."""

    def __init__(self, database: Database, data_dir: Path, max_bytes: int) -> None:
        self.database = database
        self.staging = data_dir / STAGING
        self.max_bytes = max_bytes

    @classmethod
    def of(cls, settings: Settings, database: Database | None = None) -> Imports:
        """The imports of the library ``settings`` name, files limited to its largest size."""
        return cls(database or Database.in_folder(settings.data_dir), settings.data_dir,
                   settings.max_file_mb * 1_000_000)

    # --- making an import -----------------------------------------------------------

    def from_uploads(self, files: Sequence[tuple[str, bytes]], origin: str = APP) -> int:
        """Copy uploaded files into the data folder and queue them."""
        folder = self._folder()
        entries = []
        for n, (name, data) in enumerate(files):
            path = folder / f"{n}.pdf"
            path.write_bytes(data)
            entries.append((safe_file_name(name), str(path), True, QUEUED, ""))
        label = entries[0][0] if len(entries) == 1 else f"{len(entries)} dropped files"
        return self._create(label, origin, entries)

    def from_zip(self, source: BinaryIO | Path, name: str, origin: str = APP) -> int:
        """Queue the PDFs of a zip file. Members are written under names of our own, never
        their stored paths (a "../" in a zip cannot write outside the staging folder), and
        no member is read past the size limit whatever its header claims."""
        label = safe_file_name(name)
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise AssistantError(f"{label} is not a readable zip file ({exc}). Zip the PDFs again, "
                                 "or add them as files.") from exc
        folder = self._folder()
        entries = []
        with archive:
            members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".pdf")
                       and not i.filename.startswith("__MACOSX/")]
            for n, info in enumerate(members):
                shown = safe_file_name(info.filename)
                if info.flag_bits & 0x1:
                    entries.append((shown, "", False, FAILED, f"{shown} is encrypted inside {label}. Zip it "
                                    "without a password, or add it on its own."))
                    continue
                path = folder / f"{n}.pdf"
                try:
                    too_big = self._copy_member(archive, info, path)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                    path.unlink(missing_ok=True)
                    entries.append((shown, "", False, FAILED, f"{shown} could not be unpacked from {label} ({exc})."))
                    continue
                if too_big:
                    path.unlink(missing_ok=True)
                    entries.append((shown, "", False, FAILED, f"{shown} is over the limit of "
                                    f"{self.max_bytes / 1e6:.0f} MB. Raise ASSISTANT_MAX_FILE_MB or split the PDF."))
                    continue
                entries.append((shown, str(path), True, QUEUED, ""))
        if not entries:
            shutil.rmtree(folder, ignore_errors=True)
            raise AssistantError(f"{label} holds no PDF files. Nothing was added.")
        return self._create(label, origin, entries)

    def _copy_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bool:
        """Unpack one member to ``path``; True when it is over the size limit."""
        if info.file_size > self.max_bytes:
            return True
        written = 0
        with archive.open(info) as src, path.open("wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > self.max_bytes:
                    return True
                dst.write(chunk)
        return False

    def from_folder(self, folder: str | Path, root: Path | None, origin: str = APP) -> int:
        """Queue every PDF under ``folder``, which must lie under the import ``root`` the
        operator set (a relative folder is taken from there). Files are read where they
        are; links that lead out of the root are not followed."""
        if root is None:
            raise AssistantError("Importing a folder from the app's machine is not set up. The operator sets the "
                                 "folder it may read from with ASSISTANT_IMPORTS__ROOT.")
        base = Path(root).expanduser().resolve()
        target = (base / Path(folder).expanduser()).resolve()
        if not target.is_relative_to(base):
            raise AssistantError(f"{folder} is outside the import folder {base}. Give a folder under it.")
        if not target.is_dir():
            raise AssistantError(f"There is no folder {target}. Give a folder under {base}.")
        files = sorted(p for p in target.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()
                       and p.resolve().is_relative_to(base))
        if not files:
            raise AssistantError(f"{target} holds no PDF files. Nothing was added.")
        label = str(target.relative_to(base)) if target != base else base.name
        return self._create(f"folder {label}", origin, [(p.name, str(p), False, QUEUED, "") for p in files])

    def from_paths(self, paths: Sequence[Path], label: str, origin: str = TERMINAL) -> int:
        """Queue files named on a command line (read where they are)."""
        return self._create(label, origin, [(p.name, str(p), False, QUEUED, "") for p in paths])

    def _folder(self) -> Path:
        folder = self.staging / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        return folder

    def _create(self, label: str, origin: str, entries: Sequence[tuple[str, str, bool, str, str]]) -> int:
        with self.database.transaction() as db:
            cursor = db.execute("INSERT INTO imports (label, origin, owner, created) VALUES (?, ?, '', ?)",
                                (label, origin, _now()))
            import_id = int(cursor.lastrowid)
            db.executemany(
                "INSERT INTO import_files (import_id, n, name, path, staged, state, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(import_id, n, name, path, int(staged), state, message)
                 for n, (name, path, staged, state, message) in enumerate(entries)],
            )
        return import_id

    # --- reading it back ------------------------------------------------------------

    def jobs(self, limit: int = 20) -> list[ImportJob]:
        """The newest imports first."""
        with self.database.transaction() as db:
            rows = db.execute("SELECT * FROM imports ORDER BY import_id DESC LIMIT ?", (limit,)).fetchall()
            counts = self._counts(db, [r["import_id"] for r in rows])
        return [self._job(r, counts.get(r["import_id"], {})) for r in rows]

    def under_way(self) -> UnderWay | None:
        """The imports going on or waiting to go on (the app's own, which it takes up
        again; a terminal's only while its command runs), or None when there are none."""
        jobs = [j for j in self.jobs(limit=50) if j.finished is None and (j.running or j.origin == APP)]
        if not jobs:
            return None
        return UnderWay(sum(j.counts.get(ADDED, 0) for j in jobs), sum(j.total for j in jobs),
                        sum(j.counts.get(QUEUED, 0) for j in jobs))

    def job(self, import_id: int) -> ImportJob:
        with self.database.transaction() as db:
            row = db.execute("SELECT * FROM imports WHERE import_id = ?", (import_id,)).fetchone()
            if row is None:
                raise AssistantError(f"There is no import #{import_id}.")
            return self._job(row, self._counts(db, [import_id]).get(import_id, {}))

    @staticmethod
    def _counts(db, ids: Sequence[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        if not ids:
            return counts
        marks = ",".join("?" * len(ids))
        for r in db.execute(f"SELECT import_id, state, COUNT(*) AS c FROM import_files WHERE import_id IN ({marks}) "
                            "GROUP BY import_id, state", list(ids)):
            counts.setdefault(r["import_id"], {})[r["state"]] = r["c"]
        return counts

    @staticmethod
    def _job(row, counts: dict[str, int]) -> ImportJob:
        return ImportJob(row["import_id"], row["label"], row["origin"], row["owner"],
                         datetime.fromisoformat(row["created"]),
                         datetime.fromisoformat(row["finished"]) if row["finished"] else None, counts)

    def files(self, import_id: int, states: Iterable[str] | None = None) -> list[ImportFile]:
        wanted = tuple(states) if states is not None else None
        with self.database.transaction() as db:
            rows = db.execute("SELECT * FROM import_files WHERE import_id = ? ORDER BY n", (import_id,)).fetchall()
        return [ImportFile(r["import_id"], r["n"], r["name"], r["path"], bool(r["staged"]), r["state"], r["message"],
                           r["doc_id"], r["like_id"], r["seconds"])
                for r in rows if wanted is None or r["state"] in wanted]

    def waiting_for_password(self) -> list[ImportFile]:
        """Protected files of every import, kept until their password is given or they are dismissed."""
        with self.database.transaction() as db:
            ids = [r[0] for r in db.execute(
                "SELECT DISTINCT import_id FROM import_files WHERE state = ? AND path != ''", (LOCKED,))]
        return [f for i in ids for f in self.files(i, [LOCKED]) if f.path]

    def unfinished(self, origin: str = APP) -> list[int]:
        """Imports of ``origin`` with files left and nobody working on them, oldest first."""
        with self.database.transaction() as db:
            rows = db.execute("SELECT import_id, owner FROM imports WHERE finished IS NULL AND origin = ? "
                              "ORDER BY import_id", (origin,)).fetchall()
        return [r["import_id"] for r in rows if not _owner_alive(r["owner"])]

    # --- working on it --------------------------------------------------------------

    def claim(self, import_id: int) -> bool:
        """Become the one process working on an import; False when a live one is."""
        with self.database.transaction() as db:
            row = db.execute("SELECT owner, finished FROM imports WHERE import_id = ?", (import_id,)).fetchone()
            if row is None or row["finished"] is not None or _owner_alive(row["owner"]):
                return False  # (a thread of this process may be the one at it)
            # The owner read above is the one replaced: two processes claiming at once cannot both win.
            return db.execute("UPDATE imports SET owner = ? WHERE import_id = ? AND owner = ?",
                              (_token(), import_id, row["owner"])).rowcount == 1

    def release(self, import_id: int) -> None:
        """Stop working on an import; it is finished when no file waits."""
        with self.database.transaction() as db:
            left = db.execute("SELECT COUNT(*) FROM import_files WHERE import_id = ? AND state = ?",
                              (import_id, QUEUED)).fetchone()[0]
            db.execute("UPDATE imports SET owner = '', finished = ? WHERE import_id = ? AND owner = ?",
                       (None if left else _now(), import_id, _token()))
        if not left:
            self._drop_staged(import_id)

    def record(self, file: ImportFile, state: str, message: str = "", doc_id: str = "", like_id: str = "",
               seconds: float = 0.0) -> None:
        with self.database.transaction() as db:
            db.execute("UPDATE import_files SET state = ?, message = ?, doc_id = ?, like_id = ?, seconds = ? "
                       "WHERE import_id = ? AND n = ?",
                       (state, message, doc_id, like_id, seconds, file.import_id, file.n))
        if file.staged and state != LOCKED:
            Path(file.path).unlink(missing_ok=True)

    def dismiss(self, file: ImportFile) -> None:
        """Give up on a protected file: its copy is removed."""
        self.record(file, FAILED, f"{file.name}: not added (its password was not given).")

    def _drop_staged(self, import_id: int) -> None:
        """Remove an import's staging folder once nothing in it is still wanted."""
        files = self.files(import_id)
        if any(f.staged and f.state == LOCKED for f in files):
            return
        for f in files:
            if f.staged and f.path:
                shutil.rmtree(Path(f.path).parent, ignore_errors=True)
                return

    def clean_staging(self) -> int:
        """Remove staged copies no import refers to (left by a process stopped while copying)."""
        if not self.staging.is_dir():
            return 0
        with self.database.transaction() as db:
            wanted = {Path(r[0]).parent.name for r in db.execute(
                "SELECT path FROM import_files WHERE staged = 1 AND state IN (?, ?)", (QUEUED, LOCKED))}
        removed = 0
        for folder in self.staging.iterdir():
            # A folder younger than a minute may be one another process is filling right now.
            if folder.name not in wanted and time.time() - folder.stat().st_mtime > 60:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
