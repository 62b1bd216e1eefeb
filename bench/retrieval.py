"""Retrieval latency at scale: p50/p95 of the app's retrieval at 1k, 10k and 100k chunks.

    python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--mode hybrid|dense]
                              [--server HOST:PORT | --no-server]

Synthetic papers (200 chunks each: random unit vectors of the model's 384 dimensions and
the app's metadata, catalogued like real ones) go into a library whose chunks are kept
embedded on a temp dir, then on a Chroma server (started here with `chroma run` unless
--server names one). Each query is a real question embedded by the bundled MiniLM and
answered by the app's retriever (assistant.retrieval.retriever.retriever_for; by default hybrid, as
the app: embeddings, neighbourhoods and BM25): "one paper" is the scope of a single paper
(scored exactly in memory), "all" the whole library (scored exactly in memory up to 5,000
chunks; beyond, Chroma's HNSW index with the persisted keyword index, fused by rank). The
first query of a scope (loading its vectors, building its BM25) is timed apart; then one
more paper is added, as an import adds it, and the next whole-library question timed.
Then each embedded library is opened again by a new process, as an app restart or a
command in a terminal would: the opening and that process's first question of each scope
(Chroma reading its index from disk) are timed, the encoder's loading left out, with the
process's peak memory.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datetime import UTC, datetime  # noqa: E402

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode  # noqa: E402
from llama_index.core.vector_stores.utils import node_to_metadata_dict  # noqa: E402

from assistant.config import EmbeddingSettings, RetrievalSettings, load_settings  # noqa: E402
from assistant.library.embeddings import load_embedding  # noqa: E402
from assistant.library.library import Library  # noqa: E402
from assistant.retrieval.retriever import retriever_for  # noqa: E402
from assistant.types import DocumentRecord, DocumentText  # noqa: E402
from assistant.work.questions import competency_questions  # noqa: E402

DIM = 384
PER_PAPER = 200
WORDS = ("species habitat camera trap model network training images dataset accuracy learning layer "
         "convolutional augmentation validation optimizer batch epoch annotation detection").split()


def synthetic(n: int, rng: np.random.Generator, first: int = 0):
    """``n`` chunks of synthetic papers, the first chunk being number ``first`` of the library."""
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    numbers = range(first, first + n)
    ids = [f"doc{i // PER_PAPER:05d}:bench:{i % PER_PAPER}" for i in numbers]
    texts = [" ".join(rng.choice(WORDS, 40)) for _ in range(n)]
    # Stored the way the app's vector store stores a node (its metadata plus the node itself).
    metas = [node_to_metadata_dict(TextNode(id_=f"doc{i // PER_PAPER:05d}:bench:{i % PER_PAPER}", metadata={
        "doc_id": f"doc{i // PER_PAPER:05d}", "cut": "bench", "chunk": i % PER_PAPER, "page_start": 1, "page_end": 1,
        "char_start": 0, "char_end": 0, "spans": "[]", "file_name": f"doc{i // PER_PAPER:05d}.pdf"},
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc{i // PER_PAPER:05d}")}),
        remove_text=True, flat_metadata=False) for i in numbers]
    return ids, vectors, texts, metas


def fill(library: Library, n: int, seed: int = 0, first: int = 0) -> float:
    """Store ``n`` synthetic chunks as adding their papers would: vectors in the chunk store,
    words in the keyword index, and catalogue the papers."""
    ids, vectors, texts, metas = synthetic(n, np.random.default_rng(seed), first)
    started = time.perf_counter()
    step = 5000
    with library.chunks.writing("filling the benchmark's library"):
        for i in range(0, n, step):
            library.chunks.add_rows(ids[i : i + step], vectors[i : i + step], texts[i : i + step],
                                    metas[i : i + step])
    for start in range(0, n, PER_PAPER):
        doc_id = metas[start]["doc_id"]
        library.keywords.add(doc_id, "bench", zip(ids[start : start + PER_PAPER], texts[start : start + PER_PAPER]))
    catalogue(library, [m["doc_id"] for m in metas[::PER_PAPER]])
    return time.perf_counter() - started


def catalogue(library: Library, doc_ids: list[str]) -> None:
    """Catalog rows for the synthetic papers, so the library answers for their chunks."""
    for doc_id in doc_ids:
        record = DocumentRecord(doc_id, f"{doc_id}.pdf", doc_id, 1, PER_PAPER, datetime.now(UTC), 0)
        library.catalog.add(record, DocumentText(doc_id, "", (0,), (0,)), library.chunking_key, "bench", {})


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: getrusage's maxrss carries the parent's
    peak into a child started by fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latencies(library: Library, questions: list[str], k: int, scope: list[str]) -> tuple[float, list[float]]:
    records = {d.doc_id: d for d in library.documents()}
    t = time.perf_counter()
    assert retriever_for(library, scope, k, records).retrieve(questions[0]), "no hits"
    first = (time.perf_counter() - t) * 1000
    times = []
    for q in questions:
        t = time.perf_counter()
        hits = retriever_for(library, scope, k, records).retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
        assert hits, "no hits"
    return first, times


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def start_server(folder: Path) -> tuple[subprocess.Popen, str, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
            return proc, "127.0.0.1", port
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("chroma run did not start")


def bench_settings(folder: Path, mode: str):
    """The app's settings for a library at ``folder``, searched in ``mode``."""
    return load_settings(folder).model_copy(update={"retrieval": RetrievalSettings(mode=mode)})


