"""What each part of a document is, read from its layout: body text, or something a
reader does not take as a statement of the paper (a running header, the reference list,
the author block), or a part that stands on its own (a caption, a footnote, a heading).

Decided from the pages' geometry (line positions, character sizes, repetition across
pages), never from what a sentence says: a reference entry is not evidence because it
sits in the reference list, whatever words it holds. Everything works on
:class:`~assistant.geometry.PageGeometry`, so pages read by OCR and papers stored before this
existed are read the same way.

The result is a list of :class:`Region` s in document offsets. :func:`reading_text`
turns it into the text the rest of the library reads: hidden parts blanked (same length,
so every span still maps to its boxes) and the edges of standalone parts marked with
a paragraph separator, which sentence splitting never crosses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text.facts import stated
from ..text.normalize import display
from ..text.sentences import UNIT_BREAK, sentence_spans
from ..types import Cited, Region

# Names this analysis; part of a library's chunk key, so a paper is cut anew when it changes.
LAYOUT = "layout 1, asides, hidden text left out"

FURNITURE, FRONT, REFERENCES = "furniture", "front", "references"
TITLE, HEADING, CAPTION, FOOTNOTE = "title", "heading", "caption", "footnote"
HIDDEN = frozenset({FURNITURE, FRONT, REFERENCES})
STANDALONE = frozenset({TITLE, HEADING, CAPTION, FOOTNOTE})

# Share of the page height, at top and bottom, where running headers and page numbers sit.
EDGE = 0.13
# Lines of a page's edge whose text (digits folded) recurs on this many pages are running heads.
REPEATS = 3
# A vertical gap over this share of the line height starts a new paragraph.
PARAGRAPH_GAP = 0.8

_REFERENCE_HEADINGS = {
    "references", "reference", "bibliography", "literature cited", "works cited", "cited literature",
    "references and notes", "literature", "references cited", "bibliographie", "références", "referencias",
    "bibliografía", "bibliografia", "literatur", "literaturverzeichnis", "riferimenti bibliografici",
    "referências", "参考文献", "參考文獻", "引用文献", "참고문헌", "список литературы", "литература",
}
# Sections that may follow the reference list and are not part of it.
_AFTER_REFERENCES = re.compile(
    r"^(?:[A-Z]\.?\s+|[\dIVX]+\.?\s+)?(?:appendix|appendices|supplementary|supplemental|supporting information|"
    r"acknowledg|data availability|code availability|availability|author contributions?|funding|declaration|"
    r"conflicts? of interest|competing interests|abbreviations|nomenclature|list of|biograph|about the author)",
    re.IGNORECASE,
)
_NUMBERING = re.compile(r"^\s*(?:[\dIVXivx]+(?:\.\d+)*\.?|[A-Z]\.)\s+")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}[a-z]?(?!\d)")
_ABSTRACT = re.compile(r"^\s*(?:abstract|a\s?b\s?s\s?t\s?r\s?a\s?c\s?t|summary|résumé|zusammenfassung|摘要|要旨)\b",
                       re.IGNORECASE)
_INTRODUCTION = re.compile(r"^\s*(?:[\dIVX]+\.?\s*)?(?:introduction|background)\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|e-?mail|corresponding author|orcid", re.IGNORECASE)
_CAPTION = re.compile(r"^\s*(?:fig\.?|figure|table|tab\.|supplementary (?:fig\.?|figure|table))\s*"
                      r"(?:[A-Z]?\d+|[IVX]+)[a-z]?\s*[.:|—–-]", re.IGNORECASE)
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—\s]*(?:\d{1,4}|[ivxlc]{1,6})[-–—\s]*(?:(?:of|/)\s*\d{1,4})?$",
                          re.IGNORECASE)
_STAMP = re.compile(r"arxiv:\s*\d{4}\.\d{4,5}|^\s*©|copyright|preprint submitted|all rights reserved", re.IGNORECASE)
_FOOTNOTE_MARK = "*†‡§¶#∗"
_NOTE_NUMBER = re.compile(r"^\s*\d{1,2}(?:\s+[A-Z]|[a-z]{3,}|https?:|www\.)")
_FOOTNOTE_MORE = "footnote, continued"  # a note's later lines (merged into its region)
_WORK_LINK = re.compile(r"github|gitlab|bitbucket|zenodo|\bcode\b|\bdemo\b|\bdata\b|dataset|project page", re.I)
_AUTHOR_LINE = re.compile(r"[^\W\d]\d|[*∗†‡],|,\s*\w+\s*,|@")


@dataclass(eq=False)  # identity: two lines of the same text are two lines
class Line:
    """One text line of a page: characters ``[start, end)`` of the page's text."""

    page: int
    index: int  # in text order on its page
    start: int
    end: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float  # median font size of its characters
    vertical: bool
    small_mark: bool  # begins with a raised, smaller mark (a footnote number)

    @property
    def height(self) -> float:
        return max(1.0, self.size)


