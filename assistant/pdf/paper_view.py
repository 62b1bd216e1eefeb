"""What the whole-paper viewer shows beside an answer: the paper with the answer's evidence
in it, and the boxes to draw over it.

The PDF itself carries the marks a reader sees: each passage's region shaded, each
supporting sentence highlighted in its passage's colour (real PDF annotations, as the
annotated export writes them, drawn by the viewer's own renderer); the viewer draws an
outline over each supporting sentence, which is also what "previous / next evidence"
scrolls to. Only the pages with evidence and their neighbours are kept unless the whole
paper is asked for, so a 155-page guideline opens as fast as an 8-page paper. Boxes are in
PDF points from the top left of the page as shown (a rotated page's boxes are turned with
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

from ..types import Answer, Rect
from .annotate import PASSAGE_COLOURS, AnnotationError, quads, remove_markups
from .pages import passage_boxes

# How many pages on either side of the evidence are kept.
AROUND = 1
SHADE = (0.26, 0.52, 0.96)  # a passage's region, faint
SHADE_OPACITY = 0.12
MARK_OPACITY = 0.45


@dataclass(frozen=True)
class Box:
    """An outline over a supporting sentence on one page of the shown file (``page`` counts
    the shown pages from 1; ``paper_page`` is the paper's own page number)."""

    page: int
    paper_page: int
    x: float
    y: float
    width: float
    height: float
    colour: str  # CSS
    passage: int
    sentence: int  # which supporting sentence of the answer, in reading order (0-based)
    start: int  # where that sentence starts in its passage's text

    def as_annotation(self, index: int) -> dict[str, object]:
        """As the viewer component takes it; its element's id is ``annotation-ev{sentence}-{index}``."""
        return {"id": f"ev{self.sentence}-{index}", "page": self.page, "x": round(self.x, 2), "y": round(self.y, 2),
                "width": round(self.width, 2), "height": round(self.height, 2), "color": self.colour,
                "border": "solid"}


@dataclass(frozen=True)
class PaperView:
    pdf: bytes
    pages: tuple[int, ...]  # the paper's page numbers of the shown pages, in order
    total_pages: int
    boxes: tuple[Box, ...]
    # Per supporting sentence (reading order): its passage, its first page, its first box's index in ``boxes``.
    evidence: tuple[tuple[int, int, int], ...]

    def annotations(self) -> list[dict[str, object]]:
        return [b.as_annotation(i) for i, b in enumerate(self.boxes)]

    def first_of_passage(self, n: int) -> int | None:
        """The index in ``evidence`` of passage ``n``'s first supporting sentence."""
        return next((i for i, (p, _, _) in enumerate(self.evidence) if p == n), None)

    def sentence_at(self, n: int, start: int) -> int | None:
        """The index in ``evidence`` of the sentence of passage ``n`` starting at ``start``."""
        return next((i for i, (p, _, box) in enumerate(self.evidence) if p == n and self.boxes[box].start == start),
                    None)


def css(colour: tuple[float, float, float]) -> str:
    r, g, b = (round(255 * c * 0.75) for c in colour)  # darker than the fill: an outline must show on it
    return f"rgb({r},{g},{b})"


def paper_view(pdf: bytes, file_name: str, answer: Answer, doc_id: str, boxes_of=passage_boxes,
               whole: bool = False) -> PaperView:
    """The paper ``doc_id`` as the viewer shows it beside ``answer``. ``boxes_of(passage)``
    gives a passage's region boxes (the library's geometry)."""
    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises its own types for damaged files
        raise AnnotationError(f"{file_name} could not be opened to show ({exc}). Delete it from the library "
                              "and add it again.") from exc
    try:
        if doc.needs_pass:
            raise AnnotationError(f"{file_name} is password-protected in the library; add it again with its "
                                  "password.")
        total = doc.page_count
        passages = sorted((p for p in answer.passages if p.doc_id == doc_id), key=lambda p: p.n)
        remove_markups(doc)
        marks: list[tuple[int, int, int, Rect]] = []  # (passage, sentence, its start, rect)
        sentence = 0
        cited_pages: set[int] = set()
        for p in passages:
            colour = PASSAGE_COLOURS[(p.n - 1) % len(PASSAGE_COLOURS)]
            cited_pages.update(p.pages)
            _mark(doc, boxes_of(p), SHADE, SHADE_OPACITY)
            for h in sorted(p.highlights, key=lambda h: h.start):
                _mark(doc, h.rects, colour, MARK_OPACITY)
                marks += [(p.n, sentence, h.start, r) for r in h.rects if 1 <= r.page <= total]
                sentence += 1
        if whole or not cited_pages:
            keep = list(range(1, total + 1))
        else:
            keep = sorted({q for page in cited_pages for q in range(page - AROUND, page + AROUND + 1)
                           if 1 <= q <= total})
        shown = {page: i for i, page in enumerate(keep, start=1)}
        boxes: list[Box] = []
        for n, s, start, r in sorted(marks, key=lambda m: (m[1], m[3].page, m[3].y0)):
            if r.page not in shown:
                continue
            turned = pymupdf.Rect(r.x0, r.y0, r.x1, r.y1) * doc[r.page - 1].rotation_matrix
            turned.normalize()
            colour = css(PASSAGE_COLOURS[(n - 1) % len(PASSAGE_COLOURS)])
            boxes.append(Box(shown[r.page], r.page, turned.x0, turned.y0, turned.width, turned.height, colour, n, s,
                             start))
        firsts: dict[int, int] = {}
        for i, b in enumerate(boxes):
            firsts.setdefault(b.sentence, i)
        evidence = tuple((boxes[i].passage, boxes[i].paper_page, i) for _, i in sorted(firsts.items()))
        if len(keep) < total:
            doc.select([page - 1 for page in keep])
        out = doc.tobytes(garbage=1, deflate=True)
    finally:
        doc.close()
    return PaperView(out, tuple(keep), total, tuple(boxes), evidence)


def _mark(doc: pymupdf.Document, rects: Sequence[Rect], colour, opacity: float) -> None:
    by_page: dict[int, list[Rect]] = {}
    for r in rects:
        by_page.setdefault(r.page, []).append(r)
    for page_no, on_page in by_page.items():
        if not 1 <= page_no <= doc.page_count:
            continue
        found = quads(on_page)
        if found:
            page = doc[page_no - 1]
            annot = page.add_highlight_annot(found)
            annot.set_colors(stroke=colour)
            annot.update(opacity=opacity)
