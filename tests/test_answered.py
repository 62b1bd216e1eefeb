"""The local answered judge: against people's yes/no, on the kinds of answer that matter,
from a terminal, and its weights file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from conftest import EVAL, ROOT

from assistant.answering.answered import (
    MODEL_FILE,
    AnsweredJudge,
    JudgeModel,
    agreement,
    answer_sentences,
    refuses,
)
from assistant.answering.answerer import looks_like_dont_know
from assistant.errors import ConfigurationError
from assistant.tools.cli import main

ANSWERED = EVAL / "answered" / "dev.csv"
HARDWARE = "Which hardware resources are used for training the deep learning model (e.g., GPUs, TPUs)?"
AUGMENTATION = "What are the data augmentation techniques applied in the deep learning pipeline (e.g., Flipping)?"


@pytest.fixture(scope="module")
def judge(real_embedding) -> AnsweredJudge:
    return AnsweredJudge(real_embedding)


def test_the_three_kinds_of_answer(judge):
    hedged = ("The provided context does not explicitly mention the data augmentation techniques that were used. "
              "However, it is common practice in deep learning to apply flipping and rotation, so these may "
              "have been used as well.")
    short = "The paper does not mention it."
    specific = ("The network was trained on two NVIDIA Tesla V100 GPUs with 32 GB of memory each, which took "
                "about 14 hours for 120 epochs.")
    verdicts = judge.verdicts([(AUGMENTATION, hedged), (HARDWARE, short), (HARDWARE, specific)])
    assert [v.answered for v in verdicts] == [False, False, True]
    assert all(0.5 <= v.confidence <= 1 for v in verdicts)
    # The old rule took the hedged refusal for an answer.
    assert not looks_like_dont_know(hedged)
    assert judge.verdict(HARDWARE, "   ").answered is False


def test_a_refusal_followed_by_what_the_paper_does_say(judge):
    # The paper gives no data link but does say what was used: people call that answered.
    mixed = ("The provided context does not explicitly mention a data repository. However, it states that the "
             "images were taken from the Snapshot Serengeti dataset (3.2 million images from 225 camera traps) "
             "and that the authors trained a ResNet-18 on 1.4 million of them.")
    pure = ("The provided context does not mention where the data is available. It does not provide a link to "
            "Zenodo, Figshare, Dryad or GBIF, so I cannot answer this question.")
    question = "What are the datasets used in the deep learning pipeline (e.g., MNIST, CIFAR, ImageNet)?"
    said = judge.verdicts([(question, mixed), (question, pure)])
    assert said[0].answered and not said[1].answered


def test_sentences_and_refusals_are_read_apart():
    text = "The paper does not say which GPU.\nHowever, it mentions a cluster.\n* 4 nodes"
    assert answer_sentences(text) == ["The paper does not say which GPU.", "However, it mentions a cluster.",
                                      "* 4 nodes"]
    assert [refuses(s) for s in answer_sentences(text)] == [True, False, False]
    assert refuses("I don\u2019t know.") and not refuses("Adam with a learning rate of 0.001 was used.")


@pytest.mark.skipif(not ANSWERED.exists(), reason="the people-judged answers are not on this machine")
def test_the_judge_beats_the_rule_on_people_s_decisions(judge):
    with ANSWERED.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[::8]  # a slice of both LLMs' answers
    people = [r["decision"] for r in rows]
    verdicts = judge.verdicts([(r["question"], r["answer"]) for r in rows])
    ours = agreement(people, verdicts)
    rule = sum((d == "yes") == (not looks_like_dont_know(r["answer"])) for d, r in zip(people, rows, strict=True))
    assert ours is not None and ours.compared == len(rows)
    assert ours.agreement > rule / len(rows) + 0.2
    assert ours.kappa > 0.5


# --- from a terminal ----------------------------------------------------------------------


def _write(path, rows, fields):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


ROWS = [
    {"id": "a", "question": HARDWARE, "answer": "Training ran on one NVIDIA RTX 3090 GPU (24 GB) for 6 hours.",
     "decision": "yes"},
    {"id": "b", "question": HARDWARE, "answer": "I don't know.", "decision": "no"},
    {"id": "c", "question": AUGMENTATION, "answer": "The context does not mention any augmentation, such as "
     "flipping or rotation.", "decision": "No"},
]


def test_judge_answers_keeps_rows_and_columns_and_adds_the_flag(tmp_path, settings, capsys):
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, [{k: v for k, v in r.items() if k != "decision"} for r in ROWS], ["id", "question", "answer"])
    assert main(["judge-answers", str(source), "--out", str(out), "--data-dir", str(settings.data_dir)]) == 0
    printed = capsys.readouterr().out
    assert "judged 3 answers" in printed and "agreement" not in printed
    with out.open(newline="", encoding="utf-8") as f:
        back = list(csv.DictReader(f))
    assert list(back[0]) == ["id", "question", "answer", "answered", "confidence"]
    assert [r["id"] for r in back] == ["a", "b", "c"] and [r["answered"] for r in back] == ["yes", "no", "no"]
    assert all(0.5 <= float(r["confidence"]) <= 1 for r in back)
    assert [r["answer"] for r in back] == [r["answer"] for r in ROWS]


def test_judge_answers_with_decisions_prints_agreement_kappa_and_confusion(tmp_path, settings, capsys):
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, ROWS + [{"id": "d", "question": HARDWARE, "answer": "A GPU.", "decision": ""}],
           ["id", "question", "answer", "decision"])
    assert main(["judge-answers", str(source), "--out", str(out), "--data-dir", str(settings.data_dir)]) == 0
    printed = capsys.readouterr().out
    assert "agreement with decision: 1.000 over 3 answers (1 rows without a yes/no decision left out)" in printed
    assert "Cohen's kappa: 1.000" in printed
    lines = printed.splitlines()
    assert lines[-2].split() == ["decision", "yes", "1", "0"] and lines[-1].split() == ["decision", "no", "0", "2"]


@pytest.mark.parametrize("content, says", [
    (b"", "the file is empty"),
    (b"question,reply\nWhich GPU?,A100\n", "no column named answer"),
    (b"question,answer\n", "a header but no rows"),
    (b"%PDF-1.7\n\x00\x01\x02\xff\xfe binary", "not a CSV text file"),
    (b'question,answer\n"Which GPU?,A100\n', "not readable as CSV"),
])
def test_judge_answers_names_the_file_and_the_problem(tmp_path, settings, capsys, content, says):
    source, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    source.write_bytes(content)
    assert main(["judge-answers", str(source), "--out", str(out), "--data-dir", str(settings.data_dir)]) == 1
    err = capsys.readouterr().err
    assert str(source) in err and says in err
    assert not out.exists()


def test_judge_answers_on_a_missing_file(tmp_path, settings, capsys):
    assert main(["judge-answers", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")]) == 1
    assert "nope.csv: cannot be read" in capsys.readouterr().err


# --- the weights --------------------------------------------------------------------------


def test_the_weights_are_plain_numbers_that_match_the_features():
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    model = JudgeModel.load()
    assert model.width == 384 and len(data["coef"]) == len(model.coef)
    assert all(e["agreement"] > 0.5 for e in data["about"]["cross_llm"])


def test_unreadable_weights_are_a_clear_error(tmp_path):
    bad = tmp_path / "judge.json"
    bad.write_bytes(b"\x80\x04\x95 not json, a pickle perhaps")
    with pytest.raises(ConfigurationError, match="could not be read"):
        JudgeModel.load(bad)
    bad.write_text(json.dumps({"mean": [0.0], "scale": [1.0], "coef": [1.0], "intercept": 0.0}))
    with pytest.raises(ConfigurationError, match="do not match"):
        JudgeModel.load(bad)


@pytest.mark.skipif(not ANSWERED.exists(), reason="the people-judged answers are not on this machine")
def test_the_fitting_script_writes_the_same_file_twice(tmp_path):
    with ANSWERED.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames
    small = tmp_path / "small.csv"
    _write(small, rows[::25], fields)  # both LLMs, 68 answers
    written = []
    for n in (1, 2):
        out = tmp_path / f"judge{n}.json"
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fit_answered_judge.py"), str(small),
                               "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
        assert done.returncode == 0, done.stderr
        assert "tested on" in done.stdout and "mean cross-LLM agreement" in done.stdout
        assert done.stdout.count("own answers (5-fold): agreement") == 2
        written.append(out.read_bytes())
    assert written[0] == written[1]
    model = JudgeModel.load(tmp_path / "judge1.json")
    assert model.about["answers"] == 68 and len(model.about["cross_llm"]) == 2
    assert all(0 <= a <= 1 for a in model.about["within_llm_5fold"].values())
