"""Kinds of fact a question asks for, whether a sentence states one, and what each
question asks for (its guide): the built-in questions' own, a user's description."""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from assistant.config import Settings
from assistant.database import Database
from assistant.text.facts import CONTRIBUTION, KINDS, kinds_asked, stated, states_value
from assistant.text.guides import competency_guides, competency_questions, guide_for
from assistant.work.questions import QuestionSets, parse_described, read_question_file
from assistant.work.runs import RunSpec


@pytest.mark.parametrize("question, kinds", [
    ("Which GPU was used for training?", {"hardware"}),
    ("Where is the code available?", {"code"}),
    ("What is the link to the data?", {"link"}),
    ("Which learning rate and batch size were used?", {"hyperparameter"}),
    ("Which optimizer was used?", {"optimizer"}),
    ("How was the data split into training and test sets?", {"split"}),
    ("Which deep learning library was used?", {"framework"}),
    ("Who funded the study?", set()),
])
def test_a_questions_words_say_what_kind_of_fact_it_asks_for(question, kinds):
    assert kinds <= set(kinds_asked(question))
    if not kinds:
        assert kinds_asked(question) == ()


def test_data_named_with_what_is_done_to_it_is_not_asked_for_itself():
    assert kinds_asked("What data augmentation techniques were applied during training?") == ("augmentation",)
    assert "dataset" in kinds_asked("What data was used to train the model?")


def test_the_examples_in_a_question_are_not_what_it_asks_for():
    # "(e.g., ... seed value)" names the kind by example; the question itself asks about randomness.
    assert kinds_asked("What strategies handle randomness (e.g., random seed value, learning rate)?") == ("randomness",)


@pytest.mark.parametrize("kind, sentence", [
    ("hardware", "All models were trained on a computer with 32GB RAM and a GTX TITAN X graphic card."),
    ("framework", "The full implementation (based on Caﬀe) is available."),  # a ligature, as PDFs extract it
    ("link", "1http://www2.example.org/commissions/data.html"),  # a footnote mark glued to the link
    ("hyperparameter", "The learning rate, the batch size and the epochs are set to 0.001, 128 and 200."),
    ("augmentation", "We randomly crop and flip the training images."),
    ("tuning", "The weights were tuned by grid search on the validation set."),
    ("randomness", "All experiments were repeated 10 times and the average is reported."),
    ("generalisation", "We demonstrate the network on three different segmentation tasks."),
    ("annotation", "Each image comes with a fully annotated segmentation map."),
    ("dataset", "In this study, we used drone photos of three seabird colonies taken by the park service."),
    ("data_source", "The recordings come from the national sound archive (https://sounds.example.org)."),
    ("data_source", "The data are available upon reasonable request."),
    ("data_source", "All images are publicly available on the institute's web page."),
    ("data_source", "The recordings were obtained from the national archive."),
    ("dataset", "We selected twelve images from late spring to early autumn."),
    ("preprocessing", "All images were normalized to zero mean before training."),
    ("annotation", "The class labels were assigned by two botanists in the field."),
    ("annotation", "An expert manually delineated every plot on the orthophoto."),
    ("augmentation", "Data augmentation was applied to the training images."),
    ("augmentation", "We rely on strong data augmentation to learn from few images."),
    ("augmentation", "Dropout layers at the end of the encoder perform further implicit data augmentation."),
    ("split", "The pixels of one island are used as the training set, those of the other as the test set."),
    ("split", "The recordings were randomly split 80/20 by site."),
    ("regularization", "Data augmentation was used to reduce overfitting."),
    ("randomness", "To alleviate the effect of random initialization, each experiment was repeated 5 times."),
    ("randomness", "All models were trained 10 times and the results averaged."),
])
def test_sentences_that_state_a_kind(kind, sentence):
    assert stated([kind], sentence) == {kind}


