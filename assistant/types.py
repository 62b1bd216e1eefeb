"""The objects that cross the library's boundaries (PDF, index, answers, UI, CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

# Where text is on the page: defined with its arithmetic, and crossing boundaries as the rest.
from .geometry import PageGeometry, PageSpan, Rect


@dataclass(frozen=True)
class Guide:
    """What a question asks for beyond its words (as a column of a systematic-review table
    carries an instruction): a ``description`` of the answer sought, matched against the
    papers with the question, and the kinds of fact that answer it (``expects``, names from
    :mod:`assistant.text.facts`). With ``strict``, only a sentence stating one of those kinds
    answers; otherwise they are a preference."""

    description: str = ""
    expects: tuple[str, ...] = ()
    strict: bool = False


@dataclass(frozen=True)
class Region:
    """Characters ``[start, end)`` of a text that play one part in the document's layout
    (see :mod:`assistant.pdf.layout`): a running header, the reference list, a caption..."""

    start: int
    end: int
    role: str


@dataclass(frozen=True)
class ParsedDocument:
    """A PDF turned into text, page by page, ready to chunk.

    ``text`` is the pages' texts joined by ``PAGE_SEPARATOR``; ``page_starts[i]`` is where
    page ``i + 1`` starts in it, so any span of ``text`` maps back to page spans.
    """

    doc_id: str
    file_name: str
    title: str
    pages: tuple[str, ...]
    text: str
    page_starts: tuple[int, ...]
    size_bytes: int
    # Pages read by OCR, and the word boxes of every page whose text is not the PDF's own.
    ocr_pages: tuple[int, ...] = ()
    layers: Mapping[int, PageGeometry] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the reader should know: OCR, pages left out, repairs
    pdf_bytes: bytes = field(default=b"", repr=False)  # what to store: without its password, if it had one
    regions: tuple[Region, ...] = ()  # the layout's parts (see :mod:`assistant.pdf.layout`), in offsets of ``text``

    @property
    def page_count(self) -> int:
        return len(self.pages)


@dataclass(frozen=True)
class DocumentText:
    """A stored document's text as it was parsed, with where each page starts and how
    long it is: what passage windows are cut from, at the offsets the chunks carry.
    ``regions`` are the parts its layout shows (see :mod:`assistant.pdf.layout`)."""

    doc_id: str
    text: str
    page_starts: tuple[int, ...]
    page_lengths: tuple[int, ...]
    regions: tuple[Region, ...] = ()

    @cached_property
    def sources(self) -> dict[tuple[str, str], Cited]:
        """Its numbered footnotes and linked reference entries, by (kind, number)."""
        from .pdf.layout import numbered_sources

        return numbered_sources(self)

    @cached_property
    def reading(self) -> str:
        """The text as the library reads it: running heads, the reference list and the
        author block blanked, standalone parts set off (same length as ``text``)."""
        from .pdf.layout import reading_text

        return reading_text(self.text, self.regions)

    @classmethod
    def of(cls, doc: ParsedDocument) -> DocumentText:
        return cls(doc.doc_id, doc.text, doc.page_starts, tuple(len(p) for p in doc.pages), doc.regions)


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    file_name: str
    title: str
    pages: int
    chunks: int
    added: datetime
    size_bytes: int
    ocr_pages: int = 0  # pages whose text came from OCR
    notes: tuple[str, ...] = ()  # how the file was read: OCR, pages left out, repairs
    cut: str = ""  # which of its stored chunks answer for it (see assistant.library.catalog)

    @property
    def text_source(self) -> str:
        if not self.ocr_pages:
            return "text layer"
        return "text from OCR" if self.ocr_pages >= self.pages else f"text from OCR on {self.ocr_pages} pages"

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "file_name": self.file_name,
            "title": self.title,
            "pages": self.pages,
            "chunks": self.chunks,
            "added": self.added.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class IngestProgress:
    """Where one file's ingestion is: ``stage`` is reading, ocr, chunking, embedding, waiting
    (for another process writing to the library: ``done`` seconds of at most ``total``,
    ``note`` says for whom), storing or done."""

    file_name: str
    stage: str
    done: int = 0
    total: int = 0
    note: str = ""


@dataclass(frozen=True)
class IngestResult:
    record: DocumentRecord
    already_present: bool
    seconds: float = 0.0
    # A stored document with (nearly) the same text in other bytes: the same paper saved
    # twice? The user decides (see library/duplicates.py); likeness is the estimated share in common.
    like: DocumentRecord | None = None
    likeness: float = 0.0


@dataclass(frozen=True)
class Cited:
    """A numbered footnote, or a reference entry with a link, that a passage points to
    ("HyRANK¹", "challenge [14]") but that lies outside it: shown with the passage, as a
    reader would look it up. ``start``/``end`` are offsets of the document's text."""

    kind: str  # "footnote" or "reference"
    number: str
    text: str
    page: int
    start: int
    end: int

    @property
    def label(self) -> str:
        return f"note {self.number}" if self.kind == "footnote" else f"ref. {self.number}"


