"""What each part of a paper is, read from its layout: running heads, page numbers, margin
stamps, the author block and the reference list are never evidence; captions, footnotes,
headings and the title stand on their own; footnotes and linked references a sentence
points to are found."""

from __future__ import annotations

import pymupdf
import pytest
from conftest import eval_paper

from assistant.answering.evidence import passage_sentences
from assistant.library.library import Library
from assistant.pdf.pages import PdfStore, boxes
from assistant.pdf.reader import layout, parse_pdf
from assistant.text.normalize import fold
from assistant.text.sentences import UNIT_BREAK, sentence_spans
from assistant.types import DocumentText, Passage

TITLE = "Counting Seabirds with Convolutional Networks"
HEADER = "Journal of Test Ecology 12 (2024) 1-4"
STAMP = "arXiv:2401.01234v1 [cs.CV] 3 Jan 2024"
BODY = [
    "The colonies were photographed from drones flying at thirty metres above the",
    "cliffs, and every image was checked by two observers before it was used.",
    "The images come from the public seabird archive1 of the island survey and were",
    "labelled with bounding boxes around every adult bird on the ledges.",
    "A convolutional network with eighteen layers was trained on these images with a",
    "learning rate of 0.001 for sixty epochs, as in the challenge [2] and in [1].",
]


def seabird_paper() -> bytes:
    """Four pages set as a journal sets them: running head and page number on each page,
    an arXiv stamp sideways in the margin of the first, a title block with authors, a
    footnote, a caption, and a numbered reference list."""
    doc = pymupdf.open()
    for n in range(1, 5):
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 40), HEADER, fontsize=8, fontname="helv")
        page.insert_text((290, 815), str(n), fontsize=8, fontname="helv")
        y = 90
        if n == 1:
            page.insert_text((30, 560), STAMP, fontsize=14, fontname="helv", rotate=90)
            page.insert_text((80, 90), TITLE, fontsize=18, fontname="hebo")
            page.insert_text((200, 120), "Ann Author1, Ben Writer2", fontsize=10, fontname="helv")
            page.insert_text((150, 136), "1 Seabird Institute, ann@seabirds.example.org", fontsize=9, fontname="helv")
            page.insert_text((56, 170), "Abstract", fontsize=12, fontname="hebo")
            y = 190
        lines = BODY if n < 4 else []
        for i, line in enumerate(lines * 2):
            page.insert_text((56, y + 14 * i), line, fontsize=10, fontname="helv")
        if n == 2:
            page.insert_text((56, 470), "Fig. 1. Birds counted on each ledge of the study cliff.", fontsize=9,
                             fontname="helv")
            page.insert_text((56, 760), "1", fontsize=5, fontname="helv")
            page.insert_text((60, 763), "https://seabirds.example.org/archive holds the images.", fontsize=8,
                             fontname="helv")
        if n == 4:
            page.insert_text((56, 100), "References", fontsize=12, fontname="hebo")
            entries = [
                "[1] A. Smith, B. Jones. Counting birds. Journal of Birds 3 (2019) 1-10.",
                "[2] Seabird counting challenge 2020, web page, http://challenge.example.org/data",
                "[3] C. Lee. Deep learning for ecology. In: Proc. Ecology Conf., 2021, pp. 4-9.",
            ]
            for i, entry in enumerate(entries):
                page.insert_text((56, 124 + 14 * i), entry, fontsize=9, fontname="helv")
    data = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def parsed():
    return parse_pdf(seabird_paper(), "seabirds.pdf")


def regions_of(doc, role: str) -> list[str]:
    return [doc.text[r.start : r.end] for r in doc.regions if r.role == role]


def test_title_comes_from_the_title_block_not_the_margin_stamp(parsed):
    assert parsed.title == TITLE
    assert regions_of(parsed, "title") == [TITLE]


def test_running_heads_page_numbers_and_stamps_are_hidden(parsed):
    furniture = "\n".join(regions_of(parsed, "furniture")).split("\n")
    assert furniture.count(HEADER) == 4
    assert {"1", "2", "3", "4"} <= set(furniture)
    assert any("arXiv:2401.01234v1" in f for f in furniture)
    reading = DocumentText.of(parsed).reading
    assert len(reading) == len(parsed.text)  # same offsets: spans still point at the same boxes
    assert HEADER not in reading and "arXiv" not in reading


def test_the_author_block_and_the_reference_list_are_hidden(parsed):
    reading = DocumentText.of(parsed).reading
    assert "Ann Author" not in reading and "ann@seabirds" not in reading
    assert "References" not in reading and "Journal of Birds" not in reading
    assert "Abstract" in reading and TITLE in reading
    hidden = regions_of(parsed, "references")
    assert hidden[0].startswith("References") and "Proc. Ecology Conf." in hidden[-1]


