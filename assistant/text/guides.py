"""What a question asks for (its :class:`~assistant.types.Guide`): the 28 competency
questions' own guides ship with the package; any other question's come from its words
and the description given with it (see :mod:`assistant.text.facts`)."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

from ..types import Guide
from .facts import kinds_asked


def read_question_lines(text: str) -> list[str]:
    """Questions from text: one a line, blank lines and ``#`` comments skipped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def competency_questions() -> list[str]:
    text = resources.files("assistant").joinpath("data/competency_questions.txt").read_text(encoding="utf-8")
    return read_question_lines(text)


@lru_cache(maxsize=1)
def competency_guides() -> dict[str, Guide]:
    """The built-in questions' guides, by question (whitespace folded): a description
    written from the question, and the kinds of fact that answer it, which are required."""
    text = resources.files("assistant").joinpath("data/competency_guides.csv").read_text(encoding="utf-8")
    questions = competency_questions()
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        question = questions[int(row["q"]) - 1]
        out[_key(question)] = Guide(row["description"].strip(), tuple(row["expects"].split()), strict=True)
    return out


def _key(question: str) -> str:
    return " ".join(question.split()).casefold()


def guide_for(question: str, description: str = "") -> Guide:
    """What a question asks for: a built-in question's own guide (a description given here
    replaces its description), else the description given and the kinds of fact the
    question's words ask for, as a preference."""
    builtin = competency_guides().get(_key(question))
    if builtin is not None:
        return Guide(description.strip() or builtin.description, builtin.expects, strict=True)
    return Guide(description.strip(), kinds_asked(f"{question} {description}"), strict=False)
