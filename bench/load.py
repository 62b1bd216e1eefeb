"""Many people at once: browser sessions using Ask and Review while a batch runs and an
import of papers goes on, against one app and one library folder.

    python bench/load.py [--sessions 5] [--import-papers 20] [--latency 2] [--parallel 4]
                         [--chroma HOST:PORT]

Starts the scripted OpenAI-protocol server of ``bench/llm_server.py`` (``--latency`` s a
request, any number at once) and adds four eval papers to a new library (in a temporary
folder, on a Chroma server with ``--chroma``). First the batch alone: ``python -m
assistant batch --questions cq28`` over the four papers (112 answers, ``--parallel`` in
flight), timed. Then, at once: the app (``streamlit run app.py``); the same batch again as
a new run; ``python -m assistant ingest`` of ``--import-papers`` copies of the other eval
papers, each made distinct; and
``--sessions`` browser sessions in headless Chromium, each going round Library -> Ask
(asking a question) -> Review (saving a verdict) until the batch and the import are done.

A page's response is the time from the click (or the address opened) to the page drawn
and idle (Streamlit's running indicator gone); an answer's, from Enter to the answer
shown; a verdict's, from Save to its confirmation. Prints p50/p95/max of each, the
batch's answers/minute alone and under load, and what was lost: the batch's answers
stored, the papers added, the sessions' answers shown, errors on any page.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.app import ARGS, CHROMIUM, serving  # noqa: E402
from bench.ingest import distinct_copies  # noqa: E402
from bench.llm_server import ScriptedServer  # noqa: E402

PAPERS = ROOT.parent / "shared" / "eval" / "papers"
ASKED = ["Which optimizer was used for training?", "Which data augmentation techniques were applied?",
         "What hardware was the model trained on?", "Where is the code available?"]


def command(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def answers_stored(data_dir: Path, run_id: int) -> int:
    """Answers stored for a run (runs are numbered as they are made: the batch alone is 1)."""
    with sqlite3.connect(data_dir / "work.sqlite3") as db:
        return db.execute("SELECT count(*) FROM results WHERE run_id = ?", (run_id,)).fetchone()[0]


def timed_batch(env: dict[str, str], model: str) -> tuple[float, str]:
    started = time.perf_counter()
    proc = command(["batch", "--questions", "cq28", "--quiet"], {**env, "ASSISTANT_LLM__MODEL": model})
    out, _ = proc.communicate()
    return time.perf_counter() - started, out if proc.returncode else ""


async def idle(page) -> None:
    """Streamlit has finished drawing: its running indicator is gone (it shows within ~0.1 s)."""
    await page.wait_for_timeout(150)
    await page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=120_000)


async def one_round(n: int, rounds: int, page, step, nav, heading) -> None:
    """Ask a question, save a verdict on the Review page, go back to the Library."""
    question = ASKED[(n + rounds) % len(ASKED)]
    await step("Ask page", lambda: nav("Ask"), lambda: heading("Ask"))
    box = page.get_by_test_id("stChatInputTextArea")
    shown = await page.get_by_test_id("stChatMessage").count()
    await box.fill(question)
    await step("answer shown", lambda: box.press("Enter"),
               lambda: page.get_by_test_id("stChatMessage").nth(shown + 1).wait_for(timeout=300_000))
    await idle(page)
    await step("Review page", lambda: nav("Review"), lambda: heading("Review"))
    if await page.get_by_text("There is nothing to review yet").count() == 0:
        name = page.get_by_role("textbox", name="Your name")
        if not await name.input_value():
            await name.fill(f"reviewer {n}")
            await name.press("Enter")
            await idle(page)
        verdict = page.get_by_text("partly correct", exact=True).first
        if await verdict.count():
            await verdict.click()
            await step("verdict saved", lambda: page.get_by_role("button", name="Save verdict").first.click(),
                       lambda: page.get_by_text("Saved:").first.wait_for(timeout=120_000))
            await idle(page)
    await step("Library page", lambda: nav("Library"), lambda: heading("Library"))


async def session(n: int, browser, url: str, until, times: dict[str, list[float]], problems: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(120_000)  # two cores shared by the app, a batch, an import and the browser

    async def step(kind: str, action, done) -> None:
        started = time.perf_counter()
        await action()
        await done()
        times.setdefault(kind, []).append(time.perf_counter() - started)

    async def nav(name: str) -> None:
        await page.locator(".st-key-app_nav").get_by_text(name, exact=True).click()

    async def heading(name: str) -> None:
        await page.get_by_role("heading", name=name).first.wait_for(timeout=120_000)
        await idle(page)

    await step("page opened", lambda: page.goto(url), lambda: heading("Library"))
    await page.get_by_text("Loading the embedding model").first.wait_for(state="detached", timeout=300_000)
    rounds = 0
    while not until():
        try:
            await one_round(n, rounds, page, step, nav, heading)
        except Exception as exc:  # noqa: BLE001 - a bench reports a failed round and goes on
            problems.append(f"session {n}, round {rounds}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            await page.goto(url)
            await heading("Library")
        for error in await page.get_by_test_id("stException").all_inner_texts():
            problems.append(f"session {n}: {error[:200]}")
        rounds += 1
    times.setdefault("rounds", []).append(rounds)
    await context.close()


async def sessions(count: int, url: str, until) -> tuple[dict[str, list[float]], list[str]]:
    from playwright.async_api import async_playwright

    times: dict[str, list[float]] = {}
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        await asyncio.gather(*(session(n, browser, url, until, times, problems) for n in range(count)))
        await browser.close()
    return times, problems


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"{statistics.median(ordered):6.2f} {p95:6.2f} {ordered[-1]:6.2f} {len(ordered):5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--import-papers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the LLM server takes per request")
    parser.add_argument("--parallel", type=int, default=4, help="the batch's requests in flight")
    parser.add_argument("--chroma", help="HOST:PORT of a Chroma server to keep the passages on")
    args = parser.parse_args()
    papers = sorted(PAPERS.glob("*.pdf"))
    if len(papers) < 5:
        sys.exit(f"{PAPERS} holds {len(papers)} papers: at least 5 are needed")
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    data = work / "data"
    (work / "import").mkdir()
    with ScriptedServer(args.latency) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(ASSISTANT_DATA_DIR=str(data), ASSISTANT_LLM__PROVIDER="openai", ASSISTANT_LLM__MODEL="alone",
                   ASSISTANT_LLM__BASE_URL=server.url, ASSISTANT_LLM__MAX_PARALLEL=str(args.parallel))
        if args.chroma:
            host, port = args.chroma.rsplit(":", 1)
            env.update(ASSISTANT_CHROMA__HOST=host, ASSISTANT_CHROMA__PORT=port)
        # The import: the other papers over and over, each copy made its own.
        first, rest = papers[:4], distinct_copies(papers[4:], args.import_papers, work / "import")
        if command(["ingest", *map(str, first)], env).wait():
            sys.exit("adding the first four papers failed")
        alone, failed = timed_batch(env, "alone")
        if failed:
            sys.exit(f"the batch failed:\n{failed}")
        cells = answers_stored(data, 1)
        print(f"batch alone: {cells} answers in {alone:.1f} s: {60 * cells / alone:.1f} answers/min")

        with serving(data, {k: v for k, v in env.items() if k.startswith("ASSISTANT_")}) as (_, url):
            loaded = time.perf_counter()
            done = {"batch": False, "import": False}
            batch = command(["batch", "--questions", "cq28", "--quiet"], {**env, "ASSISTANT_LLM__MODEL": "loaded"})
            importing = command(["ingest", *map(str, rest)], env)

            def until() -> bool:
                for name, proc in (("batch", batch), ("import", importing)):
                    if not done[name] and proc.poll() is not None:
                        done[name] = time.perf_counter() - loaded
                return all(done.values())

            try:
                times, problems = asyncio.run(sessions(args.sessions, url, until))
            finally:  # a failed session must not leave the commands running
                for proc in (batch, importing):
                    if proc.poll() is None and not all(done.values()):
                        proc.terminate()
            batch_out, _ = batch.communicate()
            import_out, _ = importing.communicate()
        stored = answers_stored(data, 2)
        added = sum(1 for line in import_out.splitlines() if line.startswith("Added"))
        print(f"under load: {stored} answers in {done['batch']:.1f} s: {60 * stored / done['batch']:.1f} answers/min "
              f"({100 * (alone / done['batch']):.0f}% of the batch alone); import of {len(rest)} papers: {added} added "
              f"in {done['import']:.1f} s")
        print(f"\n{'':16} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'count':>5}")
        pages = [t for kind in ("page opened", "Ask page", "Review page", "Library page") for t in times.get(kind, [])]
        for kind in ("page opened", "Ask page", "Review page", "Library page", "verdict saved", "answer shown"):
            print(f"{kind:16} {quantiles(times.get(kind, []))}")
        print(f"{'every page':16} {quantiles(pages)}")
        print(f"rounds per session: {times.get('rounds')}")
        lost = []
        if stored != cells:
            lost.append(f"the batch stored {stored} answers of {cells}: {batch_out[-300:]}")
        if added != len(rest):
            lost.append(f"{added} of {len(rest)} papers added: {import_out[-500:]}")
        print("nothing lost" if not lost and not problems else "\n".join(["LOST OR FAILED:", *lost, *problems]))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
