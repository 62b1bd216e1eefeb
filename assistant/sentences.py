"""Sentence boundaries (as character spans) and the text folding used to compare text."""

from __future__ import annotations

import re
import unicodedata

_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")
_SPACE = re.compile(r"\s+")
# For matching, a hyphen between a word and whitespace is a line-end break, whether the
# newline is still there ("classi-\nfication") or was already folded ("classi- fication",
# as quotes of whitespace-folded text have it). Both sides fold alike, so the rare real
# suspended hyphen ("pre- and post-") costs nothing.
_FOLDED_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")
# A line made of little but a section number or a short heading is its own unit.
_LONG_SENTENCE_SPLIT = re.compile(r"\n")


def _punkt():
    # LlamaIndex ships NLTK's Punkt data; its helper puts it on NLTK's path.
    from llama_index.core.utils import globals_helper

    return globals_helper.punkt_tokenizer


def sentence_spans(text: str, max_chars: int = 600) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the sentences of ``text``, whitespace trimmed.

    Sentences longer than ``max_chars`` (tables, reference lists, run-on extraction)
    are cut at line breaks, then at spaces, so no unit is too long to highlight or chunk.
    """
    spans: list[tuple[int, int]] = []
    for s, e in _punkt().span_tokenize(text):
        for a, b in _heading_breaks(text, s, e):
            spans.extend(_cut(text, a, b, max_chars))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if s < e]


# A short line (a heading, a running header, a figure label) followed by a line that
# starts a new unit: PDF text has no full stop there, so Punkt runs straight through.
_SHORT_LINE_END = re.compile(r"(?m)^([^\n]{1,40})\n(?=\s*[A-Z0-9\u00c0-\u024f])")


def _heading_breaks(text: str, s: int, e: int) -> list[tuple[int, int]]:
    out, start = [], s
    for m in _SHORT_LINE_END.finditer(text, s, e):
        line = m.group(1).rstrip()
        if not line or line.endswith(("-", ",", "(", "=")) or m.end() >= e:
            continue
        out.append((start, m.end(1)))
        start = m.end()
    out.append((start, e))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _cut(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    if e - s <= max_chars:
        return [(s, e)]
    out: list[tuple[int, int]] = []
    while e - s > max_chars:
        window = text[s : s + max_chars]
        cut = window.rfind("\n")
        if cut < max_chars // 3:
            cut = window.rfind(" ")
        if cut < max_chars // 3:
            cut = max_chars
        out.append((s, s + cut))
        s += cut
    out.append((s, e))
    return out


def fold(text: str) -> str:
    """NFKC, casefold, end-of-line hyphenation joined, whitespace folded: for matching only."""
    text = unicodedata.normalize("NFKC", text)
    text = _FOLDED_HYPHEN_BREAK.sub(r"\1\2", text)
    return _SPACE.sub(" ", text).strip().casefold()


def readable(text: str) -> str:
    """Ligatures expanded (NFKC); control characters that math fonts leave behind become spaces."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(" " if ch not in "\n\t" and unicodedata.category(ch) == "Cc" else ch for ch in text)


def display(text: str) -> str:
    """A passage's text made readable: as :func:`readable`, line-end hyphens joined, lines unwrapped."""
    text = _HYPHEN_BREAK.sub(r"\1\2", readable(text))
    return _SPACE.sub(" ", text).strip()
