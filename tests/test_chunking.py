from __future__ import annotations

import json

from conftest import make_passage

from assistant.geometry import page_spans
from assistant.library.chunking import (
    SentenceSpanParser,
    asides,
    chunk_spans,
    document_for_parsing,
    spans_from_json,
)
from assistant.pdf.reader import parse_pdf
from assistant.text.normalize import fold
from assistant.text.sentences import sentence_spans

TEXT = " ".join(f"Sentence number {i} says something about seabirds and their nests." for i in range(60))


def test_chunks_are_whole_sentences_within_size_with_overlap():
    spans = chunk_spans(TEXT, size=300, overlap=80)
    sentences = sentence_spans(TEXT)
    starts = {s for s, _ in sentences}
    ends = {e for _, e in sentences}
    assert len(spans) > 5
    for (s, e), (s2, _) in zip(spans, spans[1:]):
        assert e - s <= 300
        assert s in starts and e in ends
        assert s < s2 < e, "consecutive chunks overlap by whole sentences"
        assert e - s2 <= 80
    assert spans[0][0] == 0 and spans[-1][1] == len(TEXT.rstrip())


def test_zero_overlap_tiles_the_text():
    spans = chunk_spans(TEXT, size=250, overlap=0)
    joined = " ".join(TEXT[s:e] for s, e in spans)
    assert joined == TEXT


def test_an_overlong_sentence_is_cut_not_dropped():
    text = "word " * 500 + "end."
    spans = chunk_spans(text, size=400, overlap=0)
    assert all(e - s <= 400 for s, e in spans)
    assert fold(" ".join(text[s:e] for s, e in spans)) == fold(text)


def nodes_of(parsed, size: int, overlap: int):
    doc = document_for_parsing(parsed, {"doc_id": parsed.doc_id, "file_name": "seabirds.pdf"})
    return SentenceSpanParser(chunk_size=size, chunk_overlap=overlap).get_nodes_from_documents([doc])


def test_chunks_across_a_page_boundary_know_both_pages(paper_pdf):
    parsed = parse_pdf(paper_pdf.read_bytes(), paper_pdf.name)
    nodes = nodes_of(parsed, 200, 0)
    crossing = [n for n in nodes if "stochastic gradient" in n.get_content() and "momentum" in n.get_content()]
    assert crossing, [n.get_content() for n in nodes]
    spans = spans_from_json(crossing[0].metadata["spans"])
    assert [s.page for s in spans] == [1, 2]
    for span in spans:
        piece = parsed.pages[span.page - 1][span.start : span.end]
        assert piece.strip() and piece in crossing[0].get_content()
    for n in nodes:
        assert parsed.text[n.metadata["char_start"] : n.metadata["char_end"]] == n.get_content()


def test_node_parser_keeps_spans_in_flat_metadata(paper_pdf):
    parsed = parse_pdf(paper_pdf.read_bytes(), paper_pdf.name)
    nodes = nodes_of(parsed, 200, 50)
    expected = chunk_spans(parsed.text, 200, 50, "sentences", asides(parsed.regions))
    assert len(nodes) == len(expected)
    for node, (start, end) in zip(nodes, expected):
        meta = node.metadata
        assert node.get_content() == parsed.text[start:end]
        assert (meta["char_start"], meta["char_end"]) == (start, end)
        assert spans_from_json(meta["spans"]) == page_spans(parsed.page_starts, [len(p) for p in parsed.pages],
                                                            start, end)
        assert meta["doc_id"] == parsed.doc_id and "page_starts" not in meta and "regions" not in meta
        assert all(isinstance(v, (str, int, float)) for v in meta.values())
        # Metadata must not leak into what is embedded.
        assert node.get_content(metadata_mode="embed") == parsed.text[start:end]
    assert json.loads(nodes[0].metadata["spans"])[0][0] == 1


def test_character_chunks_cut_at_spaces_with_word_overlap():
    spans = chunk_spans(TEXT, size=200, overlap=50, method="characters")
    assert len(spans) > 10
    for (s, e), (s2, _) in zip(spans, spans[1:]):
        assert e - s <= 200 and TEXT[s] != " " and TEXT[e - 1] != " "
        assert s < s2 < e and e - s2 <= 50
        assert s2 == 0 or TEXT[s2 - 1] == " "
    assert spans[-1][1] == len(TEXT)


def test_short_heading_lines_end_a_sentence_but_wrapped_lines_do_not():
    text = ("2 A preprint - October 20, 2022\n3.1 Time-lapse image acquisition\nOur method is intended for\n"
            "digital time-lapse cameras. The images were\nAligned with care.")
    parts = [text[s:e] for s, e in sentence_spans(text)]
    assert parts[:3] == ["2 A preprint - October 20, 2022", "3.1 Time-lapse image acquisition",
                         "Our method is intended for\ndigital time-lapse cameras."]
    assert parts[3] == "The images were\nAligned with care."


def test_sentences_are_scored_with_their_section_title_but_quoted_without_it():
    from assistant.answering.evidence import passage_sentences
    text = "3 Training\nThe network was trained with stochastic gradient descent for ten epochs."
    p = make_passage(text, doc_id="d", file_name="f.pdf", title="T")
    [sentence] = passage_sentences([p])
    assert sentence.text.startswith("The network was trained")
    assert sentence.heading == "3 Training"
    assert sentence.scored_text.startswith("3 Training: The network")
