"""Where text is on the page: page spans, boxes, each page's per-character geometry, and
all the arithmetic between offsets of a document's text, of a passage's text and of a
page's text. Numbers only (no PDF library): the reader builds geometry, the drawing
code and the evidence read it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

# numpy is imported where an array is made, not here: types.py imports this module, and
# the first page's light imports must not wait for numpy.
if TYPE_CHECKING:
    import numpy as np

# Pages' texts are joined by this in a document's text, and a passage's page segments too.
PAGE_SEPARATOR = "\n"
EDGE_X, EDGE_Y = 0.25, 2.0  # points added around every box


@dataclass(frozen=True)
class PageSpan:
    """Characters ``[start, end)`` of the text of 1-based page ``page``."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class Rect:
    """A box on a 1-based page, in PDF points with the origin at the top left, and the
    text of the characters it was drawn around."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""


@dataclass(frozen=True)
class PageGeometry:
    """A page's text with, per character, its box (NaN for line breaks), line number and
    font size."""

    page: int
    text: str
    boxes: np.ndarray  # float64, shape (len(text), 4): x0, y0, x1, y1
    lines: np.ndarray  # int32, shape (len(text),); -1 for the line breaks we add
    width: float
    height: float
    # float32, shape (len(text),): the font size each character is set in (0 for line
    # breaks); None for OCR layers stored before sizes were kept.
    sizes: np.ndarray | None = None
    hidden: int = 0  # characters of the page left out because a reader cannot see them

    def rects(self, start: int, end: int) -> list[Rect]:
        """Boxes covering characters ``[start, end)``: one per run of a text line.

        A line is cut into runs where it jumps back or leaves a gap wider than a few
        characters, because MuPDF sometimes joins text of two columns (or a table's
        cells) on one baseline, and one box over both would cover text in between.
        """
        start, end = max(0, start), min(len(self.text), end)
        rects: list[Rect] = []
        run: list[int] = []

        def flush() -> None:
            if not run:
                return
            sel = self.boxes[run]
            # A little margin: MuPDF gives the second letter of a split ligature ("fi" -> f, i)
            # zero width on the glyph's edge, and tests whether a glyph lies in a box by an
            # extent that can pass the listed one (math-extension fonts): a tight box would
            # leave such characters out when the box is read back.
            x0, y0 = max(0.0, float(sel[:, 0].min()) - EDGE_X), max(0.0, float(sel[:, 1].min()) - EDGE_Y)
            x1, y1 = min(self.width, float(sel[:, 2].max()) + EDGE_X), min(self.height, float(sel[:, 3].max()) + EDGE_Y)
            # A glyph listed outside the page is clipped to nothing; a point of extent at
            # the page edge keeps it boxed.
            if x1 <= x0:
                x0, x1 = max(0.0, min(x0, self.width - 1.0)), min(self.width, max(x0, 0.0) + 1.0)
            if y1 <= y0:
                y0, y1 = max(0.0, min(y0, self.height - 1.0)), min(self.height, max(y0, 0.0) + 1.0)
            if x1 > x0 and y1 > y0:
                text = self.text[run[0] : run[-1] + 1]
                rects.append(Rect(self.page, x0, y0, x1, y1, text))
            run.clear()

        for i in range(start, end):
            box, line = self.boxes[i], self.lines[i]
            # Whitespace boxes stretch across gaps (and columns): box the visible characters.
            if line < 0 or math.isnan(box[0]) or self.text[i].isspace():
                continue
            if run:
                prev = self.boxes[run[-1]]
                height = max(1.0, float(prev[3] - prev[1]))
                if self.lines[run[-1]] != line or box[0] < prev[0] - height or box[0] - prev[2] > 2.5 * height:
                    flush()
            run.append(i)
        flush()
        return rects

    @classmethod
    def empty(cls, page: int, width: float, height: float) -> PageGeometry:
        import numpy as np

        return cls(page, "", np.zeros((0, 4)), np.zeros(0, dtype=np.int32), width, height, np.zeros(0, np.float32))

    def to_bytes(self) -> bytes:
        """Compact form for storing a page read by OCR (its text is not in the PDF)."""
        import numpy as np

        out = io.BytesIO()
        np.savez_compressed(
            out,
            text=np.array(self.text),
            boxes=self.boxes.astype(np.float32),
            lines=self.lines,
            size=np.array([self.page, self.width, self.height]),
            **({"sizes": self.sizes.astype(np.float32)} if self.sizes is not None else {}),
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PageGeometry:
        import numpy as np

        with np.load(io.BytesIO(data)) as z:
            page, width, height = z["size"].tolist()
            sizes = z["sizes"] if "sizes" in z.files else None
            return cls(int(page), str(z["text"]), z["boxes"].astype(np.float64), z["lines"], width, height, sizes)


def page_spans(page_starts: Sequence[int], page_lengths: Sequence[int], start: int, end: int) -> list[PageSpan]:
    """Split the document span ``[start, end)`` into the page spans it covers."""
    spans = []
    for i, (ps, length) in enumerate(zip(page_starts, page_lengths)):
        s, e = max(start, ps), min(end, ps + length)
        if s < e:
            spans.append(PageSpan(i + 1, s - ps, e - ps))
    return spans


def text_page_spans(spans: Sequence[PageSpan], start: int, end: int) -> list[PageSpan]:
    """Page spans of characters ``[start, end)`` of a passage's text, the passage being
    made of the page spans ``spans``.

    A passage's text is its page segments joined by one separator per page boundary
    (pages with no text in between contribute only separators).
    """
    out: list[PageSpan] = []
    offset = 0
    previous: PageSpan | None = None
    for seg in spans:
        if previous is not None:
            offset += (seg.page - previous.page) * len(PAGE_SEPARATOR)
        length = seg.end - seg.start
        s, e = max(start, offset), min(end, offset + length)
        if s < e:
            out.append(PageSpan(seg.page, seg.start + s - offset, seg.start + e - offset))
        offset += length
        previous = seg
    return out
