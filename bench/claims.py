"""How long checking an LLM answer sentence by sentence takes (assistant.answering.claims), on real
LLM answers: the seed documents, each a filled-in prompt (its context pieces become the
passages) and the answer an LLM gave.

    python bench/claims.py [SEEDS_DIR]

Prints, per answer, its sentences, the size of its passages, the time of a first check
(the passages' sentences not yet embedded, as for the first LLM of a batch cell or an Ask
answer) and of a second (as for the other LLMs of the same cell: the sentences are
cached by the library's encoder). Asserts nothing.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.answering.claims import check_claims  # noqa: E402
from assistant.config import EmbeddingSettings  # noqa: E402
from assistant.library.embeddings import CachedEncoder, load_embedding  # noqa: E402
from assistant.types import NO_CLAIM, PageSpan, Passage  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "seeds"


def seed_cases(folder: Path) -> list[tuple[str, list[Passage]]]:
    cases = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        context, _, rest = text.partition("Question: %INSTRUCTIONS")
        answer = rest.split("Helpful Answer:")[-1].strip()
        pieces = [c for c in re.split(r"\n\s*\n", context) if len(c.split()) > 15]
        passages = [Passage(i, "seed", path.name, "", c, 1.0, 0, len(c), [PageSpan(1, 0, len(c))])
                    for i, c in enumerate(pieces, start=1)]
        if answer and passages:
            cases.append((answer, passages))
    return cases


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    cases = seed_cases(folder)
    if not cases:
        print(f"no seed documents in {folder}", file=sys.stderr)
        return 1
    encoder = CachedEncoder(load_embedding(EmbeddingSettings()))
    check_claims(encoder, "A first sentence loads the model's kernels.", [])
    firsts = []
    for answer, passages in cases:
        t = time.perf_counter()
        claims = check_claims(encoder, answer, passages)
        first = time.perf_counter() - t
        t = time.perf_counter()
        check_claims(encoder, answer, passages)
        again = time.perf_counter() - t
        firsts.append(first)
        checked = [c for c in claims if c.status != NO_CLAIM]
        print(f"{len(checked):2d} sentences checked, {len(claims) - len(checked)} not claims, "
              f"{sum(len(p.text) for p in passages):5d} characters of passages: "
              f"first {first:.2f} s, again {again:.3f} s")
    print(f"first check: median {sorted(firsts)[len(firsts) // 2]:.2f} s, slowest {max(firsts):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