def lines_of(geometry) -> list[Line]:
    """The lines of a page's geometry, in text order."""
    out: list[Line] = []
    numbers = geometry.lines
    if not len(numbers):
        return out
    boundaries = np.flatnonzero(np.diff(numbers)) + 1
    for group in np.split(np.arange(len(numbers)), boundaries):
        if not len(group) or numbers[group[0]] < 0:
            continue
        text = geometry.text[group[0] : group[-1] + 1]
        visible = [i for i in group if not geometry.text[i].isspace() and not np.isnan(geometry.boxes[i][0])]
        if not visible:
            continue
        boxes = geometry.boxes[visible]
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        vertical = len(visible) > 2 and abs(centres[-1, 1] - centres[0, 1]) > abs(centres[-1, 0] - centres[0, 0])
        if geometry.sizes is not None and len(geometry.sizes) == len(numbers):
            heights = geometry.sizes[visible].astype(np.float64)
        else:  # an OCR layer stored without sizes: the letters' height stands for it
            heights = (boxes[:, 2] - boxes[:, 0]) if vertical else (boxes[:, 3] - boxes[:, 1])
        size = float(np.median(heights))
        first = geometry.text[visible[0]]
        small_mark = (len(visible) > 1 and float(heights[0]) < 0.8 * size
                      and (first.isdigit() or first in _FOOTNOTE_MARK or first.isalpha()))
        out.append(Line(geometry.page, len(out), int(group[0]), int(group[-1]) + 1, text,
                        float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()),
                        float(boxes[:, 3].max()), size, bool(vertical), bool(small_mark)))
    return out


def _fold(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split()).casefold())


