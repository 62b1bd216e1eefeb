"""Papers handed on with their evidence: PDF highlight annotations read back with PyMuPDF,
from the library call, from `ask --pdf` and from `batch --out run.zip`."""

from __future__ import annotations

import io
import json
import zipfile

import pymupdf
import pytest
from conftest import PAPER_PAGES, make_pdf, plain_fold, readback
from test_integration import run_cli

from assistant.pdf.annotate import AnnotationError, Evidence, annotate, annotated_name
from assistant.pdf.reader import geometry_of
from assistant.types import NOT_FOUND, SUPPORTED, Answer, Claim, ClaimSupport, Highlight, PageSpan, Passage

MADE = {"made by": "research-assistant test", "LLMs": "main: none (offline extractive answers)"}


def _highlight(doc: pymupdf.Document, parts: list[tuple[int, str]]) -> Highlight:
    """A supporting sentence laid over ``parts`` ((1-based page, text on it) pairs), with
    the boxes the library computes from the page's characters."""
    rects, spans = [], []
    for page_no, text in parts:
        geometry = geometry_of(doc[page_no - 1])
        start = geometry.text.index(text)
        rects += geometry.rects(start, start + len(text))
        spans.append(PageSpan(page_no, start, start + len(text)))
    sentence = " ".join(t for _, t in parts)
    return Highlight(sentence, 0, len(sentence), spans, rects, 0.9)


def _answer(question: str, passages: list[Passage]) -> Answer:
    return Answer(question, "The momentum was 0.9 [1]; 4,200 images [2].", "cited", "main", passages, [1, 2])


def seabird_passages(doc: pymupdf.Document) -> list[Passage]:
    """Two passages of the seabird paper, each with its supporting sentence boxed: [1] the
    training sentence that runs from page 1 onto page 2, [2] the dataset's size on page 1."""
    across = _highlight(doc, [(1, "We trained the network with stochastic gradient"),
                              (2, "descent and a momentum of 0.9 for 120 epochs.")])
    images = _highlight(doc, [(1, "The dataset holds 4,200 annotated images of gulls and terns.")])
    return [Passage(1, "d1", "seabirds.pdf", "Seabirds", across.text, 0.8, 0, 90, across.spans, [across]),
            Passage(2, "d1", "seabirds.pdf", "Seabirds", images.text, 0.7, 0, 60, images.spans, [images])]


def _highlights_of(data: bytes) -> list[tuple[int, str, str, str]]:
    """(page, text under the annotation's quads, its title, its note) of every highlight."""
    out = []
    with pymupdf.open(stream=data) as doc:
        for page in doc:
            for annot in page.annots(types=[pymupdf.PDF_ANNOT_HIGHLIGHT]):
                points = annot.vertices
                under = " ".join(readback(page, pymupdf.Quad(points[i:i + 4]).rect) for i in range(0, len(points), 4))
                out.append((page.number + 1, plain_fold(under), annot.info["title"], annot.info["content"]))
    return out


def test_every_supporting_sentence_is_highlighted_on_each_page_it_spans_with_its_note(tmp_path):
    source = pymupdf.open(stream=make_pdf(PAPER_PAGES))
    source[1].set_rotation(90)  # a landscape-turned page: boxes are in unrotated points, as annotations are
    pdf = source.tobytes()
    source = pymupdf.open(stream=pdf)
    p1, p2 = seabird_passages(source)
    elsewhere = Passage(3, "d2", "other.pdf", "Other", "x", 0.5, 0, 1, [PageSpan(1, 0, 1)],
                        [Highlight("x", 0, 1, [PageSpan(1, 0, 1)], [], 0.5)])
    item = Evidence("Q4", _answer("Which optimiser settings were used?", [p1, p2, elsewhere]),
                    ("correct (anna: momentum on p. 2)",), {"Answered from the paper": "yes (judged by local)"})

    done = annotate(pdf, "seabirds.pdf", [item], MADE, doc_id="d1")

    assert (done.highlights, done.answers, done.unboxed) == (3, 1, 0)  # d2's passage is not this paper's
    marks = _highlights_of(done.pdf)
    assert sorted((page, under) for page, under, _, _ in marks) == [
        (1, "the dataset holds 4,200 annotated images of gulls and terns."),
        (1, "we trained the network with stochastic gradient"),
        (2, "descent and a momentum of 0.9 for 120 epochs."),  # the rotated page, boxed on its own words
    ]
    for _, _, title, note in marks:
        assert title == "Q4 · main"
        assert "Which optimiser settings were used?" in note and "The momentum was 0.9" in note
        assert "correct (anna: momentum on p. 2)" in note and "Answered from the paper: yes" in note
    assert any("passage [1], p. 1, 2" in note for *_, note in marks)
    with pymupdf.open(stream=done.pdf) as doc:
        assert doc.metadata["title"] == "A Test Paper About Seabird Detection"  # the paper's own, kept
        assert [p.get_text() for p in doc] == [p.get_text() for p in pymupdf.open(stream=pdf)]
        sticky = [a for a in doc[0].annots(types=[pymupdf.PDF_ANNOT_TEXT])]
        assert len(sticky) == 1 and "made by: research-assistant test" in sticky[0].info["content"]
        listing = json.loads(doc.embfile_get("evidence.json"))
    assert listing["made_with"] == MADE
    assert [m["pages"] for m in listing["answers"][0]["evidence"]] == [[1, 2], [1]]


