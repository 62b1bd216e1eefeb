"""Does the Batch page slow the run it shows? The same offline batch from the page (kept
open, its table refreshing) and from the command line, on one library.

    python bench/batch_page.py [--papers 3] [--leave]

Adds the first N of five eval papers to a temporary library, then asks the 28 competency
questions of them twice, offline (no LLM: every answer's cost is this machine's): once
started from the Batch page in headless Chromium, which stays open until the run ends,
and once with ``python -m assistant batch`` while nothing is open. With ``--leave`` the
page is closed once the first answer is stored (the app's process goes on with no page
to draw). The two runs are under two names of the same question set, so neither finds
the other's answers. Prints
seconds per answer of each (wall time from the first stored answer to the last, over the
answers between). Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAPERS = ROOT.parent / "shared/eval/papers"
CHOSEN = ["ronneberger2015_unet.pdf", "he2015_resnet.pdf", "ho2019_skin_lesions_dcnn_report.pdf",
          "dsgt_birdclef2022_motif_mining.pdf", "hang_hyperspectral_attention_cnn.pdf"]

_spec = importlib.util.spec_from_file_location("bench_app", Path(__file__).with_name("app.py"))
bench_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_app)


def per_answer(data_dir: Path, question_set: str) -> tuple[int, float]:
    """Answers of the run of ``question_set`` and wall seconds per answer from its first to its last."""
    with sqlite3.connect(data_dir / "work.sqlite3") as db:
        stamps = sorted(datetime.fromisoformat(r[0]) for r in db.execute(
            "SELECT r.created FROM results r JOIN runs USING (run_id) WHERE runs.question_set = ?", (question_set,)))
    if len(stamps) < 2:
        return len(stamps), float("nan")
    return len(stamps), (stamps[-1] - stamps[0]).total_seconds() / (len(stamps) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=3)
    parser.add_argument("--leave", action="store_true", help="close the page once the first answer is stored")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from assistant.config import load_settings
    from assistant.work.questions import BUILTIN
    from assistant.workspace import open_workspace

    data_dir = Path(tempfile.mkdtemp(prefix="bench-batch-page-"))
    workspace = open_workspace(load_settings(data_dir))
    for name in CHOSEN[: args.papers]:
        workspace.library.ingest_file(PAPERS / name)
    cq28 = workspace.question_sets.get(BUILTIN)
    workspace.question_sets.save("cq28-page", cq28.questions, cq28.descriptions)
    total = args.papers * len(cq28.questions)
    del workspace

    with bench_app.serving(data_dir) as (proc, url):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=bench_app.CHROMIUM, args=bench_app.ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            page.goto(url)
            page.get_by_role("heading", name="Library").wait_for(timeout=300_000)
            page.locator(".st-key-app_nav").get_by_role("link", name="Batch").click()
            page.get_by_role("heading", name="Batch").wait_for(timeout=60_000)
            form = page.get_by_test_id("stForm")
            form.get_by_test_id("stSelectbox").filter(has_text="Question set").click()
            page.get_by_role("option", name="cq28-page").click()
            page.get_by_role("button", name="Run").click()
            if args.leave:  # closed once the run has begun: the app runs it with no page to draw
                while per_answer(data_dir, "cq28-page")[0] < 1:
                    time.sleep(0.2)
                page.close()
                while per_answer(data_dir, "cq28-page")[0] < total:
                    time.sleep(1)
            else:
                page.get_by_text(f"{total} of {total} answers").first.wait_for(timeout=3_600_000)
            browser.close()
    page_n, page_s = per_answer(data_dir, "cq28-page")

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    done = subprocess.run([sys.executable, "-m", "assistant", "batch", "--questions", BUILTIN, "--quiet",
                           "--data-dir", str(data_dir)], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    cli_n, cli_s = per_answer(data_dir, BUILTIN)
    print(f"{args.papers} papers x 28 questions, offline answers, one library")
    print(f"{'started from':28} {'answers':>8} {'s per answer':>13}")
    shown = "the Batch page, then closed" if args.leave else "the Batch page, kept open"
    print(f"{shown:28} {page_n:>8} {page_s:>13.2f}")
    print(f"{'the command line':28} {cli_n:>8} {cli_s:>13.2f}")


if __name__ == "__main__":
    main()
