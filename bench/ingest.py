"""Ingestion speed: papers/min, pages/s and chunks/s, the ratio to the raw encoder on the
same chunks, and peak memory as the library grows.

    python bench/ingest.py [PDF|FOLDER ...] [--papers N] [--workers W] [--sequential]
                           [--backend torch|int8] [--repeat 2]

Default: every PDF in ../shared/eval/papers. With ``--papers N``, N distinct papers are
made from them (the set over and over, each copy with a line of its own on its first
page, so its bytes and text differ). The PDFs are added to a temporary library as an
import (what a folder or a zip on the Library page, or ``python -m assistant ingest
FOLDER``, does: W worker processes read, this one embeds and stores; ``--sequential``:
one file after another in this process, as before imports read in parallel). Then the
SentenceTransformer underneath encodes exactly the stored chunk texts, at the same batch
size, in the same run. ratio = ingestion chunks/s / raw encoder chunks/s: the encoder is
the limit, so 1.0 would mean everything else costs nothing. Peak resident memory of this
process and of the reading workers is printed at each quarter of the files: flat means
it does not grow with N. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

# The assistant is imported inside main(): reading workers are spawned processes that
# import this script again, and must not load the encoder's libraries for nothing.


def pdfs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        found += sorted(p.glob("*.pdf")) if p.is_dir() else [p]
    return found


def distinct_copies(files: list[Path], n: int, folder: Path) -> list[Path]:
    """``n`` papers from ``files`` over and over, each copy made its own by a line on page 1."""
    made = []
    for i in range(n):
        source = files[i % len(files)]
        doc = pymupdf.open(source)
        doc[0].insert_text((36, 20), f"Bench copy {i} of {source.stem}", fontsize=6)
        path = folder / f"{i:04d}-{source.name}"
        doc.save(path)
        doc.close()
        made.append(path)
    return made


_WORKER_PEAK = [0.0]


def peaks() -> tuple[float, float]:
    """Peak resident memory so far, MB: this process, and the largest reading worker seen
    (sampled now: the kernel's figure for children counts the parent's pages a spawned
    child had before its exec)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            _WORKER_PEAK[0] = max(_WORKER_PEAK[0], child.memory_info().rss / 2**20)
        except psutil.Error:
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _WORKER_PEAK[0]


def main() -> None:
    from assistant.config import load_settings
    from assistant.library.embeddings import load_embedding
    from assistant.library.imports import Importer, ImportFile
    from assistant.library.library import Library
    from assistant.workspace import open_workspace

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared/eval/papers")])
    parser.add_argument("--papers", type=int, help="make this many distinct papers from the given ones")
    parser.add_argument("--workers", type=int, help="reading processes (default: the setting, cores - 1)")
    parser.add_argument("--sequential", action="store_true", help="read and embed one file after another here")
    parser.add_argument("--backend", choices=["torch", "int8"], help="encoder backend (default: the setting)")
    parser.add_argument("--repeat", type=int, default=2, help="raw encoder runs after ingestion")
    parser.add_argument("--quiet", action="store_true", help="no line per file")
    args = parser.parse_args()
    files = pdfs(args.paths)
    if not files:
        raise SystemExit(f"no PDFs in {args.paths}")
    if args.papers:
        files = distinct_copies(files, args.papers, Path(tempfile.mkdtemp(prefix="bench-papers-")))

    settings = load_settings(tempfile.mkdtemp(prefix="bench-ingest-"))
    if args.backend:
        embedding = settings.embedding.model_copy(update={"backend": args.backend})
        settings = settings.model_copy(update={"embedding": embedding})
    t = time.perf_counter()
    embed = load_embedding(settings.embedding)
    workers = args.workers or settings.imports.workers
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {_cores()} cores, Python {platform.python_version()}")
    print(f"encoder: {settings.embedding.model} ({settings.embedding.backend}), batch {settings.embedding.batch_size}; "
          f"loaded in {time.perf_counter() - t:.1f} s")
    print(f"{len(files)} PDFs; " + ("read one after another in this process" if args.sequential else
                                    f"read by {workers} worker process(es) while this one embeds"))
    workspace = open_workspace(settings, embed_model=embed)
    library: Library = workspace.library
    model = embed._model  # the SentenceTransformer underneath
    model.encode(["warm up"] * 32, batch_size=settings.embedding.batch_size)

    quarters = {max(1, round(len(files) * q / 4)) for q in (1, 2, 3, 4)}
    handled = [0]
    start = time.perf_counter()

    def seen(name: str, line: str) -> None:
        handled[0] += 1
        own, worker = peaks()  # workers sampled at every file
        if not args.quiet:
            print(f"{name[:50]:50} {line}")
        if handled[0] in quarters:
            print(f"  -- {handled[0]} of {len(files)} files, {time.perf_counter() - start:.0f} s: "
                  f"peak memory {own:.0f} MB here, {worker:.0f} MB the largest worker sampled")

    if args.sequential:
        for path in files:
            try:
                r = library.ingest_file(path).record
                seen(path.name, f"{r.pages:>4} pages {r.chunks:>5} chunks")
            except Exception as exc:  # noqa: BLE001 (a bench goes on)
                seen(path.name, f"not added: {exc}")
    else:
        imports = workspace.imports
        import_id = imports.from_paths(files, "bench")

        def said(f: ImportFile) -> None:
            seen(f.name, f"{f.state:7} {f.seconds:6.1f} s" + (f"  {f.message[:60]}" if f.state != "added" else ""))

        Importer(library, imports, workers).run(import_id, on_file=said)
    ingest_s = time.perf_counter() - start
    docs = library.documents()
    pages, chunks = sum(d.pages for d in docs), sum(d.chunks for d in docs)

    # The same texts the library embedded, in the same batch size.
    texts = [d for d in library.chunks.get(include=["documents"])["documents"]]
    raw_runs = []
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_runs.append(time.perf_counter() - t)
    raw_s = min(raw_runs)
    ingest_rate, raw_rate = chunks / ingest_s, len(texts) / raw_s
    own, worker = peaks()
    print(f"\ningestion: {len(docs)} of {len(files)} PDFs, {pages} pages, {chunks} chunks in {ingest_s:.1f} s: "
          f"{60 * len(docs) / ingest_s:.1f} papers/min, {pages / ingest_s:.1f} pages/s, {ingest_rate:.1f} chunks/s")
    print(f"raw encoder on the same {len(texts)} chunks: {raw_rate:.1f} chunks/s "
          f"(best of {len(raw_runs)}: {', '.join(f'{s:.1f} s' for s in raw_runs)})")
    print(f"ratio to raw: {ingest_rate / raw_rate:.2f}")
    print(f"peak memory: {own:.0f} MB this process, {worker:.0f} MB the largest reading worker sampled")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