def test_a_highlights_note_names_the_sentences_it_supports_and_those_found_nowhere():
    pdf = make_pdf(PAPER_PAGES)
    images = _highlight(pymupdf.open(stream=pdf), [(1, "The dataset holds 4,200 annotated images of gulls and terns.")])
    p1 = Passage(1, "d1", "seabirds.pdf", "Seabirds", images.text, 0.7, 0, 60, images.spans, [images])
    answer = Answer("How large is the dataset?", "It holds 4,200 images [1]. They were taken in 1999 [1].", "cited",
                    "main", [p1], [1], claims=[
                        Claim("It holds 4,200 images [1].", 0, 26, SUPPORTED, 0.9, [1],
                              [ClaimSupport(1, 0, 60, images.text, 1, 0.9)]),
                        Claim("They were taken in 1999 [1].", 27, 55, NOT_FOUND, 0.2, [1], [], [1])])
    done = annotate(pdf, "seabirds.pdf", [Evidence("Q1", answer)], MADE, doc_id="d1")
    [(_, _, _, note)] = _highlights_of(done.pdf)
    assert "Supports: It holds 4,200 images [1]." in note
    assert "Not found in the passages: They were taken in 1999 [1]." in note


def test_a_sentence_stored_without_boxes_is_counted_not_drawn_and_the_files_own_highlights_go():
    source = pymupdf.open(stream=make_pdf(PAPER_PAGES))
    source[0].add_highlight_annot(pymupdf.Rect(50, 60, 300, 90))  # a previous reader's, not evidence
    source[1].add_underline_annot(pymupdf.Rect(50, 60, 300, 90))
    pdf = source.tobytes()
    bare = Highlight("The batch size was 16 images on one GPU.", 0, 40, [PageSpan(2, 0, 40)], [], 0.9)
    passage = Passage(1, "d1", "seabirds.pdf", "Seabirds", bare.text, 0.8, 0, 40, bare.spans, [bare])
    done = annotate(pdf, "seabirds.pdf", [Evidence("Q3", _answer("Batch size?", [passage]))], MADE)
    assert (done.highlights, done.unboxed, done.removed) == (0, 1, 2)
    with pymupdf.open(stream=done.pdf) as doc:
        assert not [a for p in doc for a in p.annots(types=[pymupdf.PDF_ANNOT_HIGHLIGHT, pymupdf.PDF_ANNOT_UNDERLINE])]
        assert "The 2 highlight(s) and other text markups the file carried were removed" in next(
            doc[0].annots(types=[pymupdf.PDF_ANNOT_TEXT])).info["content"]
        assert json.loads(doc.embfile_get("evidence.json"))["answers"][0]["evidence"][0]["pages"] == [2]


def test_a_file_that_is_not_a_pdf_gets_a_message_naming_it():
    with pytest.raises(AnnotationError, match="notes.pdf could not be opened to annotate"):
        annotate(b"PK\x03\x04 a zip", "notes.pdf", [], MADE)
    assert annotated_name("Paper.PDF") == "Paper.evidence.pdf"


@pytest.mark.integration
def test_ask_and_batch_write_annotated_papers_from_a_terminal(tmp_path):
    data, papers = tmp_path / "lib", tmp_path / "in"
    papers.mkdir()
    make_pdf(PAPER_PAGES, papers / "seabirds.pdf")
    other = [["A Second Paper On Owls", "Owls were recorded with 12 microphones.", "The code is not shared."]]
    make_pdf(other, papers / "owls.pdf")
    assert run_cli("ingest", str(papers), data_dir=data).returncode == 0

    out = tmp_path / "answer.pdf"
    asked = run_cli("ask", "How many annotated images does the dataset hold?", "--doc", "seabirds.pdf", "--k", "2",
                    "--pdf", str(out), data_dir=data)
    assert asked.returncode == 0, asked.stderr
    assert "highlight" in asked.stderr
    marks = _highlights_of(out.read_bytes())
    assert any("4,200 annotated images" in under for _, under, _, _ in marks)
    assert all("How many annotated images" in note for *_, note in marks)

    wrong = run_cli("ask", "anything", "--pdf", str(tmp_path / "answer.txt"), data_dir=data)
    assert wrong.returncode == 1 and "ending in .pdf" in wrong.stderr
    two = run_cli("ask", "anything", "--doc", "seabirds.pdf", "--doc", "owls.pdf", "--pdf", str(out), data_dir=data)
    assert two.returncode == 1 and "name one --doc" in two.stderr

    questions = tmp_path / "q.txt"
    questions.write_text("How many annotated images does the dataset hold?\nHow many microphones were used?\n")
    zipped = tmp_path / "run.zip"
    batch = run_cli("batch", "--questions", str(questions), "--out", str(zipped), "--quiet", data_dir=data)
    assert batch.returncode == 0, batch.stderr
    with zipfile.ZipFile(zipped) as z:
        assert sorted(z.namelist()) == ["README.txt", "owls.evidence.pdf", "seabirds.evidence.pdf"]
        assert "made by: research-assistant" in z.read("README.txt").decode()
        seabirds = _highlights_of(z.read("seabirds.evidence.pdf"))
        owls = _highlights_of(z.read("owls.evidence.pdf"))
    assert any("4,200 annotated images" in under and title.startswith("Q1 ") for _, under, title, _ in seabirds)
    assert any("12 microphones" in under and title.startswith("Q2 ") for _, under, title, _ in owls)

    workbook = tmp_path / "run.xlsx"
    assert run_cli("batch", "--questions", str(questions), "--out", str(workbook), "--quiet",
                   data_dir=data).returncode == 0
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook.read_bytes()))
    assert book.sheetnames == ["Papers x questions", "Answers", "Questions", "About"]
    answers = list(book["Answers"].iter_rows(values_only=True))
    assert len(answers) == 1 + 2 * 2
    assert any("4,200" in (row[10] or "") for row in answers[1:])