def test_footnotes_and_captions_are_units_of_their_own(parsed):
    assert regions_of(parsed, "caption") == ["Fig. 1. Birds counted on each ledge of the study cliff."]
    notes = regions_of(parsed, "footnote")
    assert len(notes) == 1 and "seabirds.example.org/archive" in notes[0]
    reading = DocumentText.of(parsed).reading
    units = [fold(reading[s:e]) for s, e in sentence_spans(reading)]
    # The note is one unit, not run into the body sentence before it.
    assert any(u.startswith("1 https://seabirds.example.org/archive") for u in units)
    assert not any("ledges" in u and "archive holds" in u for u in units)
    assert reading.count(UNIT_BREAK) >= 4


def test_a_sentence_points_to_its_footnote_and_to_linked_references_only(parsed):
    text = DocumentText.of(parsed)
    sources = text.sources
    assert ("footnote", "1") in sources and ("reference", "2") in sources
    assert ("reference", "1") not in sources and ("reference", "3") not in sources  # no link: literature
    start = text.text.index("archive1")
    page_two = text.page_starts[1]
    cited = layout.cited_in(text, page_two, page_two + 400)
    assert any(c.kind == "footnote" and c.number == "1" and c.page == 2 for c in cited)
    assert text.text.index("archive1", page_two) >= start
    learning = text.text.index("learning rate of 0.001")
    cited = layout.cited_in(text, learning, learning + 120)
    assert [c.label for c in cited] == ["ref. 2"] and "challenge.example.org/data" in cited[0].text


def test_boxes_of_a_sentence_across_a_page_leave_the_running_head_out(tmp_path):
    # Page 1 ends mid-sentence; page 2 opens with its running head, then the sentence goes on.
    doc = pymupdf.open()
    for n in range(1, 4):
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 40), HEADER, fontsize=8, fontname="helv")
        if n == 2:
            page.insert_text((56, 86), "ledges every morning in June.", fontsize=10, fontname="helv")
        for i in range(30):
            page.insert_text((56, 100 + 14 * i), f"Filler sentence number {i} of page {n}.", fontsize=10,
                             fontname="helv")
        if n == 1:
            page.insert_text((56, 100 + 14 * 30), "The birds were counted on the cliff", fontsize=10, fontname="helv")
        page.insert_text((290, 815), str(n), fontsize=8, fontname="helv")
    path = tmp_path / "across.pdf"
    doc.save(path)
    parsed = parse_pdf(path.read_bytes(), "across.pdf")
    text = DocumentText.of(parsed)
    start = text.text.index("The birds were counted")
    end = text.text.index("June.") + len("June.")
    passage = Passage(1, parsed.doc_id, "across.pdf", "", text.reading[start:end], 1.0, start, end,
                      [s for s in layout_spans(text, start, end)])
    sentence = next(s for s in passage_sentences([passage]) if "June" in s.text)
    assert HEADER not in sentence.text
    spans, rects = boxes(passage, sentence.start, sentence.end, PdfStore(), path)
    assert {r.page for r in rects} == {1, 2}
    boxed = " ".join(r.text for r in rects)
    assert "Journal" not in boxed and "June." in boxed


def layout_spans(text: DocumentText, start: int, end: int):
    from assistant.geometry import page_spans

    return page_spans(text.page_starts, text.page_lengths, start, end)


def test_a_library_made_before_layouts_were_analysed_gets_them_on_first_read(settings, fake_embedding, tmp_path):
    library = Library(settings, fake_embedding)
    record = library.ingest(seabird_paper(), "seabirds.pdf").record
    # As a library made before: the stored layout forgotten.
    with library.catalog._connect() as db:
        db.execute("UPDATE texts SET regions = NULL")
    fresh = Library(settings, fake_embedding)
    text = fresh.document_text(record.doc_id)
    assert any(r.role == "references" for r in text.regions)
    assert "Journal of Birds" not in text.reading
    stored = fresh.catalog.text(record.doc_id)
    assert stored is not None and stored[1]  # kept, not worked out again


def test_real_papers_keep_their_notes_out_of_the_reference_list():
    unet = parse_pdf(eval_paper("ronneberger2015_unet.pdf").read_bytes(), "unet.pdf")
    assert unet.title == "U-Net: Convolutional Networks for Biomedical Image Segmentation"
    notes = regions_of(unet, "footnote")
    assert any("U-net implementation, trained networks" in n for n in notes)
    reading = DocumentText.of(unet).reading
    assert "Krizhevsky, A., Sutskever" not in reading  # an entry of the reference list
    assert "u-net implementation, trained networks" in fold(reading)
    resnet = parse_pdf(eval_paper("he2015_resnet.pdf").read_bytes(), "resnet.pdf")
    assert resnet.title == "Deep Residual Learning for Image Recognition"
    # The appendix after the reference list is body text again.
    assert "Object Detection Baselines" in DocumentText.of(resnet).reading
