"""Drawing on PDF pages: opened PDFs with their page geometry kept at hand, boxes of any
span of a passage, and a page's picture with its evidence boxed."""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import pymupdf

from ..geometry import PageGeometry, PageSpan, Rect, text_page_spans
from ..types import Passage
from .reader import TEXT_FLAGS, page_geometry


def content_box(page: pymupdf.Page, margin: float = 14.0) -> pymupdf.Rect:
    """The part of a page that holds its text and images, with a margin, within the page."""
    area = pymupdf.Rect()
    for block in page.get_text("blocks", flags=TEXT_FLAGS):
        area |= pymupdf.Rect(block[:4])
    for info in page.get_image_info():
        area |= pymupdf.Rect(info["bbox"])
    if area.is_empty or area.width < page.rect.width * 0.3:
        return page.rect
    return (area + (-margin, -margin, margin, margin)) & page.rect


class PdfStore:
    """Opened PDFs and their page geometry, kept for the documents looked at last."""

    def __init__(
        self, max_docs: int = 8, layers: Callable[[Path, int], PageGeometry | None] | None = None
    ) -> None:
        """``layers`` gives the stored geometry of pages whose text is not the PDF's own
        (read by OCR); every other page's geometry is rebuilt from the PDF."""
        self._docs: OrderedDict[Path, tuple[pymupdf.Document, dict[int, PageGeometry]]] = OrderedDict()
        self._max = max_docs
        self._layers = layers or (lambda path, page: None)
        self._lock = threading.Lock()

    def _entry(self, path: Path) -> tuple[pymupdf.Document, dict[int, PageGeometry]]:
        entry = self._docs.get(path)
        if entry is None:
            entry = (pymupdf.open(path), {})
            self._docs[path] = entry
            while len(self._docs) > self._max:
                _, (old, _) = self._docs.popitem(last=False)
                old.close()
        self._docs.move_to_end(path)
        return entry

    def geometry(self, path: Path, page: int) -> PageGeometry:
        """Geometry of 1-based ``page`` of the PDF at ``path``."""
        with self._lock:
            doc, pages = self._entry(path)
            if page not in pages:
                pages[page] = self._layers(path, page) or page_geometry(doc, page - 1)
            return pages[page]

    def forget(self, path: Path) -> None:
        """Close a PDF whose file or stored pages changed."""
        with self._lock:
            entry = self._docs.pop(path, None)
            if entry is not None:
                entry[0].close()

    def render(
        self, path: Path, page: int, rects: list[Rect], zoom: float = 2.0, context: list[Rect] | None = None
    ) -> bytes:
        """PNG of 1-based ``page`` with ``rects`` boxed: translucent yellow fill, orange frame;
        ``context`` (the whole passage) is shaded light blue underneath, so the reader sees
        where the passage is even where no sentence of it is boxed.

        The page is cropped to its content (text and images, plus a margin) so that the
        text stays legible at column width, and drawn without the PDF's own annotations,
        which would look like highlights of ours.
        """
        from PIL import Image, ImageDraw

        with self._lock:
            doc, _ = self._entry(path)
            pg = doc[page - 1]
            clip = content_box(pg)
            pix = pg.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False, annots=False)
            png = pix.tobytes("png")
        image = Image.open(io.BytesIO(png)).convert("RGBA")
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)

        def box(r: Rect) -> tuple[float, float, float, float]:
            return ((r.x0 - clip.x0) * zoom - 1, (r.y0 - clip.y0) * zoom,
                    (r.x1 - clip.x0) * zoom + 1, (r.y1 - clip.y0) * zoom)

        for r in context or []:
            if r.page == page:
                draw.rectangle(box(r), fill=CONTEXT_FILL)
        for r in rects:
            if r.page == page:
                draw.rectangle(box(r), fill=HIGHLIGHT_FILL, outline=HIGHLIGHT_EDGE, width=2)
        framed = Image.alpha_composite(image, overlay).convert("RGB")
        ImageDraw.Draw(framed).rectangle((0, 0, framed.width - 1, framed.height - 1), outline=(190, 190, 190))
        out = io.BytesIO()
        framed.save(out, format="PNG")
        return out.getvalue()

    def close(self) -> None:
        with self._lock:
            for doc, _ in self._docs.values():
                doc.close()
            self._docs.clear()


HIGHLIGHT_FILL = (255, 221, 0, 110)
HIGHLIGHT_EDGE = (230, 81, 0, 255)
CONTEXT_FILL = (66, 133, 244, 28)


# Three or more blanks in a row: a line the layout hid (a running head between the two
# halves of a sentence that crosses a page), never text of the sentence itself.
_HIDDEN_RUN = re.compile(r"\s{3,}")


def visible_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` of a passage's text without the lines the layout hid in it."""
    out, pos = [], start
    for m in _HIDDEN_RUN.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return out


def boxes(passage: Passage, start: int, end: int, pdfs: PdfStore, pdf_path,
          gaps: Sequence[tuple[int, int]] = ()) -> tuple[list[PageSpan], list[Rect]]:
    """Page spans and boxes of characters ``[start, end)`` of a passage's text, leaving
    out hidden lines (so a running head inside a sentence is not boxed with it) and the
    ``gaps`` (asides it runs past)."""
    spans: list[PageSpan] = []
    rects: list[Rect] = []
    pieces = [(start, end)]
    for g0, g1 in gaps:
        pieces = [part for a, b in pieces for part in ((a, min(b, g0)), (max(a, g1), b)) if part[0] < part[1]]
    visible = [v for piece in pieces for v in visible_pieces(passage.text, *piece)]
    for a, b in (v for v in visible if passage.text[v[0] : v[1]].strip()):
        for span in text_page_spans(passage.spans, a, b):
            spans.append(span)
            rects.extend(pdfs.geometry(pdf_path, span.page).rects(span.start, span.end))
    return spans, rects


def passage_boxes(passage: Passage, pdfs: PdfStore, pdf_path) -> list[Rect]:
    """Boxes over the whole passage, on every page it covers."""
    return boxes(passage, 0, len(passage.text), pdfs, pdf_path)[1]