@pytest.mark.parametrize("kind, sentence", [
    ("hyperparameter", "We favour a large learning rate for such networks."),  # no value
    ("tuning", "Again, gradient descent is used during the fine-tuning process."),  # fine-tuning is not tuning
    ("augmentation", "Small cubes are first cropped from the image and fed to the network."),  # preprocessing
    ("annotation", "Traditional features depend on criteria designed by human experts."),
    ("link", "For example, in [25] and [26], a two-branch framework was proposed."),
    ("randomness", "The weights are drawn from a Gaussian with a standard deviation of 0.1."),
    ("hardware", "The network segments a 512x512 image in a few seconds."),
    # Ground truth mentioned, not how it was made.
    ("annotation", "Compared with the ground-truth map in panel (a), our maps are smoother."),
    ("annotation", "Its ground-truth label is y, so the loss can be written as follows."),
    # Another method's augmentation, named without this paper's work.
    ("augmentation", "Method X owes its accuracy to ten layers along with a novel data augmentation strategy."),
    # Training data mentioned, no split of it.
    ("split", "We transform the training dataset by extracting features from each recording."),
    ("regularization", "We note that augmentation can slow down data loading."),
    ("randomness", "Each block is the repeated application of two convolutions."),
    ("preprocessing", "Each convolution is followed by batch normalization and a ReLU."),  # a layer
    ("dataset", "We used a learning rate that halves every ten epochs."),
    ("randomness", "The network averaged over 7 rotated versions of the input reaches 0.92."),
    # Where the code is, not the data.
    ("data_source", "All source code is publicly available via GitHub (https://github.com/lab/tool)."),
    # "available" and "obtained" as adjectives: nothing said of where the data are.
    ("data_source", "We rely on data augmentation to use the available annotated samples more efficiently."),
    ("data_source", "An example of the data set and our obtained segmentation is shown in Figure 2."),
])
def test_sentences_that_share_words_but_state_no_such_fact(kind, sentence):
    assert stated([kind], sentence) == set()


@pytest.mark.parametrize("sentence, states", [
    ("Along this direction, we propose an attention aided CNN model for spectral classification.", True),
    ("This paper presents a two-branch network for counting seabirds.", True),
    ("We build a classification model for the challenge using unsupervised methods.", True),
    ("In this study, we used drone photos of three colonies.", True),
    # Not the paper's aim: results shown, another's proposal, a routine step.
    ("We present the results in Table 3.", False),
    ("Smith et al. proposed a CNN model for the same task.", False),
    ("We then build the confusion matrix of the test set.", False),
])
def test_a_papers_own_aim_or_contribution(sentence, states):
    assert bool(CONTRIBUTION.search(sentence)) is states


def test_every_builtin_question_has_a_description_and_declared_kinds():
    guides = competency_guides()
    questions = competency_questions()
    assert len(guides) == len(questions) == 28
    for question in questions:
        guide = guide_for(question)
        assert guide.strict and guide.expects and set(guide.expects) <= set(KINDS)
        assert len(guide.description) > 60
    # The shipped file names each question by its number, in the order of the questions.
    text = resources.files("assistant").joinpath("data/competency_guides.csv").read_text(encoding="utf-8")
    assert [int(r["q"]) for r in csv.DictReader(io.StringIO(text))] == list(range(1, 29))


def test_a_builtin_question_keeps_its_kinds_with_another_description():
    question = competency_questions()[19]  # hardware
    guide = guide_for("  " + question.replace(" ", "  ") + " ", "GPU or TPU models")
    assert guide.strict and guide.expects == ("hardware",) and guide.description == "GPU or TPU models"


def test_a_users_question_gets_its_description_and_the_kinds_its_words_ask_for():
    guide = guide_for("What was used to train it?", "the GPU model and how many")
    assert not guide.strict and guide.description == "the GPU model and how many"
    assert "hardware" in guide.expects


