"""Which sentences an offline answer quotes, and which units can be evidence at all."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_passage

from assistant.answering.evidence import looks_like_prose, passage_sentences, states_expected
from assistant.answering.marks import VALUE_BONUS, choose_quotes, leading_with_the_best, lexical_overlap, quote_bonus
from assistant.text.guides import guide_for
from assistant.text.normalize import terms
from assistant.types import PageSpan, Passage


def passage(n: int, text: str) -> Passage:
    return make_passage(text, n, start=1000 * n)


def ranked(passages: list[Passage], scores: dict[str, float]):
    """The passages' sentences with the score of the entry whose key starts them, best first."""
    out = []
    for s in passage_sentences(passages):
        score = next(v for k, v in scores.items() if s.text.startswith(k))
        out.append((s, score))
    return sorted(out, key=lambda x: -x[1])


def quotes(p: Passage, scores: dict[str, float], question: str, limit: int = 4,
           facts: dict[str, set[str]] | None = None) -> list[str]:
    """What is quoted; ``facts``: the facts each sentence (by its opening words) names."""
    pairs = ranked([p], scores)
    named = {s.key: frozenset(v) for s, _ in pairs for k, v in (facts or {}).items() if s.text.startswith(k)}
    return [s.text for s, _ in choose_quotes(pairs, question, floor=0.45, window=0.25, limit=limit, facts=named)]


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


def test_the_last_place_kept_for_an_unanswered_part_is_filled_when_no_sentence_answers_it():
    p = passage(1, "We flip and rotate every training image at random. "
                   "Elastic deformations are applied to the training images as well. "
                   "The augmented images are generated on the fly during training. "
                   "We apply a random gain and pitch shift to each recording.")
    scores = {"We flip": 0.80, "Elastic": 0.78, "The augmented": 0.70, "We apply": 0.66}
    # Nothing names the question's "techniques": the fourth place is not left empty.
    quoted = quotes(p, scores, "Which augmentation techniques were applied?")
    assert len(quoted) == 4
    assert quoted[-1].startswith("We apply a random gain")


def test_a_sentence_saying_again_what_is_quoted_gives_way_to_one_naming_more():
    p = passage(1, "We augment the training images with elastic deformations. "
                   "Especially elastic deformations seem to be the key to training with few images. "
                   "Shifts and rotations of the images are applied as well.")
    scores = {"We augment": 0.80, "Especially": 0.75, "Shifts": 0.62}
    facts = {"We augment": {"elastic deformation"}, "Especially": {"elastic deformation"},
             "Shifts": {"shift", "rotation"}}
    question = "Which augmentation was used?"
    assert quotes(p, scores, question, limit=2, facts=facts) == [
        "We augment the training images with elastic deformations.",
        "Shifts and rotations of the images are applied as well."]
    # Without anything else to quote, the repeat is quoted after all.
    scores["Shifts"] = 0.1
    assert quotes(p, scores, question, limit=2, facts=facts)[1].startswith("Especially elastic")
    # A repeat that gives a value of its own is a detail, not a repeat.
    p = passage(1, "We augment the training images with elastic deformations. "
                   "Elastic deformations use random vectors on a coarse 3 by 3 grid. "
                   "Shifts and rotations of the images are applied as well.")
    scores = {"We augment": 0.80, "Elastic": 0.75, "Shifts": 0.62}
    facts = {"We augment": {"elastic deformation"}, "Elastic": {"elastic deformation"}, "Shifts": {"shift"}}
    assert quotes(p, scores, question, limit=2, facts=facts)[1].startswith("Elastic deformations use")


def test_without_an_unanswered_part_the_strongest_sentences_are_quoted():
    p = passage(1, "We keep the batch size at 32 for every run of the model. "
                   "Gradient accumulation keeps the effective batch size at 32 as well. "
                   "In all cases, we use AdamW as the optimizer with default settings.")
    scores = {"We keep": 0.80, "Gradient": 0.78, "In all cases": 0.50}
    quoted = quotes(p, scores, "Which batch size was used?")
    assert quoted == ["We keep the batch size at 32 for every run of the model.",
                      "Gradient accumulation keeps the effective batch size at 32 as well."]


