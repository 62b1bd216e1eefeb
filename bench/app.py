"""App start to interactive, to loaded, and the app's memory peak with the model loaded.

    python bench/app.py [--pdf PAPER.pdf]

Starts the app (streamlit run app.py) on a free port with an empty temporary library,
opens it in headless Chromium and times: process start -> health check answers -> the
Library page is interactive (its upload box is shown) -> the library and the embedding
model have loaded (the page's loading note is gone) -> a paper is added -> a question is
answered on the Ask page. The app process's peak resident memory (VmHWM) is read after
each step. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ASSISTANT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def peak_mb(pid: int) -> float:
    """Peak resident memory of the process and its children so far, in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@contextmanager
def serving(data_dir: str | Path, settings: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """The app (streamlit run app.py) on a free port over ``data_dir``, once it answers its
    health check: (its process, its URL). ``settings``: ASSISTANT_* variables for it (none
    of this shell's are passed). Stopped on leaving."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(settings or {})
    env["ASSISTANT_DATA_DIR"] = str(data_dir)
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf", default=str(ROOT.parent / "shared/eval/papers/ronneberger2015_unet.pdf"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, float, float]] = []
    started = time.perf_counter()
    with serving(tempfile.mkdtemp(prefix="bench-app-")) as (proc, url):

        def mark(step: str) -> None:
            rows.append((step, time.perf_counter() - started, peak_mb(proc.pid)))

        mark("server answers its health check")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("heading", name="Library").wait_for(timeout=300_000)
            page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=300_000)
            mark("Library page interactive (upload box)")
            # The page is drawn before the model has loaded and says so until it has.
            page.get_by_text("Loading the embedding model").first.wait_for(state="detached", timeout=300_000)
            mark("library and embedding model loaded")
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(args.pdf)
            page.get_by_text("1 document").first.wait_for(timeout=600_000)
            mark(f"{Path(args.pdf).name} added")
            page.locator(".st-key-app_nav").get_by_text("Ask").click()
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(timeout=120_000)
            box.fill("Which optimizer settings (batch size, momentum) were used for training?")
            box.press("Enter")
            page.locator("mark.support").first.wait_for(timeout=300_000)
            mark("a question answered with evidence")
            browser.close()
    print(f"{'step':45} {'seconds':>8} {'peak MB':>8}")
    for step, seconds, mb in rows:
        print(f"{step:45} {seconds:>8.1f} {mb:>8.0f}")


if __name__ == "__main__":
    main()
