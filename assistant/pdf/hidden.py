"""Text a reader cannot see: never read, embedded, quoted or marked.

A PDF can carry text that no one sees on the rendered page: invisible text (render mode
3), type too small to read, text in the colour of what lies under it (white on white).
Papers have been found carrying such text with instructions for AI reviewers; a reviewer
checking the page would see nothing there. Such text is left out of the page's text, and
the document's notes name the pages. Text outside the page is already left out by MuPDF.

A scan's invisible OCR layer is the exception: it is the text of the picture beneath it,
so it is kept (see :func:`assistant.pdf.ocr.check_page`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pymupdf

from .ocr import is_ocr_layer

# Type smaller than this (in points) cannot be read on a printed or rendered page.
MIN_SIZE = 1.0
# A fill colour this close to what lies under it (largest difference of its red, green and
# blue, 0..1) does not show: white on white, light grey on white.
MIN_CONTRAST = 0.15
# Spans lighter than this (luminance 0..1) are checked against the rendered background;
# darker text on a dark background is not a trick seen in papers.
LIGHT = 0.5
# Resolution of the rendering the background is sampled from.
SAMPLE_DPI = 72


def rgb(colour: int) -> tuple[float, float, float]:
    return ((colour >> 16) & 255) / 255, ((colour >> 8) & 255) / 255, (colour & 255) / 255


class Visibility:
    """Judges the spans of one page's ``rawdict``: which a reader can see."""

    def __init__(self, page: pymupdf.Page, spans: Sequence[Mapping[str, Any]]) -> None:
        self.page = page
        self._pixmap: pymupdf.Pixmap | None = None
        self._pixels: np.ndarray | None = None
        invisible = any(s.get("alpha", 255) == 0 for s in spans)
        # Invisible text over a scanned picture is an OCR layer: the text of what is shown.
        self.keep_invisible = invisible and is_ocr_layer(page)

    def visible(self, span: Mapping[str, Any]) -> bool:
        chars = span.get("chars") or []
        # Symbols alone (a figure's dots, a bullet) carry nothing to hide.
        if sum(ch["c"].isalnum() for ch in chars) < 2:
            return True
        if span.get("alpha", 255) == 0:
            return self.keep_invisible
        if span.get("size", MIN_SIZE) < MIN_SIZE:
            return False
        colour = rgb(int(span.get("color", 0)))
        if 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2] < LIGHT:
            return True
        under = self._background(span["bbox"])
        return under is None or max(abs(a - b) for a, b in zip(colour, under, strict=True)) >= MIN_CONTRAST

    def _background(self, bbox: Sequence[float]) -> tuple[float, float, float] | None:
        """The colour the page shows under a span: the median over its box, where the
        glyphs' strokes cover the smaller part."""
        if self._pixmap is None:
            self._pixmap = self.page.get_pixmap(dpi=SAMPLE_DPI, alpha=False, annots=False)
            self._pixels = np.frombuffer(self._pixmap.samples, dtype=np.uint8).reshape(
                self._pixmap.height, self._pixmap.width, self._pixmap.n)
        scale = SAMPLE_DPI / 72
        x0, y0 = max(0, int(bbox[0] * scale)), max(0, int(bbox[1] * scale))
        x1, y1 = min(self._pixmap.width, int(bbox[2] * scale) + 1), min(self._pixmap.height, int(bbox[3] * scale) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        region = self._pixels[y0:y1, x0:x1, :3].reshape(-1, 3)
        median = np.median(region, axis=0) / 255
        return float(median[0]), float(median[1]), float(median[2])