def test_an_answer_leads_with_its_best_quote_then_reads_in_document_order():
    p = passage(1, "Images were resized to 256 pixels. We trained with SGD and a momentum of 0.9. "
                   "The learning rate was 0.01.\nWe use these settings as below:\nA batch of 32 images.")
    first, best, third, colon, listed = passage_sentences([p])
    assert [s.text for s, _ in leading_with_the_best([(best, 0.9), (third, 0.7), (first, 0.6)])] == [
        best.text, first.text, third.text]
    # What a quote announces with a colon stays right after it.
    assert [s.text for s, _ in leading_with_the_best([(colon, 0.9), (first, 0.7), (listed, 0.6)])] == [
        colon.text, listed.text, first.text]


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
    at_start = make_passage(text)
    assert len(passage_sentences([at_start])) == 2


# --- what counts as answered ---------------------------------------------------------

from assistant.answering.answerer import paper_name, pointed_links, quote_answer  # noqa: E402
from assistant.answering.evidence import looks_like_reference, reports_others, usable  # noqa: E402
from assistant.answering.marks import ANSWERED, STRICT_RELIEF, WEAK, WEAK_MARGIN, select_for_question, support  # noqa: E402
from assistant.text.sentences import quotable  # noqa: E402
from assistant.types import NOT_FOUND, Cited, Guide, Region  # noqa: E402

FLOOR = 0.45
HARDWARE = Guide("GPU models and memory", ("hardware",), strict=True)
PREFERS_HARDWARE = Guide("", ("hardware",), strict=False)


def test_a_strict_guide_answers_only_with_a_sentence_of_its_kind():
    relieved = FLOOR - STRICT_RELIEF
    assert support(0.9, None, HARDWARE, FLOOR) == NOT_FOUND  # relevant, but names no hardware
    assert support(0.9, relieved, HARDWARE, FLOOR) == ANSWERED
    assert support(0.9, relieved - WEAK_MARGIN / 2, HARDWARE, FLOOR) == WEAK
    assert support(0.9, relieved - 2 * WEAK_MARGIN, HARDWARE, FLOOR) == NOT_FOUND


def test_a_preferred_kind_stated_a_little_below_the_floor_is_weak_and_never_stated_is_not_found():
    assert support(0.6, 0.5, PREFERS_HARDWARE, FLOOR) == ANSWERED
    assert support(0.6, 0.3, PREFERS_HARDWARE, FLOOR) == WEAK  # close words beside a sentence of the kind
    assert support(0.4, FLOOR - WEAK_MARGIN / 2, PREFERS_HARDWARE, FLOOR) == WEAK
    assert support(0.6, None, PREFERS_HARDWARE, FLOOR) == NOT_FOUND  # close words, no hardware named
    assert support(0.3, None, PREFERS_HARDWARE, FLOOR) == NOT_FOUND
    # Without expected kinds: the relevance floor alone, as before.
    assert support(0.5, None, Guide(), FLOOR) == ANSWERED
    assert support(0.44, None, Guide(), FLOOR) == NOT_FOUND


def test_only_the_sentence_naming_the_hardware_is_quoted_for_a_hardware_question():
    p = passage(1, "Deep networks need a lot of computing power to be trained well. "
                   "Training took ten hours on one NVIDIA Titan GPU with 6 GB of memory. "
                   "The network was trained with stochastic gradient descent.")
    pairs = ranked([p], {"Deep": 0.70, "Training": 0.50, "The network": 0.55})
    sentences = [s for s, _ in pairs]
    scores = np.array([score for _, score in pairs])
    chosen = select_for_question(sentences, scores, "Which hardware was used?", HARDWARE, FLOOR, 4, 4)
    assert chosen.support == ANSWERED
    gpu = "Training took ten hours on one NVIDIA Titan GPU with 6 GB of memory."
    assert [s.text for s, _ in chosen.quotes] == [gpu]
    nothing = select_for_question(sentences[:1], scores[:1], "Which hardware was used?", HARDWARE, FLOOR, 4, 4)
    assert nothing.support == NOT_FOUND and not nothing.quotes and not nothing.marks


def selected(p: Passage, scores: dict[str, float], question: str, guide: Guide, limit: int = 4):
    """The passage's sentences ranked by ``scores`` (see :func:`ranked`), and what an offline answer selects."""
    pairs = ranked([p], scores)
    return pairs, select_for_question([s for s, _ in pairs], np.array([x for _, x in pairs]), question, guide,
                                      FLOOR, limit, 4)


