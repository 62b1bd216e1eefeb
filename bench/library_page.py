"""The pages with a large library: how long the Library, Ask and Batch pages take to show.

    python bench/library_page.py [--documents 1000] [--repeat 3]

Makes N small distinct one-page papers (random words, so none looks like another), adds
them to a temporary library as one import (worker processes read, the bundled encoder
embeds: the real thing, only short), then starts the app on it and times, in headless
Chromium, each page from the click that opens it until it is drawn: the Library page
until its heading says "N documents" and the table is on the page, the Ask page until its
paper picker is there, the Batch page until its run form is. Each page is opened
``--repeat`` times; prints min and median seconds. Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_app", Path(__file__).with_name("app.py"))
bench_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_app)

WORDS = ("gull tern owl bat frog moth reef coral kelp pine oak fern moss lichen beetle ant bee wasp trout "
         "salmon eel crab shrimp seal whale otter fox deer boar hare vole mole shrew finch wren lark crow "
         "drone camera trap acoustic sensor transect quadrat survey model network layer epoch batch dropout "
         "optimizer adam momentum learning rate augmentation flip crop rotate split train test validate").split()


def papers(n: int, folder: Path) -> list[Path]:
    rng = random.Random(7)
    made = []
    for i in range(n):
        doc = pymupdf.open()
        page = doc.new_page()
        title = f"On {' '.join(rng.sample(WORDS, 3))} ({i})"
        page.insert_text((56, 80), title, fontsize=14)
        for line in range(8):
            page.insert_text((56, 120 + 16 * line), " ".join(rng.choice(WORDS) for _ in range(12)) + ".", fontsize=10)
        doc.set_metadata({"title": title})
        path = folder / f"paper-{i:04d}.pdf"
        doc.save(path)
        doc.close()
        made.append(path)
    return made


def fill(data_dir: Path, files: list[Path]) -> float:
    from assistant.config import load_settings
    from assistant.workspace import open_workspace

    workspace = open_workspace(load_settings(data_dir))
    started = time.perf_counter()
    import_id = workspace.imports.from_paths(files, "bench")
    workspace.importer().run(import_id)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="bench-library-"))
    files = papers(args.documents, Path(tempfile.mkdtemp(prefix="bench-library-papers-")))
    seconds = fill(data_dir, files)
    print(f"{args.documents} papers added in {seconds:.0f} s ({60 * args.documents / seconds:.0f} papers/min)")

    times: dict[str, list[float]] = {"Library": [], "Ask": [], "Batch": []}
    with bench_app.serving(data_dir) as (proc, url):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=bench_app.CHROMIUM, args=bench_app.ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_text(f"{args.documents} documents").first.wait_for(timeout=600_000)  # model loaded
            nav = page.locator(".st-key-app_nav")
            for _ in range(args.repeat):
                for name, drawn in [
                    ("Ask", lambda: page.get_by_text("Papers to ask about").first),
                    ("Batch", lambda: page.get_by_text("New batch: ask a question set of papers").first),
                    ("Library", lambda: page.get_by_test_id("stDataFrame").last),  # after the imports table
                ]:
                    start = time.perf_counter()
                    nav.get_by_role("link", name=name).click()
                    page.get_by_role("heading", name=name).wait_for(timeout=120_000)
                    if name == "Library":
                        page.get_by_text(f"{args.documents} documents").first.wait_for(timeout=120_000)
                    drawn().wait_for(timeout=120_000)
                    times[name].append(time.perf_counter() - start)
            browser.close()
        peak = bench_app.peak_mb(proc.pid)
    print(f"\n{'page':10} {'min s':>7} {'median s':>9}   ({args.documents} documents, {args.repeat} openings each)")
    for name, runs in times.items():
        print(f"{name:10} {min(runs):>7.2f} {statistics.median(runs):>9.2f}")
    print(f"app peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
