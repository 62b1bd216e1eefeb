"""Adding many PDFs at once: files dropped on the Library page, a zip, a folder, or the
paths given to ``python -m assistant ingest``.

An import is a list of files written down in the work database before any of them is
read; dropped files and a zip's PDFs are first copied into the data folder, so nothing
depends on the browser session that sent them. Whoever runs the import records each
file's outcome the moment it has one, so a process that stops (a closed tab does not
stop it; a restart or kill -9 does) loses at most the files in hand: the app takes up
its own unfinished imports when it starts again, and a command run again finds what it
added already stored.

Reading (parsing, OCR) is the part that scales with cores, embedding the part that is
one model's: files are read in worker processes (``imports.workers``, default one fewer
than the cores) while this process embeds and stores the ones read before. One bad file
is reported and the others go on. When a worker dies (a reader crash on a hostile file,
or killed), the files it may have been reading are read again one by one, each in a
worker of its own: the one that kills that worker too is reported, the others are added.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from ..errors import AssistantError
from ..pdf.reader import FileReading, ReadOptions, read_file
from ..types import IngestProgress
from .import_queue import (  # noqa: F401 - the queue's names, as callers imported them from here
    ADDED,
    APP,
    EXISTS,
    FAILED,
    HANDLED,
    LOCKED,
    QUEUED,
    STAGING,
    TERMINAL,
    ImportFile,
    ImportJob,
    ImportProgress,
    Imports,
    _count,
)
from .library import Library

log = logging.getLogger(__name__)

TASKS_PER_WORKER = 25  # a worker is replaced after this many files, so a leak cannot grow with the import


def end_with_parent() -> None:
    """In a reading worker: end as soon as the process that started it has ended, however it
    ended (a clean stop, a crash, kill -9). A worker waits on its task queue, whose pipe it
    holds open itself, so without this it waited for ever, holding its memory, once its
    parent was gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        # The sentinel becomes readable when the parent's end of it closes: when the parent ends.
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


FileCallback = Callable[[ImportFile], None]
ProgressCallback = Callable[[ImportProgress], None]