def test_not_found_for_want_of_the_kind_marks_the_closest_sentence_and_quotes_nothing():
    p = passage(1, "Deep networks need a lot of computing power to be trained well. "
                   "The network was trained with stochastic gradient descent.")
    _, chosen = selected(p, {"Deep": 0.70, "The network": 0.55}, "Which hardware was used?", PREFERS_HARDWARE)
    assert chosen.support == NOT_FOUND and not chosen.quotes
    # The reviewer checking the "not found" sees where the passages come closest.
    assert [s.text for s, _ in chosen.marks[1]][0] == "Deep networks need a lot of computing power to be trained well."


BIAS = Guide("Oversampling, undersampling or class weights.", ("imbalance",), strict=True)


def test_a_sentence_of_the_kind_quotable_below_the_floor_by_the_strict_relief():
    p = passage(1, "The colonies were photographed from a drone at noon. "
                   "We oversample the rare species so that each class has as many images as the largest. "
                   "Class weights were also tried for the imbalance.")
    scores = {"The colonies": 0.9, "We oversample": 0.5, "Class weights": FLOOR - STRICT_RELIEF + 0.02}
    pairs, chosen = selected(p, scores, "Was imbalance handled?", BIAS)
    # Both state the kind and answer (see support): both are quoted, though one is below the floor.
    assert chosen.support == ANSWERED
    assert [s.text for s, _ in chosen.quotes] == [pairs[1][0].text, pairs[2][0].text]


def test_what_the_paper_did_is_quoted_before_what_it_says_it_did_not_do():
    p = passage(1, "We also do not address class imbalance because online undersampling is difficult. "
                   "In addition, we oversample the rare species against the imbalance of the training set.")
    pairs, chosen = selected(p, {"We also": 0.80, "In addition": 0.72}, "Was imbalance handled?", BIAS, limit=1)
    assert [s.text for s, _ in chosen.quotes] == [pairs[1][0].text]


def test_related_work_and_reference_entries_are_recognised():
    assert reports_others("The breakthrough by Krizhevsky et al. was due to a large network.")
    assert reports_others("Typical models include autoencoders [11]-[13] and CNNs [17]-[19].")
    assert not reports_others("We follow Krizhevsky et al. and train a large network.")
    assert not reports_others("The data set is provided by the EM segmentation challenge [14].")
    # Citations set after the names of what is used cite those things: no report of others' work.
    assert not reports_others("The benchmarks for evaluation include MMLU (Hendrycks et al., 2021), "
                              "GPQA (Rein et al., 2023) and GSM8K (Cobbe et al., 2021).")
    assert reports_others("Smith et al. (2020) trained a large network on the same benchmarks.")
    assert reports_others("The details of these algorithms are given in (Smith et al., 2010).")
    # Sets side by side back one claim of the paper's own ("larger sizes overlap [42], [43]").
    assert not reports_others("The input cube size is set to 11 x 11, because larger sizes overlap [42], [43].")
    assert reports_others("Models include autoencoders [11], [12] and recurrent networks [14].")
    assert looks_like_reference("[8] Y. LeCun, Y. Bengio, G. Hinton, “Deep learning,” Nature, vol. 521, pp. 436, 2015.")
    assert looks_like_reference("Ioffe, S., Szegedy, C.: Batch normalization: accelerating training. In: ICML (2015)")
    assert not looks_like_reference("The network was trained in 2015 with the settings of Table 2.")


def test_a_sentence_going_on_about_others_work_or_the_fields_knowledge_is_not_the_papers():
    text = ("For example, in [20], Hu et al. designed a 1-D CNN model for the spectra of each pixel. It mainly "
            "consists of one convolutional layer and two fully-connected layers. Specifically, they fed the "
            "spectra into the network. We designed a two-branch CNN model for the same task. It has three "
            "convolutional layers and an output layer. It is well known that spectral responses vary between "
            "bands for the same object. In recent years, deep learning has shown its strength in vision [8]. "
            "In contrast with hand-made features, it learns the features from the data. In recent years, we "
            "have collected drone images of the colonies.")
    sentences = passage_sentences([passage(1, text)])
    assert [s.others for s in sentences] == [True, True, True, False, False, True, True, True, False]


