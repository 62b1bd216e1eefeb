"""Every sentence of an LLM's answer checked against its passages, with the real bundled model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_passage

from assistant.answering.claims import check_claims, checkable, claim_spans
from assistant.types import NO_CLAIM, NOT_FOUND, SUPPORTED, Answer, Passage
from assistant.work.records import answer_from_record, answer_record

TRAINING = ("We trained the network for 50 epochs with the Adam optimizer at a learning rate of 0.001. "
            "Images were resized to 224 x 224 pixels before training. "
            "The code is available at https: //github.com/example/birdnet.")
DATA = ("The dataset holds 12,400 camera-trap images of 31 mammal species from Kenya. "
        "Of them, 20% were kept aside for testing.")


def passage(n: int, text: str, page: int = 1) -> Passage:
    return make_passage(text, n, page)


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    return [passage(1, TRAINING, page=4), passage(2, DATA, page=3)]


def checked(real_embedding, answer: str, passages: list[Passage]):
    return [c for c in check_claims(real_embedding, answer, passages) if c.status != NO_CLAIM]


def test_a_reworded_claim_is_supported_by_its_sentence_with_its_page(real_embedding, passages):
    [claim] = checked(real_embedding, "The model was optimised with Adam (learning rate 0.001) for 50 epochs [1].",
                      passages)
    assert claim.status == SUPPORTED
    assert claim.support[0].passage == 1 and claim.support[0].page == 4
    assert claim.support[0].text.startswith("We trained the network for 50 epochs")
    assert claim.miscited == []


def test_a_claim_from_another_paper_is_not_found(real_embedding, passages):
    [claim] = checked(real_embedding, "The acoustic recordings were segmented into 3-second clips and converted "
                                      "into mel spectrograms [1].", passages)
    assert claim.status == NOT_FOUND
    assert claim.support == []
    assert claim.miscited == [1]


def test_background_knowledge_on_a_named_thing_is_not_found(real_embedding, passages):
    """The passage names the optimizer; what Adam is, it does not say."""
    [claim] = checked(real_embedding, "Adam is an adaptive method that keeps running averages of the gradients "
                                      "and of their squares.", passages)
    assert claim.status == NOT_FOUND


def test_a_number_the_passages_do_not_hold_is_not_found(real_embedding, passages):
    [claim] = checked(real_embedding, "The network was trained with Adam at a learning rate of 0.01 for 50 epochs [1].",
                      passages)
    assert claim.status == NOT_FOUND
    assert "0.01" in claim.missing


def test_a_short_sentence_is_checked_when_it_states_a_number(real_embedding, passages):
    claims = check_claims(real_embedding, "The learning rate was 0.01. The learning rate was 0.001. In summary:",
                          passages)
    assert [c.status for c in claims] == [NOT_FOUND, SUPPORTED, NO_CLAIM]


def test_numbers_are_matched_however_written(real_embedding, passages):
    [a, b] = checked(real_embedding, "The dataset has 12400 images of 31 species [2]. "
                                     "A fifth of them (20 %) was used for testing [2].", passages)
    assert a.status == SUPPORTED and b.status == SUPPORTED


def test_a_link_broken_by_the_pdf_text_is_found(real_embedding, passages):
    [claim] = checked(real_embedding, "The code is at https://github.com/example/birdnet [1].", passages)
    assert claim.status == SUPPORTED


def test_a_citation_of_a_passage_that_does_not_support_the_claim_is_reported(real_embedding, passages):
    [claim] = checked(real_embedding, "The dataset contains 12,400 camera-trap images of 31 species [1].",
                      passages)
    assert claim.status == SUPPORTED
    assert [s.passage for s in claim.support] == [2]
    assert claim.miscited == [1]


def test_saying_the_passages_lack_something_is_no_claim(real_embedding, passages):
    claims = check_claims(real_embedding, "The context does not mention the batch size. I don't know.", passages)
    assert [c.status for c in claims] == [NO_CLAIM, NO_CLAIM]


def test_without_passages_every_claim_is_not_found(real_embedding):
    [claim] = check_claims(real_embedding, "The model was trained with Adam for 50 epochs.", [])
    assert claim.status == NOT_FOUND


def test_a_citation_after_the_full_stop_belongs_to_the_sentence_before():
    text = "Adam was used. [1] Images were resized. [2]"
    assert [text[s:e] for s, e in claim_spans(text)] == ["Adam was used. [1]", "Images were resized. [2]"]


def test_list_items_are_claims_of_their_own():
    text = "The pipeline:\n- **Optimizer**: Adam [1]\n- Batch size of 32 [1]"
    assert [text[s:e] for s, e in claim_spans(text)] == ["The pipeline:", "- **Optimizer**: Adam [1]",
                                                        "- Batch size of 32 [1]"]


def test_checkable_tokens_are_numbers_names_and_links():
    tokens = checkable("We fine-tuned ResNet50 in PyTorch with lr 1e-3 on 1,000 images (see www.x.org/a).")
    assert {"resnet50", "pytorch", "0.001", "1000", "x.org/a"} <= tokens
    assert "we" not in tokens


def test_claims_are_stored_with_the_answer_and_old_answers_still_open(real_embedding, passages):
    text = "Adam was used at a learning rate of 0.001 [1]. The images came from drones over Brazil [2]."
    answer = Answer("Which optimizer?", text, "cited", "llm", passages, cited=[1, 2],
                    claims=check_claims(real_embedding, text, passages))
    back = answer_from_record(json.loads(json.dumps(answer_record(answer))))
    assert back.claims == answer.claims
    assert [c.text for c in back.unsupported] == ["The images came from drones over Brazil [2]."]
    assert back.to_json()["claims"][1]["status"] == NOT_FOUND
    stored_before = answer_record(answer)  # as stored before the record format had a number, or claims
    del stored_before["claims"], stored_before["format"]
    assert answer_from_record(stored_before).claims == []


@pytest.mark.skipif(not Path("../shared/eval/dev_qa.jsonl").is_file(), reason="the evaluation set is not here")
def test_the_assembled_answers_mix_supported_and_unsupported_claims():
    """The measure's own cases: supported claims cite a passage that holds them (or, as
    counted, one that does not); each case has claims of both kinds or only supported."""
    from assistant.tools.evaluate import quote_in, read_qa
    from assistant.tools.evaluate_claims import assemble

    items = [i for i in read_qa(Path("../shared/eval/dev_qa.jsonl")) if i.answerable][:12]
    passages_of = {i: [passage(1, " ".join(item.evidence)), passage(2, "Unrelated text about soil chemistry.")]
                   for i, item in enumerate(items)}
    cases = assemble(items, passages_of, "reworded", seed=1)
    assert cases
    for case in cases:
        for line, supported, right in case.lines:
            assert line.rstrip(".").endswith(("[1]", "[2]"))
            if supported and right:
                assert "[1]" in line
            if not supported:
                assert not any(quote_in(line, p.text) for p in case.passages)
    assert any(not s for c in cases for _, s, _ in c.lines) and any(s for c in cases for _, s, _ in c.lines)
