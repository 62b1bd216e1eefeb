"""Ingestion speed: pages/s and chunks/s, and the ratio to the raw encoder on the same chunks.

    python bench/ingest.py [PDF|FOLDER ...] [--backend torch|int8] [--repeat 2]

Default: every PDF in ../shared/eval/papers. The PDFs are added to a temporary library
(parse, OCR where needed, chunk, embed, store: what the Library page does); then the
SentenceTransformer underneath encodes exactly the stored chunk texts, at the same batch
size, in the same run. ratio = ingestion chunks/s / raw encoder chunks/s: the encoder is
the limit, so 1.0 would mean everything else costs nothing. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.embeddings import load_embedding  # noqa: E402
from assistant.index import Library  # noqa: E402


def pdfs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        found += sorted(p.glob("*.pdf")) if p.is_dir() else [p]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared/eval/papers")])
    parser.add_argument("--backend", choices=["torch", "int8"], help="encoder backend (default: the setting)")
    parser.add_argument("--repeat", type=int, default=2, help="raw encoder runs, before and after ingestion")
    args = parser.parse_args()
    files = pdfs(args.paths)
    if not files:
        raise SystemExit(f"no PDFs in {args.paths}")

    settings = load_settings(tempfile.mkdtemp(prefix="bench-ingest-"))
    if args.backend:
        embedding = settings.embedding.model_copy(update={"backend": args.backend})
        settings = settings.model_copy(update={"embedding": embedding})
    t = time.perf_counter()
    embed = load_embedding(settings.embedding)
    print(f"machine: {platform.processor() or platform.machine()}, {_cores()} cores, Python {platform.python_version()}")
    print(f"encoder: {settings.embedding.model} ({settings.embedding.backend}), batch {settings.embedding.batch_size}; "
          f"loaded in {time.perf_counter() - t:.1f} s")
    library = Library(settings, embed)
    model = embed._model  # the SentenceTransformer underneath
    model.encode(["warm up"] * 32, batch_size=settings.embedding.batch_size)

    print(f"\n{'file':45} {'pages':>5} {'chunks':>6} {'read s':>7} {'embed s':>8} {'total s':>8} {'chunks/s':>9}")
    pages = chunks = 0
    ingest_s = 0.0
    for path in files:
        stamps: dict[str, float] = {}
        start = time.perf_counter()
        result = library.ingest_file(path, lambda p, stamps=stamps: stamps.setdefault(p.stage, time.perf_counter()))
        seconds = time.perf_counter() - start
        r = result.record
        read_s = stamps.get("chunking", start) - start
        embed_s = stamps.get("storing", start) - stamps.get("embedding", start)
        print(f"{path.name[:45]:45} {r.pages:>5} {r.chunks:>6} {read_s:>7.2f} {embed_s:>8.2f} {seconds:>8.2f} "
              f"{r.chunks / seconds:>9.1f}")
        pages, chunks, ingest_s = pages + r.pages, chunks + r.chunks, ingest_s + seconds

    # The same texts the library embedded, in the same order and batch size.
    texts = [d for d in library.chunks.get(include=["documents"])["documents"]]
    raw_runs = []
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_runs.append(time.perf_counter() - t)
    raw_s = min(raw_runs)
    ingest_rate, raw_rate = chunks / ingest_s, len(texts) / raw_s
    print(f"\ningestion: {len(files)} PDFs, {pages} pages, {chunks} chunks in {ingest_s:.1f} s: "
          f"{pages / ingest_s:.1f} pages/s, {ingest_rate:.1f} chunks/s")
    print(f"raw encoder on the same {len(texts)} chunks: {raw_rate:.1f} chunks/s "
          f"(best of {len(raw_runs)}: {', '.join(f'{s:.1f} s' for s in raw_runs)})")
    print(f"ratio to raw: {ingest_rate / raw_rate:.2f}")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
