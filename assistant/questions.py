"""Question sets; the 28 competency questions ship with the package."""

from __future__ import annotations

from importlib import resources


def read_question_lines(text: str) -> list[str]:
    """Questions from text: one a line, blank lines and ``#`` comments skipped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def competency_questions() -> list[str]:
    text = resources.files("assistant").joinpath("data/competency_questions.txt").read_text(encoding="utf-8")
    return read_question_lines(text)
