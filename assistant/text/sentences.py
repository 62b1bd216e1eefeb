"""Sentence boundaries (as character spans), and a sentence as an answer quotes it."""

from __future__ import annotations

import re
from functools import lru_cache

from nltk import redos
from nltk.tokenize.punkt import PunktSentenceTokenizer

from .normalize import display

# NLTK runs every pattern under a wall-clock limit (5 s) meant for patterns a caller
# supplies. The only ones run here are Punkt's own, linear in the text (milliseconds a
# page), and the clock also counts the time another thread holds the GIL (rendering a page,
# the app serving other sessions): under load a paper failed to be added with "regular-
# expression match exceeded its 5.0s time limit". No limit, then, for this process's NLTK.
redos.DEFAULT_TIMEOUT = None

_SPACE = re.compile(r"\s+")


# Abbreviations of scholarly text that Punkt's English model does not know: without them
# "(Papineni et al. 2002)" and "(Fig. 2)" end sentences, and a marked sentence is cut short.
SCHOLARLY_ABBREVIATIONS = frozenset(
    "al fig figs eq eqs e.g i.e cf sec secs tab ch pp approx resp ca vol no nos ref refs suppl".split()
)
# Names the splitting rules; part of a library's chunk key, so chunks are cut anew when they change.
SPLITTER = "punkt english + scholarly abbreviations, bullets, layout breaks"


@lru_cache(maxsize=1)
def _punkt() -> PunktSentenceTokenizer:
    # LlamaIndex ships NLTK's Punkt data and its helper puts it on NLTK's path; its own
    # tokenizer is an untrained one, which knows no abbreviation at all.
    from llama_index.core.utils import globals_helper
    from nltk.data import find
    from nltk.tokenize.punkt import load_punkt_params

    globals_helper.punkt_tokenizer  # noqa: B018 - makes sure the data is on NLTK's path
    params = load_punkt_params(find("tokenizers/punkt_tab/english/"))
    params.abbrev_types.update(SCHOLARLY_ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str, max_chars: int = 600) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the sentences of ``text``, whitespace trimmed.

    Sentences longer than ``max_chars`` (tables, reference lists, run-on extraction)
    are cut at line breaks, then at spaces, so no unit is too long to highlight or chunk.
    """
    spans: list[tuple[int, int]] = []
    for start, end in _parts(text):
        for s, e in _punkt().span_tokenize(text[start:end]):
            for a, b in _heading_breaks(text, start + s, start + e):
                spans.extend(_cut(text, a, b, max_chars))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if s < e]


# Where the layout says a part stands on its own (a caption, a footnote, a heading; see
# assistant.pdf.layout): no sentence runs across it.
UNIT_BREAK = "\u2029"


def _parts(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    while True:
        end = text.find(UNIT_BREAK, start)
        if end < 0:
            out.append((start, len(text)))
            return out
        out.append((start, end))
        start = end + 1


# A short line (a heading, a running header, a figure label) followed by a line that
# starts a new unit: PDF text has no full stop there, so Punkt runs straight through.
_SHORT_LINE_END = re.compile(r"(?m)^([^\n]{1,40})\n(?=\s*[A-Z0-9\u00c0-\u024f])")


# A list item: a line that starts with a bullet begins a unit of its own.
_BULLETS = "\u2022\u25e6\u25aa\u2023\u25cf\u25a0\u2043"
_BULLET_LINE = re.compile(rf"\n(?=[ \t]*[{_BULLETS}])")
_SENTENCE_END = re.compile(r"[.!?:][\d*\u2020\u2021]{0,3}\s*$")


def _heading_breaks(text: str, s: int, e: int) -> list[tuple[int, int]]:
    cuts = set()
    for m in _SHORT_LINE_END.finditer(text, s, e):
        line = m.group(1).strip()
        # A heading starts with a capital, a number or a bullet; other short lines are
        # text set a few words per line ("we\nuse\nBLEU4", "(Dong, Wan, and Cao\n2021)"),
        # as justified columns sometimes come out.
        if not line or not (line[0].isupper() or line[0].isdigit() or line[0] in _BULLETS):
            continue
        if line.endswith(("-", ",", "(", "=")) or line.count("(") > line.count(")") or m.end() >= e:
            continue
        cuts.add((m.end(1), m.end()))
        # After a finished sentence (and its footnote mark: "split.5\nEvaluation Metrics")
        # the short line is a heading of its own, not the sentence's last words.
        if m.start() > s and _SENTENCE_END.search(text, max(s, m.start() - 8), m.start()):
            cuts.add((m.start(), m.start()))
    cuts.update((m.start(), m.end()) for m in _BULLET_LINE.finditer(text, s, e) if s < m.start())
    out, start = [], s
    for end, after in sorted(cuts):
        if end > start:
            out.append((start, end))
        start = max(start, after)
    out.append((start, e))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


# Three or more blanks in a row: a hidden line (a running head, a footnote a sentence runs
# past), which does not count towards a unit's length.
_HIDDEN = re.compile(r"\s{3,}")


def _cut(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    if e - s <= max_chars or len(_HIDDEN.sub(" ", text[s:e])) <= max_chars:
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


# A paper's own numbered citations ("Caffe [6]", "[11]–[13]"): they would read as citations
# of passages in an answer.
_CITATION = re.compile(r"(\s*)(\[\d+(?:\s*[,\u2013\u2014-]\s*\d+)*\](?:\s*[\u2013\u2014-]\s*\[\d+\])?)")
# Words after which a citation is a noun of the sentence ("proposed in [12] for"), so it is
# kept as "ref. 12" rather than dropped.
_GOVERNS = frozenset("in of by from see to as and with following than on at like per after cf".split())
_EMPTY_BRACKETS = re.compile(r"\s*\(\s*(?:(?:e\.\s*g\.|i\.\s*e\.|see|cf\.)\s*)?[,;\s]*\)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])")
_DANGLING_COMMA = re.compile(r"[,;]\s*\)")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\s*\.(?!\.)")  # "e.g. [7]." -> "e.g.."
_REPEATED_COMMA = re.compile(r",(?:\s*,)+")


def quotable(text: str) -> str:
    """A sentence as an answer quotes it: readable, the paper's numbered citations removed
    (or written "ref. 12" where the sentence needs them), without the empty brackets and
    doubled commas their removal would leave."""
    text = display(text)

    def cite(m: re.Match[str]) -> str:
        before = text[: m.start()].rstrip().rsplit(" ", 1)[-1].casefold().strip("(")
        if before in _GOVERNS:
            numbers = re.sub(r"[\[\]\s]", "", m.group(2)).replace(",", ", ")
            return f"{m.group(1)}ref{'s' if any(c in numbers for c in ',–—-') else ''}. {numbers}"
        return ""

    text = _CITATION.sub(cite, text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = _REPEATED_COMMA.sub(",", text)
    text = _DANGLING_COMMA.sub(")", text)
    text = _DOUBLE_STOP.sub(".", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()
