"""One library, several processes: questions answered and failed while terminals add papers.

    python bench/processes.py [--papers DIR] [--one-after-another 3] [--at-once 2] [--seconds-after 5]

This process plays the app: it opens a library (in a temporary folder), adds one paper,
and asks the competency questions in a loop (of all papers, and of one paper at a time)
while terminals run ``python -m assistant ingest``: first one terminal adding papers one
after another, then several terminals at once, then ``delete`` of the first paper. Then
it checks that every paper is answerable here and from a fresh process (``ask --doc``),
and that nothing is half-added. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.work.questions import competency_questions  # noqa: E402
from assistant.workspace import open_workspace  # noqa: E402


def terminal(data_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class Asker(threading.Thread):
    """Asks questions until stopped, as the app's sessions would."""

    def __init__(self, workspace, spared: set[str]) -> None:
        super().__init__(daemon=True)
        self.workspace, self.spared = workspace, spared
        self.stop = threading.Event()
        self.times: list[float] = []
        self.failures: Counter[str] = Counter()
        self.empty = 0

    def run(self) -> None:
        questions = competency_questions()
        rng = random.Random(0)
        n = 0
        while not self.stop.is_set():
            question = questions[n % len(questions)]
            docs = [d.doc_id for d in self.workspace.library.documents() if d.doc_id not in self.spared]
            scope = None if n % 2 == 0 or not docs else [rng.choice(docs)]
            started = time.perf_counter()
            try:
                answer = self.workspace.answerer.ask(question, scope)
            except Exception as exc:  # every kind counts: a person would have seen it
                self.failures[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            else:
                self.times.append(time.perf_counter() - started)
                self.empty += not answer.passages
            n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", default=str(ROOT.parent / "shared/eval/papers"))
    parser.add_argument("--one-after-another", type=int, default=3, help="papers one terminal adds in a row")
    parser.add_argument("--at-once", type=int, default=2, help="terminals adding a paper each at the same time")
    parser.add_argument("--seconds-after", type=float, default=5.0, help="asking goes on this long afterwards")
    args = parser.parse_args()

    papers = sorted(Path(args.papers).glob("*.pdf"))
    needed = 1 + args.one_after_another + args.at_once
    if len(papers) < needed:
        sys.exit(f"{needed} PDFs are needed in {args.papers}; found {len(papers)}")
    papers = sorted(papers, key=lambda p: p.stat().st_size)[:needed]  # the small ones: more rounds per minute
    with tempfile.TemporaryDirectory(prefix="processes-bench-") as tmp:
        data_dir = Path(tmp)
        workspace = open_workspace(load_settings(data_dir))
        first = workspace.library.ingest_file(papers[0]).record
        print(f"library in {data_dir}; this process added {papers[0].name} and asks questions in a loop")
        asker = Asker(workspace, spared={first.doc_id})
        asker.start()
        waits = 0

        def finish(procs: list[subprocess.Popen], label: str, started: float) -> None:
            nonlocal waits
            for p in procs:
                out, err = p.communicate()
                waits += err.count("waiting ")
                if p.returncode != 0:
                    print(f"  {label}: exit {p.returncode}\n{out}{err[-2000:]}")
            print(f"  {label}: {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        row = papers[1 : 1 + args.one_after_another]
        finish([terminal(data_dir, "ingest", *map(str, row))], f"one terminal added {len(row)} papers in a row",
               started)
        started = time.perf_counter()
        together = papers[1 + args.one_after_another : needed]
        finish([terminal(data_dir, "ingest", str(p)) for p in together],
               f"{len(together)} terminals added a paper each at once", started)
        started = time.perf_counter()
        finish([terminal(data_dir, "delete", first.doc_id)], "a terminal deleted the first paper", started)
        time.sleep(args.seconds_after)
        asker.stop.set()
        asker.join()

        library = workspace.library
        docs = library.documents()
        question = "What deep learning model was used?"
        here = 0
        for d in docs:
            try:
                here += bool(workspace.answerer.ask(question, [d.doc_id]).passages)
            except Exception as exc:  # the figure says how many failed; the first reason is shown
                print(f"  asked of {d.file_name} here afterwards: {type(exc).__name__}: {str(exc)[:120]}")
        fresh = 0
        for d in docs:
            p = terminal(data_dir, "ask", question, "--doc", d.doc_id)
            out, _ = p.communicate()
            fresh += p.returncode == 0 and f"[1] {d.file_name}" in out
        stored, catalogued = library.chunk_count(), sum(d.chunks for d in docs)
        asked = len(asker.times) + sum(asker.failures.values())
        print(f"\nquestions asked while the terminals worked: {asked}; answered {len(asker.times)}, "
              f"failed {sum(asker.failures.values())}, answered without passages {asker.empty}")
        for message, count in asker.failures.most_common():
            print(f"  {count} x {message}")
        if asker.times:
            print(f"seconds a question: median {statistics.median(asker.times):.2f}, max {max(asker.times):.2f}")
        print(f"'waiting' lines printed by the terminals: {waits}")
        print(f"afterwards: {len(docs)} papers; answerable from this process {here}/{len(docs)}, from a fresh "
              f"process {fresh}/{len(docs)}; chunks stored {stored}, catalogued {catalogued}; "
              f"unfinished writes {len(library.catalog.pending())}")


if __name__ == "__main__":
    main()
