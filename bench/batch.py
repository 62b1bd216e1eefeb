"""How fast a batch asks a server that serves many requests at once.

    python bench/batch.py [--latency 2] [--parallel 1 4 16] [--llms 1 3] [--paper PDF]
                          [--startup N] [--seed-logs DIR] [--in-flight 16]

Starts the scripted OpenAI-protocol server of ``bench/llm_server.py`` (every request takes
``--latency`` seconds, any number served at once, requests counted by the server), adds
one paper to a new library (in a temporary folder; its sentences are encoded and kept as
it is added, as the app and the CLI do) and, for each max_parallel and number of LLMs,
asks the 28 competency questions of it in a new run, with a new library object (nothing
in memory). The first row is the first time this library is asked these questions: it
encodes them; later rows read their vectors from the library's memory on disk, as every
run after the first does (and every paper after the first within a run).
Prints answers/s, the peak requests in flight the server saw per LLM, effective
concurrency (requests x latency / wall time, per LLM) against the goal of 0.8 x
max_parallel, and this process's CPU seconds per answer: where the CPU is the limit,
that names it.

With ``--startup N`` it times N new ``python -m assistant batch`` processes on that
library, from their start to their first request and to their last answer.

With ``--seed-logs`` (the ``Data/time_logs`` folder of the seed study's repository) it
also projects the seed study (460 papers x 28 questions x 5 LLMs, each answer followed by
its yes/no check) at the seed's own logged per-request latencies: its hours asked one at
a time, against every LLM at once with ``--in-flight`` requests each, and this machine's
CPU hours for it (at the lowest CPU per answer measured). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answering.sentence_vectors import encode_sentences_when_added  # noqa: E402
from assistant.config import LLMSettings, load_settings  # noqa: E402
from assistant.database import Database  # noqa: E402
from assistant.library.embeddings import load_embedding  # noqa: E402
from assistant.library.library import Library  # noqa: E402
from assistant.work.questions import BUILTIN, QuestionSets  # noqa: E402
from assistant.work.run_store import RunStore  # noqa: E402
from assistant.work.runner import BatchRunner  # noqa: E402
from assistant.work.runs import RunSpec  # noqa: E402  # noqa: E402
from bench.llm_server import ScriptedServer  # noqa: E402

PAPER = ROOT.parent / "shared" / "eval" / "papers" / "ronneberger2015_unet.pdf"
SEED_PAPERS, SEED_QUESTIONS = 460, 28


def forget_text_caches() -> None:
    """Empty what the assistant's modules remember of texts (a paper's units, their
    verdicts), so that each row reads its paper afresh, as a new process would; the
    loaded tokenizers and stemmers (caches of one) stay."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("assistant."):
            continue
        for found in vars(module).values():
            if isinstance(found, functools._lru_cache_wrapper) and (found.cache_parameters()["maxsize"] or 2) > 1:
                found.cache_clear()


def measure(settings, embed, server: ScriptedServer, latency: float, parallel: int, n_llms: int,
            work: Path) -> dict:
    llm = LLMSettings(provider="openai", model="m0", base_url=server.url, max_parallel=parallel)
    extra = {f"llm{i}": llm.model_copy(update={"model": f"m{i}"}) for i in range(1, n_llms)}
    config = settings.model_copy(update={"llm": llm, "extra_llms": extra})
    library = Library(config, embed)  # a cold encoder cache, as a new process has
    forget_text_caches()
    batches = RunStore(Database(Path(tempfile.mkdtemp(dir=work)) / "work.sqlite3"))  # each row a new run
    qset = QuestionSets(batches.db).get(BUILTIN)
    doc_ids = tuple(d.doc_id for d in library.documents())
    spec = RunSpec(qset.name, qset.questions, doc_ids, ("main", *extra), "cited", 4, qset.run_descriptions)
    run = batches.open_run(spec, config)
    server.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    progress = BatchRunner(library, config, batches).run(run)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = server.stats()
    requests = [stats.get(f"m{i}", {}).get("requests", 0) for i in range(n_llms)]
    peaks = [stats.get(f"m{i}", {}).get("peak_in_flight", 0) for i in range(n_llms)]
    effective = [r * latency / wall for r in requests]
    return {"parallel": parallel, "llms": n_llms, "answers": progress.new, "wall": wall, "cpu": cpu,
            "requests": sum(requests), "peak": max(peaks), "effective": min(effective)}


