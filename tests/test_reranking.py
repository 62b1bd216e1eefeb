"""Which retrieved passages a question is answered from: those holding its best sentence."""

from __future__ import annotations

from conftest import make_passage

from assistant.answering.evidence import is_acknowledgement, passage_sentences, states_expected
from assistant.answering.reranking import best_passages, candidates
from assistant.text.guides import guide_for

DATASETS = "What are the datasets used in the deep learning pipeline (e.g., MNIST, CIFAR, ImageNet)?"


def passage(n: int, text: str):
    return make_passage(text, n, start=2000 * n)


def test_a_passage_stating_the_fact_outranks_related_work_that_shares_the_words(real_embedding):
    # Retrieval's order: the related-work paragraph first (it says "dataset" and "training
    # images"), the methods paragraph that names this paper's data last.
    related = passage(1, "Deep networks have improved image recognition. The breakthrough by Smith et al. [7] "
                         "was due to training a large network on the ImageNet dataset with one million training "
                         "images [7, 8]. Since then, even larger networks have been trained [9, 10].")
    filler = [passage(n, f"Section {n}. The valley was visited in spring and its slopes were walked from the "
                         f"north. Weather notes for visit {n} follow in the appendix.") for n in (2, 3)]
    methods = passage(4, "Experiments. The data set is provided by the seabird monitoring challenge, which "
                         "holds 4,200 labelled drone images of twelve colonies. We use its training split.")
    chosen = best_passages(real_embedding, DATASETS, [related, *filler, methods], guide_for(DATASETS), k=2)
    assert [p.text for p in chosen][0] == methods.text
    assert [p.n for p in chosen] == [1, 2]  # numbered as the answer cites them


def test_the_papers_own_model_outranks_the_details_of_others_models(real_embedding):
    question = "What type of deep learning model is used in the pipeline (e.g., CNN, RNN, Transformer)?"
    related = passage(1, "Spectral CNNs extract features for each pixel. For example, Hu et al. [20] designed a "
                         "1-D CNN model for the spectra of each pixel. It mainly consists of one convolutional "
                         "layer and two fully-connected layers.")
    intro = passage(2, "Manual labelling is slow and costly. Along this direction, we propose an attention "
                       "aided CNN model for the classification of seabird colonies in drone images.")
    chosen = best_passages(real_embedding, question, [related, intro], guide_for(question), k=1)
    assert chosen[0].text == intro.text


def test_as_many_passages_as_asked_for_are_kept_untouched(real_embedding):
    few = [passage(1, "We used the seabird dataset of 4,200 images."), passage(2, "The sky was clear.")]
    assert best_passages(real_embedding, DATASETS, few, guide_for(DATASETS), k=4) == few


def test_candidates_are_a_few_per_passage_shown_within_a_bound():
    assert candidates(4, 3) == 12
    assert candidates(4, 1) == 4
    assert candidates(20, 3) == 24
    assert candidates(30, 3) == 30  # never fewer than are shown


def test_thanks_state_no_method_only_named_hardware():
    text = ("Acknowledgments\u2029Thanks to the Data Science club for organizing the Kaggle competition team and "
            "to the lab for GPU resources. We gratefully acknowledge the donation of an NVIDIA Titan X GPU.")
    sentences = passage_sentences([passage(1, text)])
    assert sentences and all(is_acknowledgement(s) for s in sentences)
    data = guide_for("Where is the data repository of the deep learning pipeline available "
                     "(e.g., Zenodo, Figshare, Dryad, GBIF)?")
    hardware = guide_for("Which hardware resources are used for training the deep learning model (e.g., GPUs, TPUs)?")
    assert not any(states_expected(s, data) for s in sentences)  # "Kaggle" in thanks is no data source
    assert [states_expected(s, hardware) for s in sentences] == [False, True]  # only the named GPU
