"""How fast a batch asks a server that serves many requests at once.

    python bench/batch.py [--latency 2] [--parallel 1 4 16] [--llms 1 3] [--paper PDF] [--seed-logs DIR]

Starts the scripted OpenAI-protocol server of ``bench/llm_server.py`` (every request takes
``--latency`` seconds, any number served at once, requests counted by the server), adds
one paper to a new library (in a temporary folder) and, for each max_parallel and number
of LLMs, asks the 28 competency questions of it in a new run with a cold encoder cache.
Prints answers/s, the peak requests in flight the server saw per LLM, effective
concurrency (requests x latency / wall time, per LLM) against the goal of 0.8 x
max_parallel, and this process's CPU seconds per answer: where the CPU is the limit,
that names it.

With ``--seed-logs`` (the ``Data/time_logs`` folder of the seed study's repository) it
also projects the seed study (460 papers x 28 questions x 5 LLMs, each answer followed by
its yes/no check) at the seed's own logged per-request latencies: its hours asked one at
a time, against this batch's defaults (every LLM at once, 4 requests in flight each).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def measure(settings, embed, server: ScriptedServer, latency: float, parallel: int, n_llms: int,
            work: Path) -> dict:
    llm = LLMSettings(provider="openai", model="m0", base_url=server.url, max_parallel=parallel)
    extra = {f"llm{i}": llm.model_copy(update={"model": f"m{i}"}) for i in range(1, n_llms)}
    config = settings.model_copy(update={"llm": llm, "extra_llms": extra})
    library = Library(config, embed)  # a cold encoder cache, as a new process has
    batches = RunStore(Database(work / f"work-{parallel}-{n_llms}.sqlite3"))
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


def seed_projection(logs: Path, cpu_per_cell: float) -> None:
    """The seed study's hours, one request at a time, against every LLM at once with 4 in flight each."""
    answer_time = re.compile(r"CQ (\d+)(?:, ([\d.]+) seconds|: (\d+):(\d+):([\d.]+))")
    by_llm: dict[str, list[float]] = {}
    for path in sorted(logs.glob("log_per_pub_per_CQ_*.txt")):
        name = path.stem.removeprefix("log_per_pub_per_CQ_").removeprefix("binres_").removesuffix("_V1")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = answer_time.search(line)
            if m:
                seconds = float(m[2]) if m[2] else int(m[3]) * 3600 + int(m[4]) * 60 + float(m[5])
                by_llm.setdefault(name, []).append(seconds)
    if not by_llm:
        print(f"no per-question time logs in {logs}")
        return
    print(f"\nThe seed study at its own latencies: {SEED_PAPERS} papers x {SEED_QUESTIONS} questions, answer + "
          "yes/no check per cell")
    print(f"{'LLM':<22} {'requests logged':>15} {'median s':>9} {'mean s':>8} {'seed, 1 at a time':>18} "
          f"{'here, 4 in flight':>18}")
    cells = SEED_PAPERS * SEED_QUESTIONS
    seed_total, ours = 0.0, []
    for name, times in by_llm.items():
        mean = statistics.fmean(times)
        sequential = 2 * cells * mean  # an answer and its check per cell
        parallel = sequential / 4
        seed_total += sequential
        ours.append(parallel)
        print(f"{name:<22} {len(times):>15} {statistics.median(times):>9.2f} {mean:>8.2f} "
              f"{sequential / 3600:>16.1f} h {parallel / 3600:>16.1f} h")
    cpu = cells * cpu_per_cell
    print(f"seed, LLMs one after another: {seed_total / 3600:.0f} h; here, all LLMs at once: "
          f"{max(max(ours), cpu) / 3600:.1f} h (the slowest LLM; this machine's retrieval and marking at "
          f"{cpu_per_cell:.2f} s of CPU per paper and question: {cpu / 3600:.1f} h, shared by every LLM)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the server takes per request")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4, 16], help="max_parallel values")
    parser.add_argument("--llms", type=int, nargs="+", default=[1, 3], help="numbers of LLMs asked at once")
    parser.add_argument("--paper", type=Path, default=PAPER)
    parser.add_argument("--seed-logs", type=Path, help="the seed repository's Data/time_logs folder")
    args = parser.parse_args()
    if not args.paper.is_file():
        sys.exit(f"{args.paper} not found: give a PDF with --paper")
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(args.latency) as server:
        settings = load_settings(Path(tmp) / "data")
        embed = load_embedding(settings.embedding)
        Library(settings, embed).ingest_file(args.paper)
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
        if args.seed_logs:
            seed_projection(args.seed_logs, best_cpu)


if __name__ == "__main__":
    main()
