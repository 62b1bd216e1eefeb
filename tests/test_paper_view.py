"""The paper beside an answer: which pages are shown, the marks written into them, and the
outlines the viewer draws (read back with PyMuPDF)."""

from __future__ import annotations

import pymupdf
import pytest
from conftest import PAPER_PAGES, make_pdf, readback
from test_annotate import seabird_passages

from assistant.pdf.annotate import AnnotationError
from assistant.pdf.paper_view import AROUND, paper_view
from assistant.types import Answer

FILLER = [["An unrelated page of text, number %d." % i] for i in range(3, 9)]


def _paper(rotate_second: bool = False) -> bytes:
    doc = pymupdf.open(stream=make_pdf(PAPER_PAGES + FILLER))  # 8 pages; the evidence is on pages 1-2
    if rotate_second:
        doc[1].set_rotation(90)
    return doc.tobytes()


def _answer(pdf: bytes) -> Answer:
    passages = seabird_passages(pymupdf.open(stream=pdf))
    return Answer("Which settings?", "Momentum 0.9 [1]; 4,200 images [2].", "cited", "main", passages, [1, 2])


def no_regions(passage):
    return []


def test_the_pages_with_evidence_and_their_neighbours_are_shown_with_every_sentence_marked():
    pdf = _paper()
    view = paper_view(pdf, "seabirds.pdf", _answer(pdf), "d1", no_regions)
    assert view.pages == tuple(range(1, 2 + AROUND + 1)) and view.total_pages == 8
    # A sentence across two pages is outlined on both; evidence runs in passage order.
    assert [(b.passage, b.paper_page) for b in view.boxes if b.sentence == 0] == [(1, 1), (1, 2)]
    assert [(n, page) for n, page, _ in view.evidence] == [(1, 1), (2, 1)]
    assert view.first_of_passage(2) == 1 and view.first_of_passage(5) is None
    with pymupdf.open(stream=view.pdf) as doc:
        assert doc.page_count == len(view.pages)
        marked = {(page.number + 1, readback(page, annot.rect)) for page in doc
                  for annot in page.annots(types=[pymupdf.PDF_ANNOT_HIGHLIGHT])}
        for box in view.boxes:  # each outline lies over a highlighted sentence of the same shown page
            under = readback(doc[box.page - 1], pymupdf.Rect(box.x, box.y, box.x + box.width, box.y + box.height))
            assert any(p == box.page and under[:12] in text for p, text in marked), (box, marked)
    assert view.annotations()[0]["color"].startswith("rgb(") and view.annotations()[1]["id"] == "ev0-1"


def test_the_whole_paper_on_request():
    pdf = _paper()
    view = paper_view(pdf, "seabirds.pdf", _answer(pdf), "d1", no_regions, whole=True)
    assert view.pages == tuple(range(1, 9))
    with pymupdf.open(stream=view.pdf) as doc:
        assert doc.page_count == 8


def test_a_rotated_pages_outlines_turn_with_it():
    pdf = _paper(rotate_second=True)
    view = paper_view(pdf, "seabirds.pdf", _answer(pdf), "d1", no_regions)
    [turned] = [b for b in view.boxes if b.paper_page == 2]
    with pymupdf.open(stream=view.pdf) as doc:
        page = doc[turned.page - 1]
        assert page.rotation == 90
        # The box is in the page as shown: wider than tall there means the text runs across.
        assert turned.width < turned.height, "a line of text on a page turned 90 degrees stands upright"
        unturned = pymupdf.Rect(turned.x, turned.y, turned.x + turned.width, turned.y + turned.height) \
            * page.derotation_matrix
        assert "momentum of 0.9" in readback(page, unturned)


def test_a_damaged_file_gets_a_message_naming_it():
    with pytest.raises(AnnotationError, match="broken.pdf could not be opened"):
        paper_view(b"%PDF-1.4 nothing", "broken.pdf", _answer(_paper()), "d1", no_regions)