def test_question_sets_keep_their_descriptions(tmp_path):
    sets = QuestionSets(Database(tmp_path / "w.sqlite3"))
    pairs = parse_described("question,description\nWhich GPU?,model and memory\nWhich optimizer?,\n", "q.csv")
    assert pairs == [("Which GPU?", "model and memory"), ("Which optimizer?", "")]
    saved = sets.save("mine", [q for q, _ in pairs], [d for _, d in pairs])
    assert sets.get("mine").descriptions == ("model and memory", "") == saved.descriptions
    assert sets.get("mine").run_descriptions == ("model and memory", "")
    sets.save("plain", ["Which GPU?"])
    assert sets.get("plain").descriptions == () and sets.get("plain").run_descriptions == ()
    # The built-in set shows its descriptions, but a run of it records none: they ship with the package.
    builtin = sets.get("cq28")
    assert len(builtin.descriptions) == 28 and builtin.run_descriptions == ()


def test_a_question_file_that_is_not_utf8_is_named():
    with pytest.raises(Exception, match="notes.csv is not UTF-8"):
        read_question_file("question\nWhich GPU?\xff".encode("latin-1"), "notes.csv")


def test_descriptions_are_part_of_a_runs_identity_only_when_given(tmp_path):
    settings = Settings(data_dir=tmp_path)
    plain = RunSpec("s", ("Which GPU?",), ("d",), ("main",), "cited", 4)
    same = RunSpec("s", ("Which GPU?",), ("d",), ("main",), "cited", 4, ("",))
    described = RunSpec("s", ("Which GPU?",), ("d",), ("main",), "cited", 4, ("model and memory",))
    assert plain.key(settings) == same.key(settings) != described.key(settings)
    assert described.guide(0).description == "model and memory"


def test_citation_numbers_are_no_values():
    assert stated(["hyperparameter"], "The learning rate was set as in [12].") == set()
    assert stated(["hyperparameter"], "The learning rate was set to 0.01 as in [12].") == {"hyperparameter"}


@pytest.mark.parametrize("sentence, gives", [
    ("We generate deformations from random vectors on a coarse 3 by 3 grid.", True),
    ("The spatial size of the image is 349 x 1905 pixels with 144 bands.", True),
    ("We apply a random gain of [-20, 20] dB.", True),
    # Numbers that are no value: citations, figures and tables, years, a footnote's mark.
    ("Typical models include autoencoders [11]-[13] and recurrent networks [14], [15].", False),
    ("Table III lists the pixels of each class, and Fig. 5 shows the images.", False),
    ("The data set comes from a challenge started in 2012.", False),
    ("1 We use chroma energy normalized and Mel-scaled spectrograms.", False),
])
def test_a_sentence_that_gives_a_value(sentence, gives):
    assert states_value(sentence) is gives


def test_a_question_naming_a_paper_is_asked_of_that_paper():
    from datetime import datetime

    from assistant.retrieval.retriever import named_in, narrowed
    from assistant.types import DocumentRecord

    def record(doc_id, title, file_name):
        return DocumentRecord(doc_id, file_name, title, 8, 10, datetime(2024, 1, 1), 1)

    papers = [record("u", "U-Net: Convolutional Networks for Biomedical Image Segmentation", "unet.pdf"),
              record("r", "Deep Residual Learning for Image Recognition", "he2015_resnet.pdf"),
              record("h", "Hyperspectral Image Classification with Attention Aided CNNs", "hang.pdf")]
    assert named_in("Which optimizer was used to train U-Net?", papers) == ["u"]
    assert named_in("How deep is ResNet?", papers) == ["r"]  # from the file name
    assert named_in("Which optimizer was used?", papers) == []
    assert named_in("Which GPU trained the CNN?", papers) == []  # common words, or in every title
    assert named_in("Which optimizer was used to train U-Net?", papers[:1]) == []  # one paper: nothing to narrow
    scope, question = narrowed("Which optimizer was used to train U-Net?", papers)
    assert scope == ["u"] and question == "Which optimizer was used to train?"
