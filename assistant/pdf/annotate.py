"""A paper with its evidence as real PDF highlight annotations, for a reviewer to hand on.

Every supporting sentence of an answer's passages becomes a highlight annotation on the
exact lines it covers (the boxes the library computed from the page's characters), one
colour per passage, on every page the sentence spans. Each carries a note a PDF reader
shows on hover or in its comments list: the question, the answer, the LLM, the passage
and page, and the reviewers' verdicts. A sticky note on the first page and an embedded
``evidence.json`` say how the file was made. The paper's own text, pages and metadata
are left as they were; its own text markups (highlights, underlines... some papers come
with a previous reader's) are removed, so that every highlight in the file is evidence,
and the first-page note says how many.

Boxes are in PDF points from the top left of the unrotated page, which is what both
PyMuPDF's text extraction and its annotations use, so rotated pages need no conversion.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from ..errors import AssistantError
from ..types import Answer, Rect


def _lines(made_with: Mapping[str, str]) -> list[str]:
    return [f"{label}: {value}" for label, value in made_with.items()]


# One colour per passage number (RGB 0-1), the same order as the app's evidence colours.
PASSAGE_COLOURS = (
    (1.0, 0.87, 0.0), (0.55, 0.85, 1.0), (0.6, 0.95, 0.55), (1.0, 0.7, 0.85),
    (1.0, 0.75, 0.45), (0.8, 0.7, 1.0),
)
ANSWER_PREVIEW = 1500  # characters of an answer quoted in each note: PDF readers show notes in small pop-ups


class AnnotationError(AssistantError):
    """A paper that could not be annotated; the message names it and what to do."""


@dataclass(frozen=True)
class Evidence:
    """One answer whose evidence goes into the paper, with what its notes say."""

    label: str  # what the answer is among the file's others: "Q3", "asked 2026-12-03 10:14"
    answer: Answer
    verdicts: tuple[str, ...] = ()  # "correct (anna: the batch size is on p. 4)"
    extra: Mapping[str, str] = field(default_factory=dict)  # more lines for the note: "answered": "yes (local judge)"


@dataclass(frozen=True)
class Annotated:
    """The annotated file and what went into it."""

    pdf: bytes
    highlights: int  # annotations written
    answers: int
    unboxed: int  # supporting sentences without boxes (stored before boxes were kept): quoted in the notes only
    removed: int = 0  # the file's own text markups taken out


MARKUPS = (pymupdf.PDF_ANNOT_HIGHLIGHT, pymupdf.PDF_ANNOT_UNDERLINE, pymupdf.PDF_ANNOT_SQUIGGLY,
           pymupdf.PDF_ANNOT_STRIKE_OUT)


def remove_markups(doc: pymupdf.Document) -> int:
    removed = 0
    for page in doc:
        for annot in list(page.annots(types=MARKUPS)):
            page.delete_annot(annot)
            removed += 1
    return removed


def _note(item: Evidence, passage_n: int, pages: Sequence[int], sentence: str) -> str:
    answer = item.answer
    text = answer.text if len(answer.text) <= ANSWER_PREVIEW else answer.text[:ANSWER_PREVIEW] + " [...]"
    lines = [f"{item.label}. {answer.question}", "", f"Answer ({answer.llm}): {text}", "",
             f"Evidence: passage [{passage_n}], p. {', '.join(map(str, pages))}: \"{sentence}\""]
    backs = [c.text for c in answer.claims if any(x.passage == passage_n and x.text == sentence for x in c.support)]
    if backs:
        lines.append("Supports: " + " | ".join(backs))
    if answer.unsupported:
        lines.append("Not found in the passages: " + " | ".join(c.text for c in answer.unsupported))
    lines += [f"{k}: {v}" for k, v in item.extra.items()]
    if item.verdicts:
        lines += ["", "Reviewers: " + "; ".join(item.verdicts)]
    return "\n".join(lines)


def quads(rects: Iterable[Rect]) -> list[pymupdf.Quad]:
    return [pymupdf.Rect(r.x0, r.y0, r.x1, r.y1).quad for r in rects if r.x1 > r.x0 and r.y1 > r.y0]


def annotate(pdf: bytes, file_name: str, items: Sequence[Evidence], made_with: Mapping[str, str],
             doc_id: str | None = None) -> Annotated:
    """``pdf`` with the evidence of ``items`` highlighted (only passages of ``doc_id``
    when given: an answer over several papers marks each in its own file)."""
    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises its own types for damaged files
        raise AnnotationError(f"{file_name} could not be opened to annotate ({exc}). Delete it from the library "
                              "and add it again.") from exc
    if doc.needs_pass:
        raise AnnotationError(f"{file_name} is password-protected in the library; add it again with its password.")
    written = unboxed = 0
    listing = []
    try:
        removed = remove_markups(doc)
        for item in items:
            marks = []
            for passage in item.answer.passages:
                if doc_id is not None and passage.doc_id != doc_id:
                    continue
                colour = PASSAGE_COLOURS[(passage.n - 1) % len(PASSAGE_COLOURS)]
                for h in passage.highlights:
                    by_page: dict[int, list[Rect]] = defaultdict(list)
                    for r in h.rects:
                        by_page[r.page].append(r)
                    if not by_page:
                        unboxed += 1
                    pages = sorted(by_page) or sorted({s.page for s in h.spans})
                    marks.append({"passage": passage.n, "pages": pages, "sentence": h.text})
                    for page_no, rects in sorted(by_page.items()):
                        on_page = quads(rects)
                        if not on_page or not 1 <= page_no <= doc.page_count:
                            continue
                        page = doc[page_no - 1]  # held: an annotation is unbound once its page object is gone
                        annot = page.add_highlight_annot(on_page)
                        annot.set_colors(stroke=colour)
                        annot.set_info(title=f"{item.label} · {item.answer.llm}", subject="evidence",
                                       content=_note(item, passage.n, pages, h.text))
                        annot.update(opacity=0.45)
                        written += 1
            listing.append({"label": item.label, "question": item.answer.question, "llm": item.answer.llm,
                            "answer": item.answer.text, "verdicts": list(item.verdicts), **dict(item.extra),
                            "evidence": marks})
        if doc.page_count:
            own = [f"The {removed} highlight(s) and other text markups the file carried were removed: every "
                   "highlight here is evidence."] if removed else []
            about = "\n".join([f"Evidence of {len(items)} answer(s) highlighted in {file_name}.",
                               "Hover a highlight for its question, answer and verdicts.", *own, ""]
                              + _lines(made_with))
            first = doc[0]
            sticky = first.add_text_annot(pymupdf.Point(12, 12), about, icon="Comment")
            sticky.set_info(title="How this file was made", subject="provenance")
            sticky.update()
        body = json.dumps({"made_with": dict(made_with), "file": file_name, "answers": listing}, indent=1,
                          ensure_ascii=False).encode()
        doc.embfile_add("evidence.json", body, filename="evidence.json", desc="answers and evidence in this file")
        out = doc.tobytes(garbage=1, deflate=True)
    finally:
        doc.close()
    return Annotated(out, written, len(items), unboxed, removed)


def annotated_name(file_name: str) -> str:
    """``paper.pdf`` -> ``paper.evidence.pdf``: never the paper's own name, so a reader
    who saves it beside the original keeps both."""
    stem = re.sub(r"\.pdf$", "", file_name, flags=re.IGNORECASE) or "paper"
    return f"{stem}.evidence.pdf"


def annotated_zip(papers: Sequence[tuple[str, str]], items_of: Callable[[str], Sequence[Evidence]],
                  read_pdf: Callable[[str], bytes], made_with: Mapping[str, str],
                  on_paper: Callable[[int, int], None] | None = None) -> tuple[bytes, list[str]]:
    """One annotated PDF per paper of ``papers`` ((doc_id, file name) pairs), zipped, with
    the provenance as ``README.txt``. Returns the zip and, per paper that could not be
    annotated, a line saying why (the others are still written)."""
    buf = io.BytesIO()
    problems: list[str] = []
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (doc_id, file_name) in enumerate(papers):
            try:
                done = annotate(read_pdf(doc_id), file_name, items_of(doc_id), made_with, doc_id)
            except (AssistantError, OSError) as exc:
                problems.append(f"{file_name}: {exc}")
                continue
            name = annotated_name(Path(file_name).name)
            if name in used:  # two papers of the same file name: keep both
                name = f"{doc_id[:8]}-{name}"
            used.add(name)
            z.writestr(name, done.pdf)
            if on_paper:
                on_paper(i + 1, len(papers))
        readme = ["Each PDF is a paper of the run with its evidence highlighted; hover a highlight for its "
                  "question, answer and verdicts.", ""] + _lines(made_with)
        if problems:
            readme += ["", "Not annotated:"] + problems
        z.writestr("README.txt", "\n".join(readme) + "\n")
    return buf.getvalue(), problems
