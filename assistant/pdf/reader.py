"""Reading PDFs with PyMuPDF: bytes -> page texts, each character with its box.

A page's text is rebuilt from MuPDF's per-character boxes (``rawdict``) in exactly the
order and with exactly the characters of ``page.get_text()``, so that every character
offset in a page's text has a known box (:class:`assistant.geometry.PageGeometry`).
Highlights are therefore computed from stored character spans, never by searching for
text on the page; drawing them is :mod:`assistant.pdf.pages`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pymupdf

from ..errors import (
    AssistantError,
    ConfigurationError,
    EmptyPDFError,
    EncryptedPDFError,
    NotAPDFError,
    PasswordRequiredError,
    TooLargeError,
    UnreadablePDFError,
    WrongPasswordError,
)
from ..geometry import PAGE_SEPARATOR, PageGeometry
from ..types import ParsedDocument
from . import layout, ocr
from .hidden import Visibility

log = logging.getLogger(__name__)

# The same flags as page.get_text("text"), so rebuilt text and get_text() agree.
TEXT_FLAGS = pymupdf.TEXTFLAGS_TEXT

pymupdf.TOOLS.mupdf_display_errors(False)


def content_hash(data: bytes) -> str:
    """Document id: the first 16 hex digits of the SHA-256 of the file's bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class ReadOptions:
    """How PDFs are read: limits, OCR, and the password of a protected file (used to open
    it once, never kept)."""

    max_bytes: int | None = None
    max_pages: int | None = None
    ocr: bool = True
    ocr_language: str = "eng"
    ocr_dpi: int = 300
    password: str | None = field(default=None, repr=False)


ReadProgress = Callable[[str, int, int], None]  # stage ("reading" or "ocr"), pages done, pages


def open_pdf(data: bytes, file_name: str, options: ReadOptions = ReadOptions()) -> tuple[pymupdf.Document, bytes]:
    """Open PDF bytes, or raise an error that names ``file_name`` and what to do.

    Returns the document and the bytes it was opened from: ``data`` itself, or for a
    password-protected file a copy without the password.
    """
    if not data:
        raise NotAPDFError(f"{file_name} is empty (0 bytes). Upload the PDF file itself.")
    if options.max_bytes is not None and len(data) > options.max_bytes:
        raise TooLargeError(
            f"{file_name} is {len(data) / 1e6:.0f} MB, over the limit of {options.max_bytes / 1e6:.0f} MB. "
            "Raise ASSISTANT_MAX_FILE_MB or split the PDF."
        )
    if b"%PDF-" not in data[:1024]:
        kind = _sniff(data)
        raise NotAPDFError(
            f"{file_name} is not a PDF file{f' (it looks like {kind})' if kind else ''}. "
            "Export it as PDF and upload that."
        )
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        raise UnreadablePDFError(
            f"{file_name} could not be opened as a PDF ({exc}). The file may be damaged or incomplete; "
            "download it again."
        ) from exc
    if doc.needs_pass:
        if not options.password:
            doc.close()
            raise PasswordRequiredError(
                f"{file_name} is password-protected. Enter its password to add it "
                "(command line: --password), or upload an unprotected copy."
            )
        if not doc.authenticate(options.password):
            doc.close()
            raise WrongPasswordError(f"The password given for {file_name} is wrong. Try again.")
        # Keep a copy without the password, so that pages can be shown and highlighted
        # later without asking for it again; the password itself is never stored.
        data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_NONE)
        doc.close()
        doc = pymupdf.open(stream=data, filetype="pdf")
    if doc.page_count == 0:
        doc.close()
        raise UnreadablePDFError(
            f"{file_name} opens but has no readable pages: it is damaged or incomplete "
            "(an interrupted download?). Download it again."
        )
    if options.max_pages is not None and doc.page_count > options.max_pages:
        count = doc.page_count
        doc.close()
        raise TooLargeError(
            f"{file_name} has {count} pages, over the limit of {options.max_pages}. "
            "Raise ASSISTANT_PDF__MAX_PAGES or split the PDF."
        )
    return doc, data


