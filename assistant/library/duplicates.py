"""Papers saved twice: the same text in other bytes.

Identical bytes are one document already (documents are named by content hash). A
re-download, a re-save, a copy whose metadata a reference manager rewrote, or a publisher
copy with its cover page changed are other bytes with the same text: they would be two
documents and count twice in a batch. Each document keeps a MinHash of its word
5-shingles (datasketch, 128 permutations: 1 KB); a new document whose estimated Jaccard
similarity with a stored one reaches :data:`SAME_PAPER` is named as looking like it, and
the user decides (nothing is merged or dropped on a guess).

Comparing with every stored signature is one vectorised comparison: ~1 ms at 1,000
documents, so no LSH index is needed at a lab's scale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
from datasketch import MinHash

NUM_PERM = 128
SHINGLE = 5
# Estimated share of word 5-shingles in common. The same text re-saved scores ~1.0; a
# preprint against its published version keeps most sentences and scores well above
# this; two papers of one group on one topic share boilerplate but rarely a fifth of
# their 5-word runs.
SAME_PAPER = 0.8
_WORD = re.compile(r"\w+")


def fingerprint(text: str) -> bytes:
    """The MinHash signature of a text's word 5-shingles (words lowercased)."""
    words = _WORD.findall(text.lower())
    size = SHINGLE if len(words) >= SHINGLE else 1
    shingles = {" ".join(words[i : i + size]).encode("utf-8") for i in range(max(0, len(words) - size + 1))}
    signature = MinHash(num_perm=NUM_PERM)
    if shingles:
        signature.update_batch(list(shingles))
    return np.asarray(signature.hashvalues, dtype=np.uint64).tobytes()


def most_alike(signature: bytes, stored: Mapping[str, bytes]) -> tuple[str, float] | None:
    """The stored document most like ``signature`` and its estimated similarity, when it
    reaches :data:`SAME_PAPER`."""
    if not stored:
        return None
    ids = list(stored)
    mine = np.frombuffer(signature, dtype=np.uint64)
    matrix = np.stack([np.frombuffer(stored[i], dtype=np.uint64) for i in ids])
    scores = (matrix == mine).mean(axis=1)
    best = int(np.argmax(scores))
    score = float(scores[best])
    return (ids[best], score) if score >= SAME_PAPER else None
