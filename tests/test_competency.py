"""The 28 competency questions, answered offline with the real bundled model and a real
Chroma: what each question asks for finds the sentence that states it, a question the
paper does not answer says so, and no answer ever quotes the reference list."""

from __future__ import annotations

import re

import pymupdf
import pytest
from conftest import PAPERS

from assistant.answering.answerer import Answerer
from assistant.database import Database
from assistant.library.library import Library
from assistant.text.normalize import fold
from assistant.work.questions import competency_questions
from assistant.work.run_store import RunStore
from assistant.work.runner import BatchRunner
from assistant.work.runs import RunSpec

HARDWARE = competency_questions()[19]  # Which hardware resources are used for training ... (e.g., GPUs, TPUs)?
PLATFORM = competency_questions()[27]  # Which platform was used to deploy the deep learning model ...?


def methods_paper() -> bytes:
    """A short methods section whose hardware sentence shares no word with the question."""
    lines = [
        "Deep learning models need careful training to perform well on new data.",
        "Our deep learning model was trained on photographs of nesting seabirds.",
        "Training the model took most of the time spent on the pipeline.",
        "All computations ran on two NVIDIA Tesla V100 cards with 32 GB each.",
        "The pipeline counts the birds on every ledge of the study cliff.",
        "Counts were compared with those of two observers in the field.",
    ]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i, line in enumerate(lines * 3):
        page.insert_text((56, 80 + 16 * i), line, fontsize=10, fontname="helv")
    data = doc.tobytes()
    doc.close()
    return data


def test_a_competency_question_finds_the_sentence_that_states_what_it_asks(settings, real_embedding):
    library = Library(settings, real_embedding)
    record = library.ingest(methods_paper(), "methods.pdf").record
    answerer = Answerer(library, settings)
    answer = answerer.ask(HARDWARE, [record.doc_id])
    assert answer.support == "answered"
    assert "Tesla V100" in answer.text and "careful training" not in answer.text
    marked = [h.text for p in answer.passages for h in p.highlights]
    assert any("Tesla V100" in t for t in marked)
    # Nothing in it says where the model was deployed: it says so, naming what it looked for.
    none = answerer.ask(PLATFORM, [record.doc_id])
    assert none.support == "not found" and none.dont_know
    assert none.text.startswith("Not found in this paper") and "platform" in none.text
    assert none.passages, "the closest passages are still shown for checking"


YEAR = re.compile(r"(?:19|20)\d{2}")
URL = re.compile(r"\S*(?:https?://|www\.|github\.com|doi\.org)\S*")
# What entries of a reference list carry: initials of authors, a venue or pages.
ENTRY = re.compile(r"\b[a-z]\.\s?[a-z]?\.?,|\bet al\b|\bin:|\bpp\.|\bvol\.|\bproc|\barxiv|journal|conference|\u201c")
REFERENCE_HEADING = re.compile(
    r"^\s*(?:[\dIVX]+\.?\s*)?(references|bibliography|literature cited|références|参考文献)\s*$", re.IGNORECASE)
APPENDIX_HEADING = re.compile(
    r"^\s*(?:appendix|appendices|supplementary|[A-H]\.\s+[A-Z][a-z]+(?:\s+[A-Z]?[a-z]+)*\s*$)")


def reference_section(path) -> tuple[str, str]:
    """(body, reference list) of a paper as PyMuPDF's plain text gives them: the list runs
    from the last line that is a reference heading to an appendix heading or the end.
    Read independently of the library's layout analysis."""
    doc = pymupdf.open(path)
    lines = [ln for page in doc for ln in page.get_text().splitlines()]
    doc.close()
    heads = [i for i, ln in enumerate(lines) if REFERENCE_HEADING.match(ln)]
    if not heads:
        return fold(" ".join(lines)), ""
    start = heads[-1]
    end = next((i for i in range(start + 1, len(lines)) if APPENDIX_HEADING.match(lines[i])
                or (re.fullmatch(r"\s*[A-H]\.?\s*", lines[i]) and i + 1 < len(lines) and lines[i + 1][:1].isupper())),
               len(lines))
    return fold(" ".join(lines[:start] + lines[end:])), fold(" ".join(lines[start:end]))


@pytest.mark.skipif(not PAPERS.is_dir(), reason="evaluation papers not found")
# 28 questions of 21 papers: ~4.5 min on two idle cores, over 10 with both cores busy.
@pytest.mark.timeout(1800)
def test_a_competency_batch_over_every_eval_paper_quotes_no_reference_entry(settings, real_embedding):
    library = Library(settings, real_embedding)
    papers = sorted(PAPERS.glob("*.pdf"))
    records = [library.ingest_file(path).record for path in papers]
    batches = RunStore(Database.in_folder(settings.data_dir))
    spec = RunSpec("cq28", tuple(competency_questions()), tuple(r.doc_id for r in records), ("main",), "cited", 4)
    run = batches.open_run(spec, settings)
    BatchRunner(library, settings, batches, llms={"main": None}).run(run)
    results = batches.results(run.run_id)
    assert len(results) == 28 * len(records)
    sections = {r.doc_id: reference_section(library.file_path(r.doc_id)) for r in records}
    quoted = 0
    for result in results:
        body, references = sections[result.doc_id]
        for passage in result.answer.passages:
            for highlight in passage.highlights:
                quote = fold(highlight.text)
                quoted += 1
                # A quote found only in the reference list, with a year (not one in a link) and
                # authors' initials or a venue, is a reference entry.
                core = quote[:80]
                plain = URL.sub(" ", quote)
                entry = YEAR.search(plain) and ENTRY.search(plain)
                assert not (len(core) >= 30 and core in references and core not in body and entry), (
                    f"{result.file_name} Q{result.q_index + 1} marks a reference entry: {highlight.text!r}"
                )
    answered = sum(r.answered for r in results)
    assert quoted > 100 and 0 < answered < len(results)