def test_captions_are_evidence_only_when_a_table_or_figure_is_asked_about():
    p = passage(1, "Fig. 2. The training loss falls steadily over sixty epochs. "
                   "The loss falls over sixty epochs of training on the archive.")
    p.roles = [Region(0, p.text.index("The loss"), "caption")]
    sentences = passage_sentences([p])
    assert [s.role for s in sentences] == ["caption", ""]
    assert [s.role for s in usable(sentences, "How long was the network trained?")] == [""]
    assert len(usable(sentences, "What does the figure of the training loss show?")) == 2


def test_quotes_lose_the_papers_citation_numbers_without_leaving_marks():
    assert quotable("the SGD implementation of Caﬀe [6].") == "the SGD implementation of Caffe."
    assert quotable("This technique ([16], [17]) was employed.") == "This technique was employed."
    assert quotable("as proposed in [12] for training.") == "as proposed in ref. 12 for training."
    assert quotable("we used LSTM (LSTM, [18]), one of") == "we used LSTM (LSTM), one of"
    assert quotable("include autoen-\ncoders [11]–[13], RNNs (e.g., [3, 4]).") == "include autoencoders, RNNs."


def test_quotes_from_several_papers_are_grouped_under_each_papers_title():
    a = passage(1, "We trained on one NVIDIA Titan GPU with 6 GB of memory for ten hours.")
    b = Passage(2, "other", "other.pdf", "Counting seabirds with drones and deep networks", "Training ran on "
                "four NVIDIA V100 GPUs for two days.", 0.5, 0, 60, [PageSpan(3, 0, 60)])
    quotes = [(s, 0.6) for s in passage_sentences([a, b])]
    text = quote_answer(quotes)
    lines = text.split("\n")
    assert lines[0].startswith("Paper: We trained on one NVIDIA Titan GPU") and lines[0].endswith("[1]")
    assert lines[1].startswith("Counting seabirds with drones and deep networks: Training ran on four")
    assert quote_answer(quotes[:1]) == "We trained on one NVIDIA Titan GPU with 6 GB of memory for ten hours. [1]"
    long = Passage(3, "x", "x.pdf", "A " * 60 + "title", "", 0, 0, 0, [])
    assert len(paper_name(long)) <= 80 and paper_name(long).endswith("…")


def test_a_quote_brings_the_link_of_the_footnote_it_points_to():
    p = passage(1, "The images come from the public archive1 of the island survey.")
    note = Cited("footnote", "1", "1 https://seabirds.example.org/archive holds the images.", 2, 0, 10)
    other = Cited("reference", "2", "[2] A web page, http://example.org/other", 9, 20, 40)
    p.cited = [note, other]
    sentence = passage_sentences([p])[0]
    assert sentence.cited == [note]  # it carries mark 1, not [2]
    assert pointed_links(sentence) == " (note 1: https://seabirds.example.org/archive)"  # the note's words follow it
    entry = Cited("reference", "3",
                  "[3] Seabird archive: sharing colony images, 2022. URL: https://seabirds.example.org", 9, 0, 80)
    cites = passage(2, "The images come from the seabird archive [3].")
    cites.cited = [entry]
    # The entry's words say what the link is; they come before it, without the entry's number.
    assert pointed_links(passage_sentences([cites])[0]) == (
        " (ref. 3: Seabird archive: sharing colony images, 2022. URL: https://seabirds.example.org)")
    long = Cited("reference", "3", "[3] " + "A. Author, " * 40 + "https://seabirds.example.org", 9, 0, 500)
    cites.cited = [long]
    shown = pointed_links(passage_sentences([cites])[0])
    assert "… https://seabirds.example.org)" in shown and len(shown) < 220
    assert "archive" in quote_answer([(sentence, 0.6)])


def test_of_two_sentences_naming_the_same_fact_the_one_giving_its_value_ranks_higher():
    guide = guide_for("What are the data augmentation techniques applied in the deep learning pipeline?")
    summary, detail = passage_sentences([passage(1, "We augment the training images with elastic deformations. "
                                                    "We draw elastic deformations from a coarse 3 by 3 grid.")])
    assert states_expected(summary, guide) and states_expected(detail, guide)
    assert quote_bonus(detail, guide) - quote_bonus(summary, guide) == pytest.approx(VALUE_BONUS)
