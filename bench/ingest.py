"""Ingestion speed: per-stage time, pages/s and chunks/s, against the raw encoder on the same chunks.

    python bench/ingest.py [PDF ...] [--batch-sizes 16,32,64,128]

Defaults to ../shared/eval/papers/ronneberger2015_unet.pdf. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.chunking import chunk_document  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embeddings import load_embedding  # noqa: E402
from assistant.index import Library  # noqa: E402
from assistant.pdf import parse_pdf  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdfs", nargs="*", default=[str(ROOT.parent / "shared/eval/papers/ronneberger2015_unet.pdf")])
    parser.add_argument("--batch-sizes", default="8,16,32,64,128")
    args = parser.parse_args()

    settings = load_settings(tempfile.mkdtemp(prefix="bench-"))
    t = time.perf_counter()
    embed = load_embedding(settings.embedding)
    print(f"model load: {time.perf_counter() - t:.1f} s")
    library = Library(settings, embed)
    embed.get_text_embedding_batch(["warm up"])

    total_pages = total_chunks = 0
    total_seconds = 0.0
    texts: list[str] = []
    print(f"\n{'file':45} {'pages':>5} {'chunks':>6} {'parse s':>8} {'embed s':>8} {'total s':>8} {'chunks/s':>9}")
    for pdf in args.pdfs:
        path = Path(pdf)
        stamps: dict[str, float] = {}
        start = time.perf_counter()
        result = library.ingest_file(path, lambda p, stamps=stamps: stamps.setdefault(p.stage, time.perf_counter()))
        seconds = time.perf_counter() - start
        r = result.record
        parse_s = stamps.get("chunking", start) - start
        embed_s = stamps.get("storing", start) - stamps.get("embedding", start)
        print(f"{path.name[:45]:45} {r.pages:>5} {r.chunks:>6} {parse_s:>8.2f} {embed_s:>8.2f} {seconds:>8.2f} "
              f"{r.chunks / seconds:>9.1f}")
        total_pages += r.pages
        total_chunks += r.chunks
        total_seconds += seconds
        parsed = parse_pdf(path.read_bytes(), path.name)
        texts += [c.text for c in chunk_document(parsed, settings.chunking.size, settings.chunking.overlap)]
    print(f"{'all':45} {total_pages:>5} {total_chunks:>6} {'':>8} {'':>8} {total_seconds:>8.2f} "
          f"{total_chunks / total_seconds:>9.1f}   ({total_pages / total_seconds:.1f} pages/s)")

    model = embed._model  # the SentenceTransformer underneath
    print(f"\nraw sentence-transformers encode of the same {len(texts)} chunks:")
    print(f"{'batch':>6} {'seconds':>8} {'chunks/s':>9}")
    for size in [int(x) for x in args.batch_sizes.split(",")]:
        t = time.perf_counter()
        model.encode(texts, batch_size=size, normalize_embeddings=True)
        s = time.perf_counter() - t
        print(f"{size:>6} {s:>8.2f} {len(texts) / s:>9.1f}")


if __name__ == "__main__":
    main()
