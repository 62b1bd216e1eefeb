"""Retrieval latency at scale: p50/p95 of the app's dense retrieval at 1k, 10k and 100k chunks.

    python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--server HOST:PORT | --no-server]

Synthetic chunks (random unit vectors of the model's 384 dimensions, 200 chunks a paper,
the app's metadata) go into a Chroma collection, embedded on a temp dir and on a Chroma
server (started here with `chroma run` unless --server names one). Each query is a real
question embedded by the bundled MiniLM and answered through LlamaIndex's retriever with
the app's scope filter, as the Ask page does: "one paper" filters to a single paper,
"all" searches every chunk. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llama_index.core import VectorStoreIndex  # noqa: E402
from llama_index.vector_stores.chroma import ChromaVectorStore  # noqa: E402

from assistant.config import EmbeddingSettings, load_settings  # noqa: E402
from assistant.embeddings import load_embedding  # noqa: E402
from assistant.questions import competency_questions  # noqa: E402
from assistant.retrieval import scope_filters  # noqa: E402
from assistant.vectorstore import open_store  # noqa: E402

DIM = 384
PER_PAPER = 200
WORDS = ("species habitat camera trap model network training images dataset accuracy learning layer "
         "convolutional augmentation validation optimizer batch epoch annotation detection").split()


def synthetic(n: int, rng: np.random.Generator):
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"doc{i // PER_PAPER:05d}:bench:{i % PER_PAPER}" for i in range(n)]
    texts = [" ".join(rng.choice(WORDS, 40)) for _ in range(n)]
    metas = [{"doc_id": f"doc{i // PER_PAPER:05d}", "cut": "bench", "chunk": i % PER_PAPER, "page_start": 1,
              "page_end": 1, "file_name": f"doc{i // PER_PAPER:05d}.pdf"} for i in range(n)]
    return ids, vectors, texts, metas


def fill(collection, n: int, seed: int = 0) -> float:
    ids, vectors, texts, metas = synthetic(n, np.random.default_rng(seed))
    started = time.perf_counter()
    step = 5000
    for i in range(0, n, step):
        collection.add(ids=ids[i : i + step], embeddings=vectors[i : i + step], documents=texts[i : i + step],
                       metadatas=metas[i : i + step])
    return time.perf_counter() - started


def latencies(collection, embed, questions: list[str], k: int, scope: list[str] | None) -> list[float]:
    index = VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=collection), embed_model=embed)
    retriever = index.as_retriever(similarity_top_k=k, filters=scope_filters(scope) if scope else None)
    retriever.retrieve(questions[0])  # warm up
    times = []
    for q in questions:
        t = time.perf_counter()
        hits = retriever.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
        assert hits, "no hits"
    return times


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--server", metavar="HOST:PORT", help="a running Chroma server (default: start one)")
    parser.add_argument("--no-server", action="store_true", help="measure the embedded store only")
    args = parser.parse_args()

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
    print(f"\n{'store':9} {'chunks':>7} {'papers':>6} {'load s':>7} {'scope':9} {'p50 ms':>7} {'p95 ms':>7}")
    try:
        for store in stores:
            for n in [int(x) for x in args.sizes.split(",")]:
                settings = load_settings(tmp / f"{store}-{n}")
                if store == "server":
                    chroma = settings.chroma.model_copy(update={"host": endpoint[0], "port": endpoint[1]})
                    settings = settings.model_copy(update={"chroma": chroma})
                collection = open_store(settings, f"bench{n}").collection
                load_s = fill(collection, n)
                papers = (n + PER_PAPER - 1) // PER_PAPER
                for label, scope in (("one paper", [f"doc{papers // 2:05d}"]), ("all", None)):
                    times = latencies(collection, embed, questions, args.k, scope)
                    print(f"{store:9} {n:>7} {papers:>6} {load_s:>7.1f} {label:9} {pct(times, 50):>7.1f} "
                          f"{pct(times, 95):>7.1f}")
                    sys.stdout.flush()
                del collection
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    print(f"\n{args.queries} questions a row (the 28 competency questions, varied), top-{args.k}.")


if __name__ == "__main__":
    main()