def startup(server: ScriptedServer, data_dir: Path, runs: int) -> None:
    """Seconds from ``python -m assistant batch`` starting (a new process) to the server's
    first request from it, and to its end (28 questions of the paper in ``data_dir``)."""
    print("\npython -m assistant batch --questions cq28, from its start:")
    for n in range(runs):
        model = f"startup-{n}-{time.time_ns()}"  # a new LLM: a new run, nothing stored yet
        env = dict(os.environ, ASSISTANT_DATA_DIR=str(data_dir), ASSISTANT_LLM__PROVIDER="openai",
                   ASSISTANT_LLM__MODEL=model, ASSISTANT_LLM__BASE_URL=server.url, ASSISTANT_LLM__MAX_PARALLEL="16")
        started = time.perf_counter()
        command = subprocess.Popen([sys.executable, "-m", "assistant", "batch", "--questions", "cq28", "--quiet"],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = None
        while command.poll() is None:
            if first is None and server.stats().get(model, {}).get("requests", 0):
                first = time.perf_counter() - started
            time.sleep(0.02)
        if command.returncode:
            print(f"  the command failed: {command.stderr.read().decode()[-500:] if command.stderr else ''}")
            return
        print(f"  first request after {first if first is not None else float('nan'):.1f} s, "
              f"last answer after {time.perf_counter() - started:.1f} s")


def _seconds(text: str) -> float:
    h, m, sec = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def seed_projection(logs: Path, cpu_per_answer: float, in_flight: int) -> None:
    """The seed study as it logged it (answers, then a yes/no check of each, one request at
    a time, one LLM after another), against every LLM at once with ``in_flight`` requests
    each, at the seed's own per-request latencies; and this machine's CPU for it."""
    answer = re.compile(r"^Document .*, CQ \d+, ([\d.]+) seconds")
    check = re.compile(r"^Time elapsed for UID .* and CQ \d+: (\d+:\d+:[\d.]+)")
    document = re.compile(r"(?:processing time: ([\d.]+) seconds|: (\d+:\d+:[\d.]+))$")
    times: dict[str, dict[str, list[float]]] = {}
    logged = {"answers": 0.0, "checks": 0.0}
    for path in sorted(logs.glob("log_per_pub_per_CQ_*.txt")):
        kind = "checks" if "_binres_" in path.name else "answers"
        name = path.stem.removeprefix("log_per_pub_per_CQ_").removeprefix("binres_")
        if name.lower().endswith("_v1"):  # a partial first attempt, run again in full
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = (check if kind == "checks" else answer).match(line)
            if m:
                seconds = _seconds(m[1]) if kind == "checks" else float(m[1])
                times.setdefault(name, {"answers": [], "checks": []})[kind].append(seconds)
    for path in sorted(logs.glob("document_time_log_*.txt")):
        if path.stem.lower().endswith("_v1"):
            continue
        kind = "checks" if "_binres_" in path.name else "answers"
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = document.search(line.strip())
            if m:
                logged[kind] += float(m[1]) if m[1] else _seconds(m[2])
    if not times:
        print(f"no per-question time logs in {logs}")
        return
    cells = SEED_PAPERS * SEED_QUESTIONS
    print(f"\nThe seed study ({SEED_PAPERS} papers x {SEED_QUESTIONS} questions x {len(times)} LLMs) at its "
          f"logged latencies; here every LLM at once, {in_flight} requests in flight each")
    print(f"{'LLM':<22} {'answers':>8} {'mean s':>7} {'checks':>7} {'mean s':>7} {'seed, 1 at a time':>18} "
          f"{'here, answers':>14} {'+ LLM checks':>13}")
    seed_total, here, here_checks = 0.0, [], []
    for name, got in times.items():
        a = statistics.fmean(got["answers"]) if got["answers"] else 0.0
        c = statistics.fmean(got["checks"]) if got["checks"] else 0.0
        sequential = cells * (a + c)
        seed_total += sequential
        here.append(cells * a / in_flight)
        here_checks.append(cells * (a + c) / in_flight)
        print(f"{name:<22} {len(got['answers']):>8} {a:>7.2f} {len(got['checks']):>7} {c:>7.2f} "
              f"{sequential / 3600:>16.1f} h {here[-1] / 3600:>12.1f} h {here_checks[-1] / 3600:>11.1f} h")
    cpu = cells * len(times) * cpu_per_answer
    print(f"seed, as logged per paper: {logged['answers'] / 3600:.0f} h of answers + {logged['checks'] / 3600:.0f} h "
          f"of checks; from the per-question latencies, one after another: {seed_total / 3600:.0f} h")
    print(f"here, all LLMs at once: {max(here) / 3600:.1f} h with the local judge (no check requests), "
          f"{max(here_checks) / 3600:.1f} h with the LLMs checking (the slowest LLM; servers assumed to answer "
          f"{in_flight} at once as fast as one)")
    print(f"this machine's CPU for it: {cpu / 3600:.1f} h at {cpu_per_answer:.2f} s per answer "
          f"({cells * len(times)} answers; {cpu / max(max(here), 1):.2f} of a core per second of the run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the server takes per request")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4, 16], help="max_parallel values")
    parser.add_argument("--llms", type=int, nargs="+", default=[1, 3], help="numbers of LLMs asked at once")
    parser.add_argument("--paper", type=Path, default=PAPER)
    parser.add_argument("--seed-logs", type=Path, help="the seed repository's Data/time_logs folder")
    parser.add_argument("--startup", type=int, default=0, metavar="N",
                        help="also time N runs of `python -m assistant batch` from its start to its first request")
    parser.add_argument("--in-flight", type=int, default=16, help="requests in flight per LLM in the projection")
    args = parser.parse_args()
    if not args.paper.is_file():
        sys.exit(f"{args.paper} not found: give a PDF with --paper")
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(args.latency) as server:
        settings = load_settings(Path(tmp) / "data")
        embed = load_embedding(settings.embedding)
        encode_sentences_when_added(Library(settings, embed)).ingest_file(args.paper)
        print(f"server {server.url}: {args.latency:g} s per request; {args.paper.name}, {SEED_QUESTIONS} questions")
        print(f"{'max_parallel':>12} {'LLMs':>5} {'answers':>8} {'wall s':>7} {'answers/s':>10} {'requests':>9} "
              f"{'peak':>5} {'effective':>10} {'goal':>6} {'CPU s/answer':>13}")
        cpu_per_cell = []
        for parallel in args.parallel:
            for n_llms in args.llms:
                r = measure(settings, embed, server, args.latency, parallel, n_llms, Path(tmp))
                goal = 0.8 * parallel
                flag = "" if r["effective"] >= goal else " <"
                cpu_answer = r["cpu"] / max(r["answers"], 1)
                cpu_per_cell.append(r["cpu"] / max(r["answers"] / n_llms, 1))
                rate = r["answers"] / r["wall"]
                print(f"{parallel:>12} {n_llms:>5} {r['answers']:>8} {r['wall']:>7.1f} {rate:>10.2f} "
                      f"{r['requests']:>9} {r['peak']:>5} {r['effective']:>10.1f} {goal:>6.1f} "
                      f"{cpu_answer:>13.2f}{flag}")
        best_cpu = min(cpu_per_cell)
        print(f"\nCPU per paper and question (retrieval and evidence, shared by the LLMs): {best_cpu:.2f} s, so this "
              f"machine gives at most {1 / best_cpu:.1f} papers x questions per second whatever the servers do "
              "(< marks a goal missed)")
        if args.startup:
            startup(server, settings.data_dir, args.startup)
        if args.seed_logs:
            seed_projection(args.seed_logs, best_cpu, args.in_flight)


if __name__ == "__main__":
    main()