def reopened(folder: Path, mode: str, k: int) -> dict[str, float]:
    """In this process (a new one): open the library at ``folder`` and ask one question of
    one paper, then of the whole library, each the first of its scope."""
    embed = load_embedding(EmbeddingSettings())
    question = competency_questions()[0]
    embed.get_query_embedding("warm the encoder")
    settings = bench_settings(folder, mode)
    t = time.perf_counter()
    library = Library(settings, embed)
    records = {d.doc_id: d for d in library.documents()}
    out = {"open_s": time.perf_counter() - t}
    papers = sorted(records)
    for label, scope in (("one_ms", [papers[len(papers) // 2]]), ("all_ms", papers)):
        t = time.perf_counter()
        assert retriever_for(library, scope, k, records).retrieve(question), "no hits"
        out[label] = (time.perf_counter() - t) * 1000
    out["peak_mb"] = peak_mb()
    return out


def reopen_in_child(folder: Path, mode: str, k: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--reopen", str(folder), "--mode", mode, "--k", str(k)],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"reopening {folder} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--mode", choices=("hybrid", "dense"), default="hybrid", help="retrieval mode (the app: hybrid)")
    parser.add_argument("--server", metavar="HOST:PORT", help="a running Chroma server (default: start one)")
    parser.add_argument("--no-server", action="store_true", help="measure the embedded store only")
    parser.add_argument("--reopen", type=Path, metavar="FOLDER", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.reopen:
        print(json.dumps(reopened(args.reopen, args.mode, args.k)))
        return

    embed = load_embedding(EmbeddingSettings())
    base = list(competency_questions())
    questions = [base[i % len(base)] + ("" if i < len(base) else f" ({i})") for i in range(args.queries)]
    t = time.perf_counter()
    for q in questions:
        embed.get_query_embedding(q)
    embed_ms = (time.perf_counter() - t) * 1000 / len(questions)

    tmp = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    server = None
    stores = ["embedded"]
    if not args.no_server:
        if args.server:
            host, _, port = args.server.rpartition(":")
            endpoint = (host, int(port))
        else:
            server, *endpoint = start_server(tmp / "server")
        stores.append("server")

    print(f"query embedding alone (MiniLM, 2 cores): {embed_ms:.1f} ms a question, included in every figure below")
    print(f"\n{'store':9} {'chunks':>7} {'papers':>6} {'load s':>7} {'scope':9} {'first ms':>8} {'p50 ms':>7} "
          f"{'p95 ms':>7}")
    built: list[tuple[int, Path]] = []
    try:
        for store in stores:
            for n in [int(x) for x in args.sizes.split(",")]:
                settings = bench_settings(tmp / f"{store}-{n}", args.mode)
                if store == "server":
                    chroma = settings.chroma.model_copy(update={"host": endpoint[0], "port": endpoint[1]})
                    settings = settings.model_copy(update={"chroma": chroma})
                library = Library(settings, embed)
                load_s = fill(library, n)
                papers = (n + PER_PAPER - 1) // PER_PAPER
                for label, scope in (("one paper", [f"doc{papers // 2:05d}"]),
                                     ("all", [f"doc{p:05d}" for p in range(papers)])):
                    first, times = latencies(library, questions, args.k, scope)
                    print(f"{store:9} {n:>7} {papers:>6} {load_s:>7.1f} {label:9} {first:>8.1f} "
                          f"{pct(times, 50):>7.1f} {pct(times, 95):>7.1f}")
                    sys.stdout.flush()
                # One more paper, as an import adds it: the next whole-library question.
                fill(library, PER_PAPER, seed=1, first=papers * PER_PAPER)
                t = time.perf_counter()
                everything = [f"doc{p:05d}" for p in range(papers + 1)]
                assert retriever_for(library, everything, args.k).retrieve(questions[0]), "no hits"
                print(f"{store:9} {n + PER_PAPER:>7} {papers + 1:>6} {'':>7} {'all, new':9} "
                      f"{(time.perf_counter() - t) * 1000:>8.1f}   (the first after adding a paper; "
                      f"peak memory {peak_mb():.0f} MB)")
                del library
                if store == "embedded":
                    built.append((n, tmp / f"{store}-{n}"))
        if built:
            print("\nopened again by a new process (embedded store):")
            print(f"{'chunks':>7} {'open s':>7} {'first one paper ms':>19} {'first all ms':>13} {'peak MB':>8}")
            for n, folder in built:
                r = reopen_in_child(folder, args.mode, args.k)
                print(f"{n + PER_PAPER:>7} {r['open_s']:>7.2f} {r['one_ms']:>19.1f} {r['all_ms']:>13.1f} "
                      f"{r['peak_mb']:>8.0f}")
                sys.stdout.flush()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)  # 0.7 GB at 100,000 chunks
    print(f"\n{args.queries} questions a row (the 28 competency questions, varied), top-{args.k}.")


if __name__ == "__main__":
    main()