def _body_size(pages: Sequence[Sequence[Line]]) -> float:
    """The size most characters are set in."""
    weights: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            if not ln.vertical:
                weights[round(ln.size * 2) / 2] += len(ln.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def _paragraphs(lines: Sequence[Line]) -> list[list[Line]]:
    """Consecutive lines (text order) that sit close under each other and alike in size."""
    out: list[list[Line]] = []
    for ln in lines:
        if out:
            prev = out[-1][-1]
            gap = ln.y0 - prev.y1
            overlaps = ln.x0 < prev.x1 and prev.x0 < ln.x1
            alike = abs(ln.size - prev.size) <= 0.15 * max(ln.size, prev.size)
            if overlaps and alike and -0.5 * ln.height <= gap <= PARAGRAPH_GAP * ln.height and not ln.vertical:
                out[-1].append(ln)
                continue
        out.append([ln])
    return out


@dataclass
class PageLines:
    """What the analysis needs of a page: its size and its lines (a few dozen small
    objects, so a long document's pages can all be held while it is read)."""

    number: int
    width: float
    height: float
    lines: list[Line]
    # Read by OCR: type sizes there are guesses from word heights, so only position and
    # repetition are trusted (running heads, page numbers), never size.
    ocr: bool = False

    @classmethod
    def of(cls, geometry, ocr: bool = False) -> PageLines:
        return cls(geometry.page, geometry.width, geometry.height, lines_of(geometry), ocr)


def analyse(pages: Sequence[PageLines]) -> list[tuple[int, int, int, str]]:
    """Roles of the parts of a document's pages, as (page, start, end, role) in page offsets."""
    body = _body_size([p.lines for p in pages if not p.ocr] or [p.lines for p in pages])
    roles: dict[tuple[int, int], str] = {}  # (page, line index) -> role

    for ln in _furniture(pages):
        roles[(ln.page, ln.index)] = FURNITURE
    typeset = [p for p in pages if not p.ocr]
    for para in _footnotes(typeset, body, roles):
        for n, ln in enumerate(para):
            # Each note is a unit of its own: a line that starts with a mark starts one.
            roles[(ln.page, ln.index)] = FOOTNOTE if n == 0 or _is_note_start(ln) or _NOTE_NUMBER.match(ln.text) \
                else _FOOTNOTE_MORE
    if pages and not pages[0].ocr:
        for ln, role in _front(pages[0], body, roles).items():
            roles[(ln.page, ln.index)] = role
    for ln in _references(pages, body, roles):
        roles.setdefault((ln.page, ln.index), REFERENCES)
    for p in typeset:
        for para in _paragraphs([ln for ln in p.lines if (p.number, ln.index) not in roles]):
            role = _standalone(para, body)
            if role:
                for ln in para if role == CAPTION else para[:1] if role == HEADING and len(para) > 2 else para:
                    roles[(ln.page, ln.index)] = role
    out = []
    for p in pages:
        for ln in p.lines:
            role = roles.get((p.number, ln.index))
            if role:
                out.append((p.number, ln.start, ln.end, role))
    return out


def _furniture(pages: Sequence[PageLines]) -> list[Line]:
    """Running headers and footers, page numbers, and stamps in the margin (arXiv's)."""
    found: list[Line] = []
    edge_lines: list[tuple[PageLines, Line]] = []
    for p in pages:
        horizontal = [ln for ln in p.lines if not ln.vertical]
        chars = sum(len(ln.text) for ln in p.lines) or 1
        for ln in p.lines:
            # Text set sideways in the outer margin of an upright page: a stamp or a banner.
            if ln.vertical and sum(len(x.text) for x in horizontal) >= 0.8 * chars and (
                ln.x1 < 0.15 * p.width or ln.x0 > 0.85 * p.width
            ):
                found.append(ln)
        by_y = sorted(horizontal, key=lambda ln: ln.y0)
        for ln in by_y[:3] + by_y[-3:]:
            if ln.y1 < EDGE * p.height or ln.y0 > (1 - EDGE) * p.height:
                edge_lines.append((p, ln))
    counts = Counter(_fold(ln.text) for _, ln in {(id(ln)): (p, ln) for p, ln in edge_lines}.values())
    needed = max(REPEATS, int(0.3 * len(pages))) if len(pages) >= REPEATS else len(pages) + 1
    seen: set[int] = set()
    for p, ln in edge_lines:
        if id(ln) in seen:
            continue
        seen.add(id(ln))
        text = " ".join(ln.text.split())
        if _PAGE_NUMBER.match(text) or counts[_fold(text)] >= needed or (len(text) <= 120 and _STAMP.search(text)):
            found.append(ln)
    return found


def _footnotes(pages: Sequence[PageLines], body: float, roles: dict) -> list[list[Line]]:
    """Notes at the foot of a page (or column): in smaller type than the body, set off by
    a gap, each starting with its mark."""
    found: list[list[Line]] = []
    for p in pages:
        lines = [ln for ln in p.lines if (p.number, ln.index) not in roles and not ln.vertical]
        for para in _paragraphs(lines):
            first = para[0]
            if first.y0 < 0.55 * p.height or first.size > 0.92 * body or not _note_like(para, p.width):
                continue
            above = [ln for ln in lines if ln.y1 <= first.y0 + 0.5 and ln.x0 < first.x1 and first.x0 < ln.x1]
            below = [ln for ln in lines if ln.y0 >= para[-1].y1 - 0.5 and ln.x0 < first.x1 and first.x0 < ln.x1
                     and ln not in para]
            if below and not all(_is_note_start(ln) or ln.size <= 0.92 * body for ln in below):
                continue  # body text below it: not at the foot
            gap = first.y0 - max((ln.y1 for ln in above), default=0.0)
            marked = first.small_mark or (first.text.lstrip()[:1] in _FOOTNOTE_MARK and first.text.strip())
            numbered = bool(re.match(r"^\s*\d{1,2}\s?\S", first.text)) and gap > PARAGRAPH_GAP * first.height
            if marked or numbered:
                found.append(para)
    return found


def _note_like(para: Sequence[Line], width: float) -> bool:
    """A note is a line of words across much of its column, not a table cell or a label."""
    letters = sum(ch.isalpha() for ln in para for ch in ln.text)
    return letters >= 8 and para[0].x1 - para[0].x0 >= 0.2 * width


def _is_note_start(ln: Line) -> bool:
    return ln.small_mark or ln.text.lstrip()[:1] in _FOOTNOTE_MARK


def _front(page: PageLines, body: float, roles: dict) -> dict[Line, str]:
    """On the first page: the title, and the author and affiliation lines after it."""
    out: dict[Line, str] = {}
    lines = [ln for ln in page.lines if (page.number, ln.index) not in roles and not ln.vertical]
    title = _title_lines([ln for ln in lines if ln.y0 < 0.5 * page.height and len(ln.text.strip()) > 1], body)
    for ln in title:
        out[ln] = TITLE
    after = max((ln.index for ln in title), default=-1)
    opens = (ln.index for ln in lines
             if ln.index > after and (_ABSTRACT.match(ln.text) or _INTRODUCTION.match(ln.text)))
    end = next(opens, None)
    if end is not None and title:
        for ln in lines:
            # A link to the work's code, data or demo can sit among the authors: it stays.
            if after < ln.index < end and ln.size <= 1.3 * body and not _WORK_LINK.search(ln.text):
                out[ln] = FRONT
    # Addresses, e-mails and correspondence notes, wherever they sit on the first page.
    for para in _paragraphs(lines):
        if any(_EMAIL.search(ln.text) for ln in para) and (
            para[0].size < 0.95 * body or sum(len(ln.text) for ln in para) < 300
        ):
            for ln in para:
                out.setdefault(ln, FRONT)
    return out


def _title_lines(top: Sequence[Line], body: float) -> list[Line]:
    """The largest type in the upper half of the first page that holds at least a short
    title's worth of text (a figure's big label does not), read top to bottom."""
    sizes = sorted({round(ln.size, 1) for ln in top if ln.size >= 1.15 * body}, reverse=True)
    for size in sizes:
        lines = sorted((ln for ln in top if abs(ln.size - size) <= 0.3), key=lambda ln: (ln.y0, ln.x0))
        # Authors set in the title's size follow it: names with marks ("Smith1,"), commas.
        ends = next((i for i, ln in enumerate(lines) if i and _AUTHOR_LINE.search(ln.text)), len(lines))
        lines = lines[: min(ends, 4)]
        if sum(len(ln.text.strip()) for ln in lines) >= 15:
            return lines
    return []


def _references(pages: Sequence[PageLines], body: float, roles: dict) -> list[Line]:
    """The reference list: from its heading to the end of the document or the next section
    that is not part of it (an appendix, acknowledgements, a data statement)."""
    ordered = [ln for p in pages for ln in p.lines if (p.number, ln.index) not in roles]
    start = None
    for i in range(len(ordered) - 1, -1, -1):
        text = _NUMBERING.sub("", ordered[i].text).strip().rstrip(":").strip().casefold()
        if text in _REFERENCE_HEADINGS:
            following = " ".join(ln.text for ln in ordered[i + 1 : i + 30])
            if len(_YEAR.findall(following)) >= 3:
                start = i
                break
    if start is None:
        return []
    heading = ordered[start]
    out = [heading]
    for ln in ordered[start + 1 :]:
        text = ln.text.strip()
        ends = _AFTER_REFERENCES.match(text) and len(text) < 80 and not _YEAR.search(text)
        larger = ln.size >= max(heading.size, body) - 0.2 and len(text) < 60 and not _YEAR.search(text) and (
            text[:1].isupper() or text[:1].isdigit()) and not text.endswith((".", ","))
        if ends or (larger and ln.size > 1.05 * body):
            break
        out.append(ln)
    return out


def _standalone(para: Sequence[Line], body: float) -> str | None:
    """A caption (from "Fig. 2." or "Table 1:" to the end of its paragraph) or a heading
    (a short line in larger type)."""
    first = para[0]
    text = first.text.strip()
    if _CAPTION.match(text):
        return CAPTION
    if (first.size >= 1.1 * body and len(text) < 100 and not text.endswith((".", ",", ";"))
            and sum(ch.isalpha() for ch in text) >= 3):
        return HEADING
    return None


def document_regions(analysed: Sequence[tuple[int, int, int, str]], page_starts: Sequence[int]) -> list[Region]:
    """Page-offset roles as document-offset regions, neighbouring lines of one role merged."""
    out: list[Region] = []
    for page, start, end, role in sorted(analysed, key=lambda r: (r[0], r[1])):
        base = page_starts[page - 1]
        s, e = base + start, base + end
        if role == _FOOTNOTE_MORE:
            if out and out[-1].role == FOOTNOTE and s - out[-1].end <= 1:
                out[-1] = Region(out[-1].start, e, FOOTNOTE)
                continue
            role = FOOTNOTE
        if out and out[-1].role == role and s - out[-1].end <= 1 and role != FOOTNOTE:
            out[-1] = Region(out[-1].start, e, role)
        else:
            out.append(Region(s, e, role))
    return out


def reading_text(text: str, regions: Sequence[Region]) -> str:
    """The text the library reads: hidden parts blanked (line breaks kept), standalone
    parts set off by paragraph separators. Same length as ``text``."""
    if not regions:
        return text
    chars = list(text)
    for r in regions:
        if r.role in HIDDEN:
            for i in range(r.start, min(r.end, len(chars))):
                if chars[i] != "\n":
                    chars[i] = " "
        elif r.role in STANDALONE:
            for i in (r.start - 1, r.end):
                if 0 <= i < len(chars) and chars[i] in "\n":
                    chars[i] = UNIT_BREAK
    return "".join(chars)


# Parts a sentence runs past: the notes at the foot of a page, a caption set inside a paragraph.
ASIDES = frozenset({FOOTNOTE, CAPTION})


def units(text: str, regions: Sequence[Region], max_chars: int = 600, nested: bool = False) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (a reading text, or a passage of one with its regions in
    its own offsets) read as a reader reads it: a sentence that runs from one page to the
    next runs past the footnotes and captions between, which are units of their own.

    A sentence that runs past an aside holds it inside its span. With ``nested`` the
    aside's own units are listed too (evidence can quote a footnote inside a sentence);
    without, only units that do not overlap (chunks are cut from them).
    """
    asides = [r for r in regions if r.role in ASIDES]
    if not asides:
        return sentence_spans(text, max_chars=max_chars)
    chars = list(text)
    for r in asides:
        for i in range(max(0, r.start), min(r.end, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
        for i, beyond in ((r.start - 1, r.start - 2), (r.end, r.end + 1)):
            # The separator before or after an aside no longer stops a sentence, unless a
            # heading or a title stands on its other side.
            if 0 <= i < len(chars) and chars[i] == UNIT_BREAK and _role_of(regions, beyond) in ("", *ASIDES):
                chars[i] = "\n"
    body = sentence_spans("".join(chars), max_chars=max_chars)
    inner = [(r.start + a, r.start + b) for r in asides
             for a, b in sentence_spans(text[max(0, r.start) : r.end], max_chars=max_chars)]
    if not nested:
        inner = [(a, b) for a, b in inner if not any(s < b and a < e for s, e in body)]
    return sorted(body + inner)


def _role_of(regions: Sequence[Region], offset: int) -> str:
    return next((r.role for r in regions if r.start <= offset < r.end), "")


def roles_in(regions: Sequence[Region], start: int, end: int) -> list[Region]:
    """The standalone regions overlapping ``[start, end)``, in offsets relative to ``start``."""
    return [Region(max(r.start, start) - start, min(r.end, end) - start, r.role)
            for r in regions if r.role in STANDALONE and r.start < end and r.end > start]


def readable_title(text: str) -> str:
    """A title as a person writes it: ligatures expanded, a word broken over two lines joined."""
    return display(text)


def title_of(pages: Sequence[PageLines], analysed: Sequence[tuple[int, int, int, str]]) -> str:
    """The first page's title lines, joined (empty when the layout shows none)."""
    if not pages:
        return ""
    wanted = {(s, e) for page, s, e, role in analysed if page == pages[0].number and role == TITLE}
    return " ".join(" ".join(ln.text.split()) for ln in pages[0].lines if (ln.start, ln.end) in wanted)


# A numbered reference entry starts its line: "[12] ", "12. ", "(12) ".
_ENTRY_START = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})\.\s|\((\d{1,3})\)\s)")
_NOTE_START = re.compile(r"\s*(\d{1,2}|[*†‡§¶∗])")  # matched at a footnote's start
# Where a passage points to a source: "[14]", "[3, 7]", "[11]–[13]" (reference numbers) and
# a number glued to a word, "HyRANK1," or "networks4." (a footnote mark).
_CITES = re.compile(r"\[(\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*)\]")
_NOTE_MARK = re.compile(r"(?<=[^\W\d_])(\d{1,2})(?=[\s.,;:)]|$)")


