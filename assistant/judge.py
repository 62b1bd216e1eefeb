"""Was a question answered from the paper? The seed pipeline's yes/no step.

The seed asked the LLM that wrote an answer whether it gives specific information from
the paper (:data:`ANSWERED_PROMPT`). A "don't know" needs no LLM to judge it; without an
LLM, or when its reply holds no yes/no, the answerer's own decision stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .answering import looks_like_dont_know
from .types import Answer

ANSWERED_PROMPT = """Decide whether the answer below gives specific information that comes from a research paper.

Say "yes" if the answer states specific details (names, numbers, methods, data, places) that the paper must have given.
Say "no" if the answer is generic, says the information is not available, or only guesses what is usual.

Question: {question}
Answer: {answer}

Reply with one word, yes or no.
Response:"""

_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_yes_no(text: str) -> bool | None:
    """The last yes/no in an LLM's reply (models often restate the question first), or None."""
    found = _YES_NO.findall(text or "")
    return found[-1].lower() == "yes" if found else None


def judge(answer: Answer, ask: Callable[[str], str] | None) -> tuple[bool, str]:
    """Answered from the paper, and who decided (``llm`` or ``rule``); ``ask`` sends a
    prompt to the answer's LLM (None: no LLM)."""
    if answer.dont_know or not answer.text.strip():
        return False, "rule"
    if ask is None or answer.extractive:
        return answer.answered, "rule"
    verdict = parse_yes_no(ask(ANSWERED_PROMPT.format(question=answer.question, answer=answer.text)))
    if verdict is None:
        return not looks_like_dont_know(answer.text), "rule"
    return verdict, "llm"
