"""Question sets: the built-in one, a user's own, read from text and CSV files."""

from __future__ import annotations

import pytest

from assistant.database import Database
from assistant.work.questions import BUILTIN, QuestionSetError, QuestionSets, parse_questions


def test_builtin_set_is_the_28_competency_questions(tmp_path):
    sets = QuestionSets(Database(tmp_path / "w.sqlite3"))
    cq = sets.get(BUILTIN)
    assert cq.builtin and len(cq.questions) == 28
    assert cq.questions[0].startswith("What methods are utilized for collecting raw data")
    assert sets.names() == [BUILTIN]


def test_user_sets_are_saved_edited_and_deleted(tmp_path):
    db = Database(tmp_path / "w.sqlite3")
    sets = QuestionSets(db)
    sets.save("mine", ["Which GPU?", "Which optimizer?"])
    assert QuestionSets(Database(tmp_path / "w.sqlite3")).get("mine").questions == ("Which GPU?", "Which optimizer?")
    sets.save("mine", ["Which GPU?"])
    assert sets.get("mine").questions == ("Which GPU?",)
    assert sets.names() == [BUILTIN, "mine"]
    sets.delete("mine")
    with pytest.raises(QuestionSetError, match="no question set named 'mine'"):
        sets.get("mine")
    with pytest.raises(QuestionSetError, match="built-in"):
        sets.save(BUILTIN, ["x?"])
    with pytest.raises(QuestionSetError, match="cannot be deleted"):
        sets.delete(BUILTIN)


def test_descriptions_follow_their_questions_when_the_questions_are_replaced(tmp_path):
    cq = QuestionSets(Database(tmp_path / "w.sqlite3")).get(BUILTIN)
    untouched = list(cq.descriptions)
    # Questions of one's own typed over the built-in ones, the descriptions box left as it came.
    pairs = cq.pair(["Which GPU?", cq.questions[2], "Which optimizer?"], untouched)
    assert pairs == [("Which GPU?", ""), (cq.questions[2], cq.descriptions[2]), ("Which optimizer?", "")]
    # Descriptions typed anew go to the questions in order.
    assert cq.pair(["Which GPU?", "Which optimizer?"], ["GPU model", "optimizer name"]) == [
        ("Which GPU?", "GPU model"), ("Which optimizer?", "optimizer name")]


def test_questions_from_text_and_csv():
    assert parse_questions("# mine\nWhich GPU?\n\nWhich GPU?\nWhich optimizer?\n") == ["Which GPU?", "Which optimizer?"]
    csv_text = 'id,Question\n1,"Which data, and how much?"\n2,Which GPU?\n'
    assert parse_questions(csv_text, "q.csv") == ["Which data, and how much?", "Which GPU?"]
    assert parse_questions("Which GPU?\nWhich loss?\n", "plain.csv") == ["Which GPU?", "Which loss?"]
    with pytest.raises(QuestionSetError, match="No questions found in empty.txt"):
        parse_questions("# nothing\n\n", "empty.txt")