def numbered_sources(text) -> dict[tuple[str, str], Cited]:
    """The numbered footnotes and the numbered reference entries that hold a link (a web
    page, a DOI: where data or code is) of a document (a :class:`DocumentText`)."""
    out: dict[tuple[str, str], Cited] = {}
    for region in text.regions:
        if region.role == FOOTNOTE:
            mark = _NOTE_START.match(text.text, region.start)
            if mark:
                out[("footnote", mark.group(1))] = _cited(text, "footnote", mark.group(1), region.start, region.end)
        elif region.role == REFERENCES:
            entry: tuple[str, int] | None = None
            pos = region.start
            for line in text.text[region.start : region.end].split("\n"):
                found = _ENTRY_START.match(line)
                if found:
                    if entry is not None:
                        _add_linked(out, text, entry, pos - 1)
                    entry = (next(g for g in found.groups() if g), pos)
                pos += len(line) + 1
            if entry is not None:
                _add_linked(out, text, entry, region.end)
    return out


def _add_linked(out: dict, text, entry: tuple[str, int], end: int) -> None:
    number, start = entry
    cited = _cited(text, "reference", number, start, end)
    if stated(["link"], cited.text):
        out[("reference", number)] = cited


def _cited(text, kind: str, number: str, start: int, end: int) -> Cited:
    page = next((i + 1 for i in range(len(text.page_starts) - 1, -1, -1) if text.page_starts[i] <= start), 1)
    return Cited(kind, number, display(text.text[start:end]), page, start, end)


