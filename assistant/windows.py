"""Passage windows: what a reader is shown around the small chunks that matched.

Chunks are indexed small, so that the sentence which answers a question is not drowned
by its neighbours when matched; a reader needs its context. Each window grows from a
matched chunk over its neighbours, whole chunks (so whole sentences) at a time, until
it holds about ``size`` characters. Windows never share a chunk: a chunk already shown
is not shown again, and a later window grows around what earlier ones took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Share of a window placed before the matched chunk. A sentence that matches a question
# more often introduces the detail that follows (settings, numbers, a link) than
# concludes what came before.
BEFORE_SHARE = 0.25


@dataclass(frozen=True)
class Window:
    """Chunks ``first..last`` (indices into the document's chunk list, inclusive),
    grown around chunk ``matched``."""

    first: int
    last: int
    matched: int


def grow(spans: Sequence[tuple[int, int]], matched: int, size: int, taken: set[int]) -> Window:
    """The window of about ``size`` characters around chunk ``matched``, over chunks not in ``taken``."""
    first = last = matched
    while spans[last][1] - spans[first][0] < size:
        can_before = first > 0 and first - 1 not in taken
        can_after = last + 1 < len(spans) and last + 1 not in taken
        want_before = spans[matched][0] - spans[first][0] < BEFORE_SHARE * size
        if can_before and (want_before or not can_after):
            first -= 1
        elif can_after:
            last += 1
        else:
            break
    return Window(first, last, matched)


def choose_windows(
    spans: dict[str, Sequence[tuple[int, int]]], ranked: Sequence[tuple[str, int]], size: int, k: int
) -> list[tuple[str, Window]]:
    """Up to ``k`` windows, one per matched chunk in rank order, skipping chunks already shown.

    ``spans`` holds each document's chunk spans in text order; ``ranked`` the matched
    chunks, best first, as (document, index into its spans).
    """
    taken: dict[str, set[int]] = {}
    out: list[tuple[str, Window]] = []
    for doc, i in ranked:
        used = taken.setdefault(doc, set())
        if i in used:
            continue
        window = grow(spans[doc], i, size, used)
        used.update(range(window.first, window.last + 1))
        out.append((doc, window))
        if len(out) == k:
            break
    return out
