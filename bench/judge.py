"""How long the local answered judge takes per answer, as the Ask page and a batch call
it: one answer at a time, on the bundled encoder.

    python bench/judge.py [ANSWERS.csv] [--every 40]

Judges every N-th row of a CSV with question and answer columns (default: the eval
folder's people-judged answers) once to warm up, then each one alone, and prints the
median and the slowest. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.answering.answered import AnsweredJudge  # noqa: E402
from assistant.config import EmbeddingSettings  # noqa: E402
from assistant.library.embeddings import load_embedding  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "answered" / "dev.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--every", type=int, default=40, help="judge every N-th row (default 40)")
    args = parser.parse_args()
    with args.csv.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:: args.every]
    judge = AnsweredJudge(load_embedding(EmbeddingSettings()))
    judge.verdict(rows[0]["question"], rows[0]["answer"])
    seconds = []
    for r in rows:
        started = time.perf_counter()
        judge.verdict(r["question"], r["answer"])
        seconds.append(time.perf_counter() - started)
    chars = statistics.mean(len(r["answer"]) for r in rows)
    print(f"{len(rows)} answers (mean {chars:.0f} characters), one at a time: median "
          f"{1000 * statistics.median(seconds):.0f} ms, slowest {1000 * max(seconds):.0f} ms")


if __name__ == "__main__":
    main()
