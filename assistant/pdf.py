"""PyMuPDF only: PDF bytes -> page texts, and any span of a page's text -> boxes on it.

A page's text is rebuilt from MuPDF's per-character boxes (``rawdict``) in exactly the
order and with exactly the characters of ``page.get_text()``, so that every character
offset in a page's text has a known box. Highlights are therefore computed from stored
character spans, never by searching for text on the page.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymupdf

from .errors import (
    EmptyPDFError,
    EncryptedPDFError,
    NotAPDFError,
    TooLargeError,
    UnreadablePDFError,
)
from .types import PageSpan, ParsedDocument, Rect

log = logging.getLogger(__name__)

# The same flags as page.get_text("text"), so rebuilt text and get_text() agree.
TEXT_FLAGS = pymupdf.TEXTFLAGS_TEXT
PAGE_SEPARATOR = "\n"
EDGE_X, EDGE_Y = 0.25, 2.0  # points added around every box

pymupdf.TOOLS.mupdf_display_errors(False)


def content_hash(data: bytes) -> str:
    """Document id: the first 16 hex digits of the SHA-256 of the file's bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class PageGeometry:
    """A page's text with, per character, its box (NaN for line breaks) and line number."""

    page: int
    text: str
    boxes: np.ndarray  # float64, shape (len(text), 4): x0, y0, x1, y1
    lines: np.ndarray  # int32, shape (len(text),); -1 for the line breaks we add
    width: float
    height: float

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
            if line < 0 or np.isnan(box[0]) or self.text[i].isspace():
                continue
            if run:
                prev = self.boxes[run[-1]]
                height = max(1.0, float(prev[3] - prev[1]))
                if self.lines[run[-1]] != line or box[0] < prev[0] - height or box[0] - prev[2] > 2.5 * height:
                    flush()
            run.append(i)
        flush()
        return rects


def open_pdf(data: bytes, file_name: str, max_bytes: int | None = None) -> pymupdf.Document:
    """Open PDF bytes, or raise an error that names ``file_name`` and what to do."""
    if not data:
        raise NotAPDFError(f"{file_name} is empty (0 bytes). Upload the PDF file itself.")
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLargeError(
            f"{file_name} is {len(data) / 1e6:.0f} MB, over the limit of {max_bytes / 1e6:.0f} MB. "
            "Raise ASSISTANT_MAX_FILE_MB or split the PDF."
        )
    if b"%PDF-" not in data[:1024]:
        raise NotAPDFError(f"{file_name} is not a PDF file. Export it as PDF and upload that.")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        raise UnreadablePDFError(
            f"{file_name} could not be opened as a PDF ({exc}). The file may be damaged or incomplete; "
            "download it again."
        ) from exc
    if doc.needs_pass:
        doc.close()
        raise EncryptedPDFError(
            f"{file_name} is password-protected. Save an unprotected copy (or remove the password) and upload that."
        )
    if doc.page_count == 0:
        doc.close()
        raise UnreadablePDFError(f"{file_name} opens but has no readable pages. The file may be damaged.")
    return doc


def page_geometry(doc: pymupdf.Document, index: int) -> PageGeometry:
    """Text and character boxes of page ``index`` (0-based)."""
    page = doc[index]
    raw = page.get_text("rawdict", flags=TEXT_FLAGS)
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    lines: list[int] = []
    nan = (float("nan"),) * 4
    line_no = 0
    for block in raw["blocks"]:
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            if not any(span["chars"] for span in line["spans"]):
                continue  # as in get_text(): a line without characters adds no line break
            for span in line["spans"]:
                for ch in span["chars"]:
                    chars.append(ch["c"])
                    boxes.append(tuple(ch["bbox"]))
                    lines.append(line_no)
            chars.append("\n")
            boxes.append(nan)
            lines.append(-1)
            line_no += 1
    rect = page.rect
    return PageGeometry(
        page=index + 1,
        text="".join(chars),
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        lines=np.asarray(lines, dtype=np.int32),
        width=float(rect.width),
        height=float(rect.height),
    )


def _title(doc: pymupdf.Document, first_page_text: str) -> str:
    meta = (doc.metadata or {}).get("title") or ""
    meta = " ".join(meta.split())
    generic = ("untitled", "microsoft word", "document", "slide")
    if len(meta) >= 8 and not meta.lower().startswith(generic) and not meta.lower().endswith((".pdf", ".doc", ".docx")):
        return meta[:300]
    # Otherwise the largest text near the top of the first page.
    try:
        spans = [
            (round(s["size"], 1), s["text"].strip(), line["bbox"][1])
            for b in doc[0].get_text("dict", flags=TEXT_FLAGS)["blocks"]
            if b.get("type") == 0
            for line in b["lines"]
            for s in line["spans"]
            if s["text"].strip()
        ]
    except Exception:
        spans = []
    top = [s for s in spans if s[2] < doc[0].rect.height * 0.5 and len(s[1]) > 1]
    if top:
        size = max(s[0] for s in top)
        words = " ".join(s[1] for s in top if s[0] == size)
        if len(words) >= 4:
            return " ".join(words.split())[:300]
    first_line = next((ln.strip() for ln in first_page_text.splitlines() if len(ln.strip()) > 3), "")
    return first_line[:300]


def parse_pdf(data: bytes, file_name: str, max_bytes: int | None = None) -> ParsedDocument:
    """The text of every page of a PDF, or an :class:`AssistantError` naming the file."""
    doc = open_pdf(data, file_name, max_bytes)
    try:
        pages: list[str] = []
        for i in range(doc.page_count):
            try:
                # The same text the highlighter rebuilds later, so offsets agree by construction.
                pages.append(page_geometry(doc, i).text)
            except Exception as exc:
                raise UnreadablePDFError(
                    f"{file_name}: page {i + 1} could not be read ({exc}). The file may be damaged; "
                    "download it again."
                ) from exc
        if not any(p.strip() for p in pages):
            raise EmptyPDFError(
                f"{file_name} has no text layer (it looks scanned or image-only), so there is nothing to search. "
                "Run OCR on it (e.g. ocrmypdf) and upload the result."
            )
        title = _title(doc, pages[0])
    finally:
        doc.close()
    starts, pos = [], 0
    for p in pages:
        starts.append(pos)
        pos += len(p) + len(PAGE_SEPARATOR)
    return ParsedDocument(
        doc_id=content_hash(data),
        file_name=file_name,
        title=title or Path(file_name).stem,
        pages=tuple(pages),
        text=PAGE_SEPARATOR.join(pages),
        page_starts=tuple(starts),
        size_bytes=len(data),
    )


def page_spans(page_starts: Sequence[int], page_lengths: Sequence[int], start: int, end: int) -> list[PageSpan]:
    """Split the document span ``[start, end)`` into the page spans it covers."""
    spans = []
    for i, (ps, length) in enumerate(zip(page_starts, page_lengths)):
        s, e = max(start, ps), min(end, ps + length)
        if s < e:
            spans.append(PageSpan(i + 1, s - ps, e - ps))
    return spans


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

    def __init__(self, max_docs: int = 8) -> None:
        self._docs: OrderedDict[Path, tuple[pymupdf.Document, dict[int, PageGeometry]]] = OrderedDict()
        self._max = max_docs
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
                pages[page] = page_geometry(doc, page - 1)
            return pages[page]

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
