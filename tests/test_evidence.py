"""Which sentences an offline answer quotes, and which units can be evidence at all."""

from __future__ import annotations

from assistant.evidence import choose_quotes, lexical_overlap, looks_like_prose, passage_sentences, terms
from assistant.types import PageSpan, Passage


def passage(n: int, text: str) -> Passage:
    return Passage(n, "doc", "paper.pdf", "Paper", text, 0.5, 1000 * n, 1000 * n + len(text),
                   [PageSpan(1, 1000 * n, 1000 * n + len(text))])


def ranked(passages: list[Passage], scores: dict[str, float]):
    """The passages' sentences with the score of the entry whose key starts them, best first."""
    out = []
    for s in passage_sentences(passages):
        score = next(v for k, v in scores.items() if s.text.startswith(k))
        out.append((s, score))
    return sorted(out, key=lambda x: -x[1])


def quotes(p: Passage, scores: dict[str, float], question: str) -> list[str]:
    return [s.text for s, _ in choose_quotes(ranked([p], scores), question, floor=0.45, window=0.25, limit=4)]


def test_the_last_quote_goes_to_the_part_of_the_question_not_yet_answered():
    p = passage(1, "We keep the batch size at 32 for every run of the model. "
                   "Gradient accumulation keeps the effective batch size at 32 as well. "
                   "Each batch holds 32 sentence pairs drawn at random from the data. "
                   "The batch size of 32 fits into the memory of one card. "
                   "In all cases, we use AdamW as the optimizer with default settings.")
    scores = {"We keep": 0.80, "Gradient": 0.78, "Each batch": 0.70, "The batch": 0.66, "In all cases": 0.50}
    quoted = quotes(p, scores, "Which optimizer and batch size were used?")
    assert len(quoted) == 4
    assert quoted[-1].startswith("In all cases, we use AdamW")
    assert not any(q.startswith("The batch size of 32") for q in quoted)


def test_without_an_unanswered_part_the_strongest_sentences_are_quoted():
    p = passage(1, "We keep the batch size at 32 for every run of the model. "
                   "Gradient accumulation keeps the effective batch size at 32 as well. "
                   "In all cases, we use AdamW as the optimizer with default settings.")
    scores = {"We keep": 0.80, "Gradient": 0.78, "In all cases": 0.50}
    quoted = quotes(p, scores, "Which batch size was used?")
    assert quoted == ["We keep the batch size at 32 for every run of the model.",
                      "Gradient accumulation keeps the effective batch size at 32 as well."]


def test_a_sentence_that_announces_a_list_is_quoted_with_what_follows():
    p = passage(1, "We use different evaluation metrics for paraphrase quality as below:\n"
                   "\u2022 BLEU:\nLike most prior work, we use BLEU4 (Papineni et al. 2002) to measure similarity.\n"
                   "\u2022 Self-BLEU: it measures how far the output is from the input sentence.")
    scores = {"We use different": 0.95, "Like most": 0.40, "\u2022 Self-BLEU": 0.42}
    quoted = quotes(p, scores, "Which metrics were used to evaluate quality?")
    assert quoted[0].endswith("as below:")
    assert quoted[1].startswith("Like most prior work, we use BLEU4 (Papineni et al. 2002)")
    assert len(quoted) == 2


def test_nothing_is_quoted_below_the_floor():
    p = passage(1, "In all cases, we use AdamW as the optimizer with default settings.")
    assert quotes(p, {"In all": 0.3}, "Which optimizer?") == []


def test_author_lines_and_reference_entries_are_not_evidence_but_statements_in_any_script_are():
    assert not looks_like_prose("Femke Gelderblom1, Benjamin Cretois2, Pal Johnsen3, Filippo Remonato3, "
                                "1 Acoustics, SINTEF Digital, Trondheim, Norway")
    assert not looks_like_prose("LeCun, Y., Boser, B., Denker, J.S., Henderson, D., Howard, R.E., Hubbard, W.")
    assert looks_like_prose("Fine-tuning the top layers was performed with VGG16, Inception V3, "
                            "Inception ResNet V2 and DenseNet 201.")
    assert looks_like_prose("QSL, hf-measure, SummarizeLog et lookup ont été implémentés en Java 6.")
    assert looks_like_prose("为此，本文以虚拟偶像“洛天依”为案例研究对象，从产品创新战略出发。")
    p = passage(1, "Femke Gelderblom1, Benjamin Cretois2, Pal Johnsen3, Filippo Remonato3, 1 Acoustics, "
                   "SINTEF Digital, Trondheim, Norway.\nIn our method, we combine BEATs with a prototypical network.")
    assert [s.text for s in passage_sentences([p])] == ["In our method, we combine BEATs with a prototypical network."]


def test_question_terms_meet_inflected_and_accented_forms():
    wanted = terms("In which programming language were the algorithms implemented?")
    assert lexical_overlap(wanted, terms("Les algorithmes ont été implémentés en Java 6.")) == 0.5
    assert terms("Which optimizer was used?") <= terms("We compared two optimizers.")


def test_a_passage_that_opens_inside_a_sentence_does_not_offer_its_tail_as_evidence():
    text = ("network with 8 layers and millions of parameters on the ImageNet dataset. "
            "Since then, even larger and deeper networks have been trained on it.")
    inside = passage(2, text)
    assert [s.text for s in passage_sentences([inside])] == [
        "Since then, even larger and deeper networks have been trained on it."]
    at_start = Passage(1, "doc", "paper.pdf", "Paper", text, 0.5, 0, len(text), [PageSpan(1, 0, len(text))])
    assert len(passage_sentences([at_start])) == 2
