"""Runs: stored and resumed, the yes/no step, votes, background runs, the question labels."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence

import pytest
from conftest import ScriptedLLM, child_env, cli, eval_paper, wait_for_results

from assistant.answering.judge import ANSWERED_PROMPT, parse_yes_no
from assistant.config import BatchSettings
from assistant.database import Database
from assistant.errors import ConfigurationError
from assistant.library.library import Library
from assistant.work.export import rows, to_csv
from assistant.work.records import answer_from_record, answer_record
from assistant.work.run_store import RunStore
from assistant.work.runner import BatchRunner
from assistant.work.runs import RunSpec, question_index, question_label, vote

QUESTIONS = (
    "Which optimizer and momentum were used for training?",
    "What data augmentation was used?",
    "Which hardware (GPU) was used for training?",
)


GENERIC = "Augmentation is commonly used in deep learning, such as flips."


def rules(knows: Sequence[str] = (), generic: str = GENERIC) -> Callable[[str], str]:
    """A chat model's replies as rules over the prompt (see conftest.ScriptedLLM): it
    answers the topics it ``knows`` from the passages, the augmentation question otherwise
    with a ``generic`` answer, and judges an answer holding a number answered when asked
    the yes/no step."""

    def reply(prompt: str) -> str:
        if prompt.startswith(ANSWERED_PROMPT.split("\n")[0]):
            answer = prompt.split("Answer:", 1)[1]
            return "Response: yes" if any(ch.isdigit() for ch in answer) else "Response: no"
        question = prompt.rsplit("Question:", 1)[-1].lower()
        if "momentum" in question and "momentum" in knows:
            return "Stochastic gradient descent with a momentum of 0.99 [1]."
        if "augmentation" in question and "augmentation" in knows:
            return "Shifts, rotations and elastic deformations were used [1]."
        if "augmentation" in question:
            return generic
        return "I don't know."

    return reply


# --- runs ----------------------------------------------------------------------------


def test_question_labels_name_a_question_and_read_back():
    assert [question_label(i) for i in (0, 11, 27)] == ["Q1", "Q12", "Q28"]
    assert all(question_index(question_label(i)) == i for i in range(40))
    for label in ("Paper", "Q0", "Q", "q3", "Q03", "Q1 "):
        with pytest.raises(ValueError, match="names no question"):
            question_index(label)


@pytest.fixture
def two_papers(settings, real_embedding):
    library = Library(settings, real_embedding)
    docs = [library.ingest_file(eval_paper(name)).record
            for name in ("ronneberger2015_unet.pdf", "ho2019_skin_lesions_dcnn_report.pdf")]
    return library, docs


def _spec(docs, llms=("main",), questions=QUESTIONS) -> RunSpec:
    return RunSpec("test", tuple(questions), tuple(d.doc_id for d in docs), tuple(llms), "cited", 4)


def test_extractive_batch_over_two_real_papers_stores_every_answer(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    run = batches.open_run(_spec(docs), settings)
    seen = []
    progress = BatchRunner(library, settings, batches, llms={"main": None}).run(run, on_progress=lambda p: seen.append(p.done))
    assert progress.complete and progress.new == 6 and progress.per_answer > 0
    assert seen == list(range(0, 7))
    results = batches.results(run.run_id)
    assert len(results) == 6
    unet = next(r for r in results if r.doc_id == docs[0].doc_id and r.q_index == 0)
    assert unet.answered and unet.judged_by == "rule"
    assert "momentum" in unet.answer.text.lower()
    pages = {h.spans[0].page for p in unet.answer.passages for h in p.highlights}
    assert 4 in pages  # the training section, boxes stored with the answer
    assert any(h.rects for p in unet.answer.passages for h in p.highlights)
    # The same batch again is the same run, already complete: nothing is asked.
    again = batches.open_run(_spec(docs), settings)
    assert again.run_id == run.run_id
    assert BatchRunner(library, settings, batches, llms={"main": None}).run(again).new == 0


def test_cancel_then_resume_asks_only_what_is_missing(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    run = batches.open_run(_spec(docs), settings)
    runner = BatchRunner(library, settings, batches, llms={"main": None})
    first = runner.run(run, should_stop=lambda: batches.done_count(run.run_id) >= 2)
    assert first.stopped and first.done == 2
    stored = {(r.doc_id, r.q_index): r.answer.seconds for r in batches.results(run.run_id)}
    second = runner.run(run)
    assert second.new == 4 and second.complete
    after = {(r.doc_id, r.q_index): r.answer.seconds for r in batches.results(run.run_id)}
    assert all(after[k] == v for k, v in stored.items())  # the first two were not asked again


def test_several_llms_judge_answered_and_vote(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    knows_all = ScriptedLLM(answer=rules(["momentum", "augmentation"]))
    knows_one = ScriptedLLM(answer=rules(["momentum"]))
    knows_none = ScriptedLLM(answer=rules([]))
    llms = {"main": knows_all, "second": knows_one, "third": knows_none}
    settings = settings.model_copy(update={"batch": BatchSettings(judge="llm")})
    run = batches.open_run(_spec(docs[:1], llms=tuple(llms)), settings)
    BatchRunner(library, settings, batches, llms=llms).run(run)
    results = batches.results(run.run_id)
    assert len(results) == 9
    by = {(r.q_index, r.llm): r for r in results}
    assert by[(0, "main")].answered and by[(0, "main")].judged_by == "llm"
    # "commonly used ... such as flips" is generic: the yes/no step says no.
    assert not by[(1, "second")].answered and by[(1, "second")].judged_by == "llm"
    assert by[(2, "main")].answer.dont_know and not by[(2, "main")].answered
    # A "don't know" needs no LLM to judge it: the local judge's word stands.
    assert by[(2, "main")].judged_by == "local" and by[(2, "main")].llm_answered is None
    assert any(p.startswith("Decide whether the answer") for p in knows_all.prompts)
    v0 = vote([r for r in results if r.q_index == 0])
    v1 = vote([r for r in results if r.q_index == 1])
    assert (v0.answered, v0.yes, v0.no) == (True, 2, 1) and v0.agreement == pytest.approx(2 / 3)
    assert (v1.answered, v1.yes) == (False, 1)


def test_by_default_the_local_judge_decides_without_asking_the_llm(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    # How LLMs write a generic answer: the caveat first, then what is usual.
    llm = ScriptedLLM(answer=rules(["momentum"], generic="The provided context does not say which data augmentation "
                      "was applied. Augmentation is commonly used in deep learning, such as flips and rotations, and "
                      "it was probably used here as well."))
    run = batches.open_run(_spec(docs[:1]), settings)
    BatchRunner(library, settings, batches, llms={"main": llm}).run(run)
    by = {r.q_index: r for r in batches.results(run.run_id)}
    assert not any(p.startswith("Decide whether the answer") for p in llm.prompts)
    assert len(llm.prompts) == 3  # one request per answer, none to judge it
    assert all(r.judged_by == "local" and 0.5 <= r.confidence <= 1 and r.llm_answered is None for r in by.values())
    assert by[0].answered and by[0].local_answered  # "SGD with a momentum of 0.99"
    assert not by[1].answered  # "not said ... commonly used in deep learning": generic
    assert not by[2].answered  # "I don't know."
    # The table, votes and exports read the same flag.
    flags = {f.q_index: f for f in batches.flags(run.run_id)}
    assert [flags[q].answered for q in range(3)] == [True, False, False] and not any(f.disagree for f in flags.values())
    exported = {r["question_number"]: r for r in rows(run, batches.results(run.run_id))}
    assert exported[1]["answered"] == "yes" and exported[1]["judged_by"] == "local"
    assert exported[2]["answered"] == "no" and exported[2]["local_judge"] == "no" and exported[2]["llm_judge"] == ""
    assert vote(batches.results(run.run_id)[:1]).answered is True


def test_both_judges_are_stored_and_their_disagreement_shown(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    # This LLM calls any answer holding a digit answered: the augmentation answer has none
    # (it says no, as the local judge does); "a momentum of 0.99" has one (it says yes).
    # A hedged answer with a number splits them.
    settings = settings.model_copy(update={"batch": BatchSettings(judge="both")})

    plain = rules(["momentum"], generic="The provided context does not say which data augmentation was applied. "
                  "Augmentation is commonly used in deep learning, such as flips.")

    def hedging(prompt: str) -> str:
        if "hardware" in prompt.rsplit("Question:", 1)[-1].lower() and not prompt.startswith("Decide"):
            return ("The provided context does not mention the hardware used for training. It is common in 2015 "
                    "to train such networks on 1 or 2 GPUs, so it may have been a GPU.")
        return plain(prompt)

    llm = ScriptedLLM(answer=hedging)
    run = batches.open_run(_spec(docs[:1]), settings)
    BatchRunner(library, settings, batches, llms={"main": llm}).run(run)
    results = batches.results(run.run_id)
    by = {r.q_index: r for r in results}
    assert sum(p.startswith("Decide whether the answer") for p in llm.prompts) == 3
    assert all(r.judged_by == "local" and r.local_answered is not None and r.llm_answered is not None
               for r in by.values())
    assert by[0].answered and not by[0].disagree
    hedged = by[2]
    assert hedged.llm_answered and not hedged.local_answered and not hedged.answered and hedged.disagree
    assert {f.q_index for f in batches.flags(run.run_id) if f.disagree} == {2}
    from ui.batch_view import DISAGREE, cell_symbol

    assert DISAGREE in cell_symbol([hedged]) and DISAGREE not in cell_symbol([by[0]])
    exported = {r["question_number"]: r for r in rows(run, results)}
    assert exported[3]["judges_disagree"] == "yes" and (exported[3]["local_judge"], exported[3]["llm_judge"]) == (
        "no", "yes")
    assert "judges_disagree" in to_csv(list(exported.values())).splitlines()[0]


def test_yes_no_parsing():
    assert parse_yes_no("Answer:::\nResponse: Yes") is True
    assert parse_yes_no("Is it specific? No.") is False
    assert parse_yes_no("The answer is not clear") is None


def test_unknown_llm_is_a_clear_error(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    run = batches.open_run(_spec(docs[:1], llms=("gpt-none",)), settings)
    with pytest.raises(ConfigurationError, match="'gpt-none', which is not configured"):
        BatchRunner(library, settings, batches).run(run)
    assert batches.done_count(run.run_id) == 0


def test_a_deleted_paper_is_skipped_and_its_answers_kept(settings, two_papers):
    library, docs = two_papers
    batches = RunStore(Database.in_folder(settings.data_dir))
    run = batches.open_run(_spec(docs, questions=QUESTIONS[:1]), settings)
    runner = BatchRunner(library, settings, batches, llms={"main": None})
    runner.run(run, should_stop=lambda: batches.done_count(run.run_id) >= 1)
    library.delete(docs[1].doc_id)
    progress = runner.run(run)
    assert progress.skipped_docs == [docs[1].doc_id] and progress.complete
    assert {r.doc_id for r in batches.results(run.run_id)} == {docs[0].doc_id}


def test_answers_round_trip_through_storage(settings, two_papers):
    library, docs = two_papers
    from assistant.answering.answerer import Answerer

    answer = Answerer(library, settings).ask(QUESTIONS[0], [docs[0].doc_id])
    back = answer_from_record(json.loads(json.dumps(answer_record(answer))))
    assert back == answer


# --- the terminal, killed and run again ----------------------------------------------------


def test_cli_batch_resumes_after_being_killed(tmp_path, settings):
    data = settings.data_dir
    env = child_env(tmp_path)
    paper = eval_paper("ronneberger2015_unet.pdf")
    subprocess.run(cli(data, "ingest", str(paper)), check=True, env=env, cwd=tmp_path, capture_output=True)
    db_path = data / "work.sqlite3"
    out = tmp_path / "r.csv"
    proc = subprocess.Popen(cli(data, "batch", "--questions", "cq28", "--out", str(out), "--quiet"),
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    stored = wait_for_results(proc, db_path, at_least=3)
    proc.kill()
    proc.wait()
    assert 3 <= stored < 28, "the batch should have been killed midway"
    assert not out.exists()
    with sqlite3.connect(db_path) as db:
        before = dict(db.execute("SELECT q_index, created FROM results").fetchall())
    rerun = subprocess.run(cli(data, "batch", "--questions", "cq28", "--out", str(out), "--quiet"),
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert f"{len(before)} stored before, {28 - len(before)} to ask" in rerun.stderr
    with sqlite3.connect(db_path) as db:
        after = dict(db.execute("SELECT q_index, created FROM results").fetchall())
    assert len(after) == 28 and all(after[q] == t for q, t in before.items())
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 28 and [int(r["question_number"]) for r in rows] == list(range(1, 29))
    assert all(r["answered"] in {"yes", "no"} for r in rows)
    assert any(r["answered"] == "yes" and r["evidence_pages"] for r in rows)
    third = subprocess.run(cli(data, "batch", "--questions", "cq28", "--quiet"),
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "28 stored before, 0 to ask" in third.stderr


# --- runs in the background ------------------------------------------------------------------


def _synthetic_library(settings, fake_embedding, paper_pdf):
    library = Library(settings, fake_embedding)
    return library, [library.ingest_file(paper_pdf).record]


def test_background_run_can_be_cancelled_and_resumed(settings, fake_embedding, paper_pdf):
    from assistant.work.background import BackgroundRuns

    # One request at a time, so that a cancel after the first answer lands midway (with
    # several in flight, the run's eight answers may all be under way by then; cancelling
    # with requests in flight is tests/test_runner.py's).
    settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"max_parallel": 1})})
    library, docs = _synthetic_library(settings, fake_embedding, paper_pdf)
    batches = RunStore(Database.in_folder(settings.data_dir))
    questions = tuple(f"Which momentum was used, take {n}?" for n in range(8))
    run = batches.open_run(_spec(docs, questions=questions), settings)
    llm = ScriptedLLM(answer=rules(["momentum"]), delay=0.2)
    jobs = BackgroundRuns()
    assert jobs.state(run.run_id) is None
    assert jobs.start(run, BatchRunner(library, settings, batches, llms={"main": llm}))
    assert not jobs.start(run, BatchRunner(library, settings, batches, llms={"main": llm}))  # one at a time
    deadline = time.monotonic() + 60
    while batches.done_count(run.run_id) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    jobs.cancel(run.run_id)
    jobs.wait(run.run_id, 60)
    state = jobs.state(run.run_id)
    assert not state.running and state.progress.stopped and not state.error
    stopped_at = batches.done_count(run.run_id)
    assert 1 <= stopped_at < 8
    assert jobs.start(run, BatchRunner(library, settings, batches, llms={"main": llm}))
    jobs.wait(run.run_id, 60)
    state = jobs.state(run.run_id)
    assert state.progress.complete and state.progress.new == 8 - stopped_at
    assert batches.done_count(run.run_id) == 8


def test_background_run_reports_an_llm_that_fails(settings, fake_embedding, paper_pdf):
    from assistant.work.background import BackgroundRuns

    library, docs = _synthetic_library(settings, fake_embedding, paper_pdf)
    batches = RunStore(Database.in_folder(settings.data_dir))
    run = batches.open_run(_spec(docs), settings)
    jobs = BackgroundRuns()
    jobs.start(run, BatchRunner(library, settings, batches, llms={"main": ScriptedLLM(error="connection refused")}))
    jobs.wait(run.run_id, 60)
    state = jobs.state(run.run_id)
    assert not state.running and "did not answer" in state.error and "connection refused" in state.error
    assert batches.done_count(run.run_id) == 0  # nothing half-done stored; resuming asks again


def test_extra_llms_come_from_the_environment(settings, monkeypatch):
    from assistant.answering.llms import named_llms
    from assistant.config import load_settings

    monkeypatch.setenv("ASSISTANT_EXTRA_LLMS", '{"mistral": {"provider": "ollama", "model": "mistral"}}')
    loaded = load_settings(settings.data_dir)
    llms = named_llms(loaded)
    assert list(llms) == ["main", "mistral"]
    assert llms["mistral"].provider == "ollama" and llms["mistral"].model == "mistral"
    spec = RunSpec("s", ("q?",), ("d",), ("main", "mistral"), "cited", 4)
    # The run's identity follows the models: another model behind the same name is another run.
    monkeypatch.setenv("ASSISTANT_EXTRA_LLMS", '{"mistral": {"provider": "ollama", "model": "mistral-nemo"}}')
    assert spec.key(loaded) != spec.key(load_settings(settings.data_dir))