class Importer:
    """Runs one import: worker processes read, this process embeds and stores."""

    def __init__(self, library: Library, imports: Imports, workers: int) -> None:
        self.library = library
        self.imports = imports
        self.workers = max(1, workers)

    def run(self, import_id: int, should_stop: Callable[[], bool] = lambda: False,
            on_progress: ProgressCallback | None = None, on_file: FileCallback | None = None,
            password: str | None = None) -> ImportProgress:
        """Handle the files of an import still queued; returns the progress at the end.
        Stopping leaves the files not handled queued (whoever runs it next goes on).
        ``password`` opens protected files (used for this reading only)."""
        if not self.imports.claim(import_id):
            raise AssistantError(f"Import #{import_id} is being worked on by another process, or is finished.")
        try:
            files = self.imports.files(import_id)
            progress = ImportProgress(import_id, total=len(files), done=sum(f.state != QUEUED for f in files))
            self._run([f for f in files if f.state == QUEUED], progress, should_stop,
                      on_progress or (lambda p: None), on_file or (lambda f: None), password)
            return progress
        finally:
            self.imports.release(import_id)

    def _run(self, queued: list[ImportFile], progress: ImportProgress, should_stop: Callable[[], bool],
             on_progress: ProgressCallback, on_file: FileCallback, password: str | None) -> None:
        def done(file: ImportFile, state: str, message: str = "", doc_id: str = "", like_id: str = "",
                 seconds: float = 0.0) -> None:
            self.imports.record(file, state, message, doc_id, like_id, seconds)
            progress.done += 1
            progress.counts[state] = progress.counts.get(state, 0) + 1
            progress.current = ""
            on_file(replace(file, state=state, message=message, doc_id=doc_id, like_id=like_id, seconds=seconds))
            on_progress(progress)

        todo = deque(queued)
        options = self.library.read_options(password)
        on_progress(progress)
        while todo and not should_stop():
            pool = self._pool()
            in_hand: deque[tuple[ImportFile, Future[FileReading] | tuple[str, str, str]]] = deque()
            broken = False
            try:
                while (todo or in_hand) and not should_stop():
                    # Keep every worker busy, and one file more, while this process embeds.
                    while todo and len(in_hand) <= self.workers and not broken:
                        file = todo.popleft()
                        in_hand.append((file, self._submit(pool, file, options)))
                    if not in_hand:
                        break
                    file, future = in_hand.popleft()
                    if isinstance(future, tuple):  # settled without reading: said in the files' order
                        done(file, *future)
                        continue
                    try:
                        reading = future.result()
                    except BrokenProcessPool:
                        # A worker died (a reader crash, or killed): which file did it is unknown,
                        # so each file in hand is read again on its own, then the rest go on.
                        suspects = [(file, future), *in_hand]
                        in_hand.clear()
                        broken = True
                        for suspect, was in suspects:
                            if isinstance(was, tuple):
                                done(suspect, *was)
                            else:
                                self._alone(suspect, options, progress, on_progress, done)
                        break
                    self._add(file, reading, progress, on_progress, done)
            finally:
                for _, future in in_hand:
                    if isinstance(future, Future):
                        future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
            if not broken:
                break

    def _alone(self, file: ImportFile, options: ReadOptions, progress: ImportProgress,
               on_progress: ProgressCallback, done) -> None:
        """Read one file in a worker of its own: the file that kills this one is the culprit."""
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=end_with_parent) as pool:
            try:
                reading = pool.submit(read_file, file.path, file.name, options).result()
            except BrokenProcessPool:
                done(file, FAILED, f"{file.name} crashed the PDF reader and was left out. The file may be damaged; "
                     "download it again, or save it anew from a PDF viewer.")
                return
        self._add(file, reading, progress, on_progress, done)

    def _pool(self) -> ProcessPoolExecutor:
        # spawn: a fork of a process running threads (the app, the encoder) may hang in the child.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   max_tasks_per_child=TASKS_PER_WORKER, initializer=end_with_parent)

    def _submit(self, pool: ProcessPoolExecutor, file: ImportFile,
                options: ReadOptions) -> Future[FileReading] | tuple[str, str, str]:
        """Send a file to be read, unless it is stored already (same bytes: nothing to
        read) or cannot be opened: then its outcome (state, message, document)."""
        if not file.path:
            return FAILED, file.message, ""
        try:
            with open(file.path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            return FAILED, f"{file.name} could not be read ({exc.strerror}). Check that it is still there.", ""
        known = self.library.known(data)
        if known is not None:
            return EXISTS, f"{file.name}: already in the library (as {known.file_name}).", known.doc_id
        return pool.submit(read_file, file.path, file.name, options)

    def _add(self, file: ImportFile, reading: FileReading, progress: ImportProgress, on_progress: ProgressCallback,
             done) -> None:
        if reading.locked:
            done(file, LOCKED, reading.error)
            return
        if reading.parsed is None:
            done(file, FAILED, reading.error)
            return

        def stage(p: IngestProgress) -> None:
            progress.current = f"{file.name}: {p.note or p.stage}"
            on_progress(progress)

        started = time.perf_counter()
        try:
            result = self.library.add_read(reading.parsed, reading.data, stage)
        except AssistantError as exc:
            done(file, FAILED, str(exc))
            return
        except Exception as exc:  # one file's surprise must not stop the others
            log.exception("adding %s failed", file.name)
            done(file, FAILED, f"{file.name} could not be added ({type(exc).__name__}: {exc}).")
            return
        seconds = reading.seconds + time.perf_counter() - started
        record = result.record
        if result.already_present:
            done(file, EXISTS, f"{file.name}: already in the library (as {record.file_name}).", record.doc_id)
            return
        notes = "".join(f"; {n}" for n in record.notes)
        message = (f"{record.file_name}: added, {_count(record.pages, 'page')}, {_count(record.chunks, 'passage')} "
                   f"in {seconds:.1f} s{notes}.")
        if result.like is not None:
            message += (f" It looks like the same paper as {result.like.file_name} ({100 * result.likeness:.0f}% of "
                        "the text in common): delete one of them if it is a copy.")
        done(file, ADDED, message, record.doc_id, result.like.doc_id if result.like else "", seconds)


class BackgroundImports:
    """Imports made in the app, run on one thread of this process (one at a time: the
    encoder is shared), so they go on while pages change or close."""

    def __init__(self, library: Library, imports: Imports, workers: int) -> None:
        self.library = library
        self.imports = imports
        self.workers = workers
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._progress: dict[int, ImportProgress] = {}
        self._stop: set[int] = set()

    def kick(self, library: Library | None = None, workers: int | None = None) -> None:
        """Work through the app's unfinished imports, unless already at it. ``library``
        (built from the settings as they are now) and ``workers`` apply from the next import."""
        with self._lock:
            self.library = library or self.library
            self.workers = workers or self.workers
            if self._thread and self._thread.is_alive():
                return
            if not self.imports.unfinished(APP):
                self.imports.clean_staging()
                return
            self._thread = threading.Thread(target=self._work, name="imports", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        tried: set[int] = set()
        while True:
            with self._lock:  # with kick()'s check under the same lock, no import is left waiting
                waiting = [i for i in self.imports.unfinished(APP) if i not in tried]
                if not waiting:
                    self._thread = None
                    return
                importer = Importer(self.library, self.imports, self.workers)
            import_id = waiting[0]
            tried.add(import_id)

            def seen(p: ImportProgress, import_id: int = import_id) -> None:
                with self._lock:
                    self._progress[import_id] = p.copy()

            try:
                importer.run(import_id, should_stop=lambda i=import_id: i in self._stop, on_progress=seen)
            except AssistantError as exc:
                log.warning("import #%s: %s", import_id, exc)
            except Exception:
                log.exception("import #%s stopped", import_id)
            with self._lock:
                self._progress.pop(import_id, None)
                self._stop.discard(import_id)

    def cancel(self, import_id: int) -> None:
        """Stop after the file being stored; the files left stay queued."""
        with self._lock:
            self._stop.add(import_id)

    def progress(self, import_id: int) -> ImportProgress | None:
        with self._lock:
            p = self._progress.get(import_id)
            return p.copy() if p else None

    def busy(self) -> bool:
        with self._lock:
            return bool(self._thread and self._thread.is_alive())

    def wait(self, timeout: float | None = None) -> None:
        with self._lock:
            thread = self._thread
        if thread:
            thread.join(timeout)
