"""Sentence units as PDF text of papers has them: citations, figure references, list
items, headings and words set one per line."""

from __future__ import annotations

import pytest

from assistant.text.sentences import sentence_spans


def units(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Like most prior work, we use BLEU4 (Papineni et al. 2002) to measure similarity.",
        "We georectified the result using the optimized camera parameters (Fig. 6).",
        "Some corpora cover few papers (e.g. AAN), and some are domain specific (i.e. medicine).",
        "The loss is defined in Eq. 3 and minimised as in Sec. 4.2 of the appendix.",
        "Results are given in the proceedings, pp. 3-18 of volume two.",
    ],
)
def test_scholarly_abbreviations_do_not_end_a_sentence(sentence):
    assert units(f"{sentence} The next sentence starts here.") == [sentence, "The next sentence starts here."]


def test_a_sentence_that_ends_with_et_al_still_ends():
    assert units("This was shown by Smith et al. The model works.") == [
        "This was shown by Smith et al.", "The model works."
    ]


def test_a_bullet_starts_a_unit_and_words_set_one_per_line_stay_in_their_sentence():
    text = ("We use different metrics as below:\n\u2022 BLEU:\nLike\nmost\nprior\nwork,\nwe\nuse\nBLEU4\n"
            "(Papineni et al. 2002) to measure similarity.\n\u2022 Self-BLEU: BLEU by itself does not measure novelty.")
    assert units(text) == [
        "We use different metrics as below:",
        "\u2022 BLEU:",
        "Like\nmost\nprior\nwork,\nwe\nuse\nBLEU4\n(Papineni et al. 2002) to measure similarity.",
        "\u2022 Self-BLEU: BLEU by itself does not measure novelty.",
    ]


def test_a_heading_after_a_footnote_mark_is_its_own_unit():
    text = ("ParaSCI-ACL\n(Dong, Wan, and Cao\n2021) is a dataset in the scientific\ndomain. We use the split.5\n"
            "Evaluation Metrics\nWe use different evaluation metrics.")
    assert units(text) == [
        "ParaSCI-ACL\n(Dong, Wan, and Cao\n2021) is a dataset in the scientific\ndomain.",
        "We use the split.5",
        "Evaluation Metrics",
        "We use different evaluation metrics.",
    ]


def test_sentences_are_split_while_another_thread_holds_the_interpreter():
    """Text split while another thread holds the GIL for longer than NLTK's wall-clock
    pattern limit (5 s) at a time, as the app's other threads may (a page rendered,
    another session served): the split must not give up half way."""
    import threading
    import time

    started = time.perf_counter()
    sum(range(2_000_000))
    hold = int(2_000_000 * 5.5 / max(time.perf_counter() - started, 1e-6))  # about 5.5 s in one C call
    # Long runs without a full stop (as tables and reference lists extract): most of the
    # split's time is then spent inside a pattern match, which lets go of the GIL.
    text = " ".join(f"Row {i} gives " + "a learning rate " * 400 + "for the network." for i in range(40))
    expected = sentence_spans(text)
    first_done = threading.Event()

    def hog() -> None:
        sum(range(hold))
        first_done.set()
        time.sleep(0.005)  # the split below starts, and this takes the GIL while it matches
        sum(range(hold))

    thread = threading.Thread(target=hog)
    thread.start()
    try:
        first_done.wait()
        assert sentence_spans(text) == expected
    finally:
        thread.join()