@dataclass
class Highlight:
    """One supporting sentence of a passage and where it is: ``[start, end)`` of the
    passage's text, the page spans, and the boxes on the page(s)."""

    text: str
    start: int
    end: int
    spans: list[PageSpan]
    rects: list[Rect] = field(default_factory=list)
    score: float = 0.0


@dataclass
class Passage:
    """A retrieved chunk, numbered as the answer cites it (``n`` starts at 1)."""

    n: int
    doc_id: str
    file_name: str
    title: str
    text: str
    score: float
    start: int
    end: int
    spans: list[PageSpan]
    highlights: list[Highlight] = field(default_factory=list)
    # The part of ``text`` that matched the question (a window's matched chunk), as
    # offsets into ``text``; None when the passage is the matched chunk itself.
    focus: tuple[int, int] | None = None
    # Its captions, footnotes, headings and title (see assistant.pdf.layout), as offsets into ``text``.
    roles: list[Region] = field(default_factory=list)
    # Footnotes and linked reference entries it points to that lie outside it.
    cited: list[Cited] = field(default_factory=list)

    @property
    def pages(self) -> list[int]:
        return sorted({s.page for s in self.spans})

    @property
    def page(self) -> int:
        return self.pages[0] if self.pages else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "file_name": self.file_name,
            "page": self.page,
            "pages": self.pages,
            "text": self.text,
            "score": round(self.score, 4),
            "highlights": [
                {"page": r.page, "x0": round(r.x0, 2), "y0": round(r.y0, 2), "x1": round(r.x1, 2), "y1": round(r.y1, 2)}
                for h in self.highlights
                for r in h.rects
            ],
            "highlighted_sentences": [h.text for h in self.highlights],
            "cited": [{"label": c.label, "text": c.text, "page": c.page} for c in self.cited],
        }


# What the claim check (assistant.answering.claims) says of a sentence of an LLM's answer.
SUPPORTED, NOT_FOUND, NO_CLAIM = "supported", "not found", "no claim"


@dataclass
class ClaimSupport:
    """A source sentence that supports a claim: ``[start, end)`` of passage ``n``'s text."""

    passage: int
    start: int
    end: int
    text: str
    page: int
    score: float


@dataclass
class Claim:
    """A sentence of an answer (``[start, end)`` of its text) and what supports it."""

    text: str
    start: int
    end: int
    status: str  # SUPPORTED, NOT_FOUND or NO_CLAIM
    score: float = 0.0
    cited: list[int] = field(default_factory=list)
    support: list[ClaimSupport] = field(default_factory=list)
    # Cited passages that hold none of its support.
    miscited: list[int] = field(default_factory=list)
    # Its checkable tokens (numbers, names, links) that no source of it holds.
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.text,
            "status": self.status,
            "score": round(self.score, 3),
            "cited": self.cited,
            "miscited": self.miscited,
            "missing": self.missing,
            "support": [{"passage": s.passage, "page": s.page, "text": s.text, "score": round(s.score, 3)}
                        for s in self.support],
        }


@dataclass
class Answer:
    question: str
    text: str
    template: str
    llm: str
    passages: list[Passage]
    cited: list[int] = field(default_factory=list)
    dropped_citations: list[int] = field(default_factory=list)
    extractive: bool = False
    dont_know: bool = False
    prompt: str = ""
    raw_output: str = ""
    seconds: float = 0.0
    # Whether the passages answer the question: "answered", "weak" (a close call) or
    # "not found"; "" for answers stored before it was recorded (read ``dont_know``).
    # An LLM answer's comes from the local judge (assistant.answering.answered).
    support: str = ""
    # How sure the local judge is of an LLM answer's support (0.5-1); None for offline
    # answers (they decide their own) and answers stored before the judge.
    judge_confidence: float | None = None
    # Its sentences, each checked against the passages (LLM answers; see assistant.answering.claims).
    claims: list[Claim] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """Answered from the paper (a weak answer is not counted as answered)."""
        return self.support == "answered" if self.support else not self.dont_know

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "template": self.template,
            "llm": self.llm,
            "extractive": self.extractive,
            "dont_know": self.dont_know,
            "support": self.support,
            "judge_confidence": self.judge_confidence,
            "cited": self.cited,
            "dropped_citations": self.dropped_citations,
            "seconds": round(self.seconds, 3),
            "passages": [p.to_json() for p in self.passages],
            "claims": [c.to_json() for c in self.claims],
        }

    @property
    def unsupported(self) -> list[Claim]:
        """Its sentences that no passage supports."""
        return [c for c in self.claims if c.status == NOT_FOUND]
