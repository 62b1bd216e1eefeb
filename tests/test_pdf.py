from __future__ import annotations

import io

import pymupdf
import pytest
from conftest import PAPER_PAGES, PAPERS, make_pdf, readback
from PIL import Image

from assistant.errors import (
    EmptyPDFError,
    EncryptedPDFError,
    NotAPDFError,
    TooLargeError,
    UnreadablePDFError,
)
from assistant.geometry import page_spans
from assistant.pdf.pages import PdfStore
from assistant.pdf.reader import ReadOptions, content_hash, page_geometry, parse_pdf
from assistant.text.normalize import fold
from assistant.types import Rect


def read_rect(path, rect: Rect) -> str:
    with pymupdf.open(path) as doc:
        return readback(doc[rect.page - 1], rect)


def test_page_text_equals_get_text_and_spans_map_back(paper_pdf):
    parsed = parse_pdf(paper_pdf.read_bytes(), paper_pdf.name)
    assert parsed.page_count == 2
    assert parsed.title == "A Test Paper About Seabird Detection"
    assert parsed.doc_id == content_hash(paper_pdf.read_bytes())
    with pymupdf.open(paper_pdf) as doc:
        for i, page in enumerate(doc):
            assert parsed.pages[i] == page.get_text()
    # A span of the joined text that crosses the page boundary maps to both pages.
    start = parsed.text.index("stochastic gradient")
    end = parsed.text.index("0.9 for") + len("0.9 for")
    spans = page_spans(parsed.page_starts, [len(p) for p in parsed.pages], start, end)
    assert [s.page for s in spans] == [1, 2]
    assert parsed.pages[0][spans[0].start : spans[0].end] == "stochastic gradient\n"
    assert parsed.pages[1][spans[1].start : spans[1].end] == "descent and a momentum of 0.9 for"


def test_rects_of_a_span_contain_exactly_its_text(paper_pdf):
    with pymupdf.open(paper_pdf) as doc:
        geom = page_geometry(doc, 1)
    target = "The batch size was 16 images on one GPU."
    start = geom.text.index(target)
    rects = geom.rects(start, start + len(target))
    assert len(rects) == 1
    r = rects[0]
    assert 0 <= r.x0 < r.x1 <= geom.width and 0 <= r.y0 < r.y1 <= geom.height
    assert fold(read_rect(paper_pdf, r)) == fold(target)
    # A part of a line gives a box around that part only.
    part = geom.rects(start + 4, start + 14)
    assert fold(read_rect(paper_pdf, part[0])) == "batch size"


def test_two_column_span_boxes_each_line_in_its_column(tmp_path):
    lines = [f"left column line {i} about gulls" for i in range(6)] + [f"right column line {i} about terns" for i in range(6)]
    path = tmp_path / "cols.pdf"
    make_pdf([lines], path, columns=2)
    with pymupdf.open(path) as doc:
        geom = page_geometry(doc, 0)
    s = geom.text.index("left column line 4")
    e = geom.text.index("right column line 1") + len("right column line 1 about terns")
    rects = geom.rects(s, e)
    assert len(rects) == 4  # two lines at the bottom of the left column, two at the top of the right
    texts = [fold(read_rect(path, r)) for r in rects]
    assert texts[0] == "left column line 4 about gulls"
    assert texts[-1] == "right column line 1 about terns"
    assert all(r.x1 < 300 for r in rects[:2]) and all(r.x0 > 290 for r in rects[2:])


@pytest.mark.parametrize(
    "data, error, words",
    [
        (b"", NotAPDFError, "empty"),
        (b"PK\x03\x04 this is a docx", NotAPDFError, "not a PDF"),
        (b"%PDF-1.7\n garbage garbage", UnreadablePDFError, "damaged"),
    ],
)
def test_bad_files_get_a_message_naming_the_file(data, error, words):
    with pytest.raises(error) as info:
        parse_pdf(data, "report.pdf")
    assert "report.pdf" in str(info.value) and words in str(info.value)


def test_encrypted_scanned_and_oversized_files_are_refused(tmp_path):
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret text", fontname="helv")
    locked = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="owner")
    with pytest.raises(EncryptedPDFError, match="locked.pdf is password-protected"):
        parse_pdf(locked, "locked.pdf")

    blank = pymupdf.open()
    blank.new_page().draw_rect(pymupdf.Rect(50, 50, 200, 200), fill=(0, 0, 0))
    with pytest.raises(EmptyPDFError, match="scan.pdf has no text on any of its pages"):
        parse_pdf(blank.tobytes(), "scan.pdf")

    with pytest.raises(TooLargeError, match="big.pdf"):
        parse_pdf(make_pdf(PAPER_PAGES), "big.pdf", ReadOptions(max_bytes=100))


def test_render_boxes_the_rects_in_highlight_colours(paper_pdf):
    with pymupdf.open(paper_pdf) as doc:
        geom = page_geometry(doc, 1)
    s = geom.text.index("The batch size")
    rects = geom.rects(s, s + 30)
    store = PdfStore()
    plain = Image.open(io.BytesIO(store.render(paper_pdf, 2, []))).convert("RGB")
    boxed = Image.open(io.BytesIO(store.render(paper_pdf, 2, rects))).convert("RGB")
    store.close()

    def yellowish(img):
        return sum(1 for r, g, b in img.getdata() if r > 200 and g > 170 and b < 140)

    assert yellowish(plain) == 0
    assert yellowish(boxed) > 500


@pytest.mark.skipif(not PAPERS.is_dir(), reason="evaluation papers not available")
def test_page_text_matches_get_text_on_real_papers():
    # Offsets stored at ingestion are only valid if the highlighter sees the same text.
    for name in ["ronneberger2015_unet.pdf", "karpukhin2020_dpr_two_column.pdf", "okamoto_vegetation_map_timelapse_preprint_ja.pdf"]:
        path = PAPERS / name
        if not path.exists():
            continue
        with pymupdf.open(path) as doc:
            for i in range(min(doc.page_count, 6)):
                assert page_geometry(doc, i).text == doc[i].get_text(), f"{name} page {i + 1}"
