"""Who decides whether a stored answer was answered from the paper: the local judge
(:mod:`assistant.answering.answered`), the LLM that wrote it, or both.

The seed asked the LLM that wrote an answer whether it gives specific information from
the paper (:data:`ANSWERED_PROMPT`): a second request per answer. ``ASSISTANT_BATCH__JUDGE``
chooses: ``local`` (default: no request), ``llm`` (the seed's way) or ``both`` (the local
verdict counts; the LLM's is stored beside it, and where they differ a reviewer looks first).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..types import Answer
from .answerer import looks_like_dont_know

ANSWERED_PROMPT = """Decide whether the answer below gives specific information that comes from a research paper.

Say "yes" if the answer states specific details (names, numbers, methods, data, places) that the paper must have given.
Say "no" if the answer is generic, says the information is not available, or only guesses what is usual.

Question: {question}
Answer: {answer}

Reply with one word, yes or no.
Response:"""

JUDGES = ("local", "llm", "both")

_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_yes_no(text: str) -> bool | None:
    """The last yes/no in an LLM's reply (models often restate the question first), or None."""
    found = _YES_NO.findall(text or "")
    return found[-1].lower() == "yes" if found else None


# --- who decides a stored answer --------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """The answered flag kept with an answer, who decided it, and each judge's own word."""

    answered: bool
    judged_by: str  # "local", "llm" or "rule" (offline answers keep their own flag)
    confidence: float | None = None  # the local judge's, in its own verdict
    local: bool | None = None
    llm: bool | None = None


def judge(answer: Answer, ask: Callable[[str], str] | None, mode: str = "local") -> Judgement:
    """Answered from the paper, by ``mode`` (one of :data:`JUDGES`); ``ask`` sends a prompt
    to the answer's LLM (None: no LLM). An LLM answer carries the local judge's verdict
    already (:class:`assistant.answering.answerer.Answerer` sets it); an offline answer its own."""
    if mode not in JUDGES:
        raise ConfigurationError(f"Unknown judge {mode!r}: use one of {', '.join(JUDGES)}.")
    if answer.extractive or not answer.text.strip():
        return Judgement(answer.answered and bool(answer.text.strip()), "rule")
    if answer.judge_confidence is None:  # stored before the local judge, or written without one
        return Judgement(not looks_like_dont_know(answer.text), "rule")
    local = Judgement(answer.answered, "local", answer.judge_confidence, local=answer.answered)
    if mode == "local" or ask is None or (mode == "llm" and answer.dont_know):
        # A plain "I don't know" needs no LLM to judge it; with both judges asked on
        # purpose, the LLM's word is wanted on every answer.
        return local
    said = parse_yes_no(ask(ANSWERED_PROMPT.format(question=answer.question, answer=answer.text)))
    if mode == "both" or said is None:
        return Judgement(local.answered, "local", local.confidence, local.answered, said)
    return Judgement(said, "llm", local.confidence, local.answered, said)