def _sniff(data: bytes) -> str:
    """What a file that is not a PDF seems to be, from its first bytes."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        return "a Word, Excel or other zipped file"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head.lstrip().lower().startswith((b"<!doctype", b"<html")):
        return "a web page"
    return ""


def page_geometry(doc: pymupdf.Document, index: int) -> PageGeometry:
    """Text and character boxes of page ``index`` (0-based)."""
    return geometry_of(doc[index])


def geometry_of(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> PageGeometry:
    """Text and character boxes of ``page``, from its own text layer or from ``textpage``
    (an OCR reading of it)."""
    if textpage is None:
        raw = page.get_text("rawdict", flags=TEXT_FLAGS)
    else:
        raw = page.get_text("rawdict", textpage=textpage)
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    lines: list[int] = []
    sizes: list[float] = []
    nan = (float("nan"),) * 4
    line_no = 0
    hidden = 0
    # Text a reader cannot see (invisible, tiny, the colour of what lies under it) is left
    # out: only an OCR reading (``textpage``) is all read, being the text of the picture.
    spans = [s for b in raw["blocks"] if b.get("type") == 0 for ln in b["lines"] for s in ln["spans"]]
    seen = Visibility(page, spans) if textpage is None else None
    for block in raw["blocks"]:
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            shown = [span for span in line["spans"] if seen is None or seen.visible(span)]
            hidden += sum(len(span["chars"]) for span in line["spans"] if span not in shown)
            if not any(span["chars"] for span in shown):
                continue  # as in get_text(): a line without characters adds no line break
            for span in shown:
                for ch in span["chars"]:
                    chars.append(ch["c"])
                    boxes.append(tuple(ch["bbox"]))
                    lines.append(line_no)
                    sizes.append(span["size"])
            chars.append("\n")
            boxes.append(nan)
            lines.append(-1)
            sizes.append(0.0)
            line_no += 1
    rect = page.rect
    return PageGeometry(
        page=page.number + 1,
        text="".join(chars),
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        lines=np.asarray(lines, dtype=np.int32),
        width=float(rect.width),
        height=float(rect.height),
        sizes=np.asarray(sizes, dtype=np.float32),
        hidden=hidden,
    )


_GENERIC_TITLES = ("untitled", "microsoft word", "document", "slide", "arxiv:")


def _title(doc: pymupdf.Document, title_lines: str, first_page_text: str) -> str:
    """The title from the file's metadata when it names one, else the first page's title
    block (its largest type, running heads and margin stamps such as arXiv's left out),
    else its first line."""
    meta = " ".join(((doc.metadata or {}).get("title") or "").split())
    if len(meta) >= 8 and not meta.lower().startswith(_GENERIC_TITLES) and not meta.lower().endswith(
        (".pdf", ".doc", ".docx")
    ):
        return meta[:300]
    title = layout.readable_title(title_lines)
    if len(title) >= 4:
        return title[:300]
    first_line = next((ln.strip() for ln in first_page_text.splitlines() if len(ln.strip()) > 3), "")
    return first_line[:300]


def parse_pdf(
    data: bytes, file_name: str, options: ReadOptions = ReadOptions(), progress: ReadProgress | None = None
) -> ParsedDocument:
    """The text of every page of a PDF, or an :class:`AssistantError` naming the file.

    A page without text (a scan) or with garbage for text (a font without a Unicode map)
    is read with OCR when ``options.ocr`` is on; so is a scan whose earlier OCR layer
    reads worse than a fresh reading. OCR'd pages keep their word boxes in
    ``ParsedDocument.layers``. Pages are read one at a time and their images dropped, so
    memory stays bounded however long the document is.
    """
    doc, stored = open_pdf(data, file_name, options)
    report = progress or (lambda stage, done, total: None)
    try:
        total = doc.page_count
        pages: list[str] = []
        layers: dict[int, PageGeometry] = {}
        ocr_pages: list[int] = []
        unread: list[tuple[int, str]] = []  # (page, why) for pages whose text had to be left out
        trust_ocr_layer: bool | None = None  # decided on the first scan with an earlier OCR layer
        language: str | None = None  # Tesseract's model for the document's script, once known
        page_lines: list[layout.PageLines] = []  # what the layout analysis needs, page by page
        hidden_pages: list[int] = []
        ocr_on = options.ocr and ocr.available()
        missing = ocr.missing_languages(options.ocr_language) if ocr_on else []
        if missing:
            raise ConfigurationError(
                f"{file_name} was not read: the OCR language {'+'.join(missing)} is not installed. Install it "
                f"(apt install tesseract-ocr-{missing[0].replace('_', '-')}) or change the OCR language in "
                "Settings (ASSISTANT_PDF__OCR_LANGUAGE)."
            )
        for i in range(total):
            report("reading", i, total)
            try:
                page = doc[i]
                geometry = geometry_of(page)
                if geometry.hidden:
                    hidden_pages.append(i + 1)
                check = ocr.check_page(page, geometry.text)
                if check.state is not ocr.PageState.GOOD and ocr_on and not (
                    check.state is ocr.PageState.OCR_LAYER and trust_ocr_layer
                ):
                    report("ocr", i, total)
                    # A document is nearly always in one script: told once, from the first page
                    # where Tesseract can tell it, and used for the pages after.
                    language = language or ocr.page_language(page, options.ocr_language, options.ocr_dpi)
                    textpage = ocr.ocr_textpage(page, language or options.ocr_language, options.ocr_dpi, TEXT_FLAGS)
                    read = geometry_of(page, textpage)
                    replace = True
                    if check.state is ocr.PageState.OCR_LAYER:
                        # A fresh reading replaces the file's own OCR only when it reads clearly
                        # better; one comparison decides for the whole document.
                        old, new = ocr.word_score(geometry.text), ocr.word_score(read.text)
                        replace = new is not None and (old is None or new >= old + 0.05)
                        trust_ocr_layer = not replace
                    if replace:
                        geometry = read
                        layers[i + 1] = read
                        if read.text.strip():
                            ocr_pages.append(i + 1)
                        else:
                            unread.append((i + 1, f"{check.reason}; OCR found no text"))
                elif check.state is ocr.PageState.GARBLED:
                    # Never embed garbage: the page is left out, and the user told why.
                    geometry = PageGeometry.empty(i + 1, geometry.width, geometry.height)
                    layers[i + 1] = geometry
                    unread.append((i + 1, check.reason))
                elif check.state is ocr.PageState.NO_TEXT:
                    unread.append((i + 1, check.reason))
                pages.append(geometry.text)
                page_lines.append(layout.PageLines.of(geometry, ocr=(i + 1) in layers))
                del page
                if check.state is not ocr.PageState.GOOD:
                    # MuPDF keeps decoded page images in its store; a long scan would pile them up.
                    pymupdf.TOOLS.store_shrink(100)
            except AssistantError:
                raise
            except Exception as exc:
                raise UnreadablePDFError(
                    f"{file_name}: page {i + 1} could not be read ({exc}). The file may be damaged; "
                    "download it again."
                ) from exc
        report("reading", total, total)
        if not any(p.strip() for p in pages):
            raise EmptyPDFError(_no_text_message(file_name, unread, options.ocr, ocr_on))
        notes = []
        if ocr_pages:
            notes.append(f"text from OCR on {_page_list(ocr_pages, total)}")
        if hidden_pages:
            notes.append(f"hidden text left out on {_page_list(hidden_pages, total)} (text a reader cannot see: "
                         "invisible, tiny, or the colour of the page)")
        if unread:
            notes.append(
                f"no usable text on {_page_list([p for p, _ in unread], total)}"
                + ("" if ocr_on else " (OCR is off)")
            )
        if doc.is_repaired:
            notes.append("the file was damaged and has been repaired: some text may be missing")
        analysed = layout.analyse(page_lines)
        title = _title(doc, layout.title_of(page_lines, analysed), pages[0])
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
        ocr_pages=tuple(ocr_pages),
        layers=layers,
        notes=tuple(notes),
        pdf_bytes=stored,
        regions=tuple(layout.document_regions(analysed, starts)),
    )


@dataclass(frozen=True)
class FileReading:
    """What reading one file gave, sent back from a worker process: the parsed document
    and the bytes it came from, or why it could not be read (``locked``: it needs its
    password). Errors travel as text, so nothing a worker raises has to be picklable."""

    file_name: str
    parsed: ParsedDocument | None = None
    data: bytes = b""
    error: str = ""
    locked: bool = False
    seconds: float = 0.0


def read_file(path: str, file_name: str, options: ReadOptions) -> FileReading:
    """Read and parse the PDF at ``path`` (in a worker process: see :mod:`assistant.library.imports`)."""
    started = time.perf_counter()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return FileReading(file_name, error=f"{file_name} could not be read ({exc.strerror}). Check that the file "
                           "is still there and readable.")
    try:
        parsed = parse_pdf(data, file_name, options)
    except EncryptedPDFError as exc:
        return FileReading(file_name, error=str(exc), locked=True)
    except AssistantError as exc:
        return FileReading(file_name, error=str(exc))
    except Exception as exc:  # a reader bug on a hostile file must not stop the other files
        log.exception("reading %s failed", file_name)
        return FileReading(file_name, error=f"{file_name} could not be read ({type(exc).__name__}: {exc}). "
                           "The file may be damaged; download it again.")
    return FileReading(file_name, parsed, data, seconds=time.perf_counter() - started)


def _page_list(pages: Sequence[int], total: int) -> str:
    if len(pages) == total:
        return "all pages" if total > 1 else "its page"
    shown = ", ".join(str(p) for p in pages[:8]) + (", ..." if len(pages) > 8 else "")
    return f"{len(pages)} of {total} pages ({shown})"


def _no_text_message(file_name: str, unread: Sequence[tuple[int, str]], ocr_wanted: bool, ocr_on: bool) -> str:
    if not unread:
        return f"{file_name} has no text on any of its pages (are they blank?). Check the file."
    garbled = any("unreadable" in why for _, why in unread)
    what = (
        "has text in fonts without a usable character map (it extracts as garbage)"
        if garbled
        else "has no text layer (it looks scanned or image-only)"
    )
    if not ocr_wanted:
        return f"{file_name} {what}. Turn OCR on (Settings, or ASSISTANT_PDF__OCR=true) and add it again."
    if not ocr_on:
        return (
            f"{file_name} {what}, and OCR is not available here: install Tesseract "
            "(`make system`, or apt install tesseract-ocr) and add it again."
        )
    return f"{file_name} {what}, and OCR found no text on its pages. Check that the scan is legible."