def cited_in(text, start: int, end: int) -> list[Cited]:
    """The sources that characters ``[start, end)`` of a document point to and do not
    hold themselves: footnotes by their mark (on the same page), linked reference entries
    by number."""
    sources = text.sources
    if not sources:
        return []
    segment = text.reading[start:end]
    found: list[Cited] = []
    for m in _CITES.finditer(segment):
        for number in cited_numbers(m.group(1)):
            cited = sources.get(("reference", str(number)))
            if cited is not None and cited not in found:
                found.append(cited)
    for m in _NOTE_MARK.finditer(segment):
        cited = sources.get(("footnote", m.group(1)))
        if cited is None or cited in found or (start <= cited.start and cited.end <= end):
            continue
        anchor_page = next((i + 1 for i in range(len(text.page_starts) - 1, -1, -1)
                            if text.page_starts[i] <= start + m.start()), 1)
        if cited.page == anchor_page:
            found.append(cited)
    return found


def cited_numbers(group: str) -> list[int]:
    """The reference numbers of a citation's brackets: "3, 7" or a range "11-13"."""
    out: list[int] = []
    for part in re.split(r"\s*,\s*", group):
        bounds = [int(x) for x in re.split(r"\s*[\u2013-]\s*", part) if x.isdigit()]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] <= 20:
            out.extend(range(bounds[0], bounds[1] + 1))
        else:
            out.extend(bounds)
    return out
