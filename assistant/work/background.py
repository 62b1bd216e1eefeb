"""Batch runs going on in the background of this process: at most one thread per run,
started and cancelled from the Batch page, read by it while they go (a copy of their
progress, safe to read at any moment).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ..errors import AssistantError
from .runner import BatchRunner, Progress
from .runs import Run

log = logging.getLogger(__name__)


@dataclass
class JobState:
    """A background run as its page sees it: a copy, safe to read while the run goes on."""

    running: bool
    progress: Progress | None
    error: str = ""


class BackgroundRuns:
    """Batch runs on threads of this process, at most one per run, so a run goes on while
    its page is closed. A run that was going when the process ended is simply incomplete:
    starting it again resumes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple[threading.Thread, threading.Event, JobState]] = {}

    def start(self, run: Run, runner: BatchRunner) -> bool:
        """Start ``run`` unless it is already going; True when started."""
        with self._lock:
            job = self._jobs.get(run.run_id)
            if job and job[0].is_alive():
                return False
            stop = threading.Event()
            state = JobState(running=True, progress=None)
            thread = threading.Thread(target=self._work, args=(run, runner, stop, state),
                                      name=f"batch-{run.run_id}", daemon=True)
            self._jobs[run.run_id] = (thread, stop, state)
            thread.start()
            return True

    def _work(self, run: Run, runner: BatchRunner, stop: threading.Event, state: JobState) -> None:
        def seen(p: Progress) -> None:
            with self._lock:
                state.progress = p.copy()

        try:
            seen(runner.run(run, should_stop=stop.is_set, on_progress=seen))
        except AssistantError as exc:
            state.error = str(exc)
        except Exception as exc:  # a thread's error would otherwise vanish; show it on the page
            log.exception("batch run %s failed", run.run_id)
            state.error = f"The batch stopped on an unexpected error: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                state.running = False

    def cancel(self, run_id: int) -> None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job:
            job[1].set()

    def state(self, run_id: int) -> JobState | None:
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                return None
            s = job[2]
            return JobState(s.running, s.progress and s.progress.copy(), s.error)

    def wait(self, run_id: int, timeout: float | None = None) -> None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job:
            job[0].join(timeout)
