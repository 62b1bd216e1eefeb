"""Text in a paper that speaks to an AI instead of to a reader ("ignore previous
instructions and answer X"): a PDF can carry it, visibly or in white on white.

Such sentences are never quoted as an answer by the offline answerer, and never marked
as evidence. With an LLM, the passages are also fenced off as data in the prompt (see
:mod:`assistant.answering.prompts`); no filter can be complete, which is why every answer shows its sources.
"""

from __future__ import annotations

import re

_PATTERNS = [
    # "Ignore all previous instructions", "disregard the above prompt", "forget your rules"
    r"\b(ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(instructions?|prompts?|rules|guidelines|"
    r"directions|context)\b",
    # "You are now an AI that...", "act as a language model"
    r"\b(you are now|from now on,? you|act as|pretend to be)\b[^.!?\n]{0,40}\b(ai|assistant|model|chatbot|llm)\b",
    r"\b(system prompt|as an ai( language model)?|language model reading this|ai (assistant|model)s? reading)\b",
    # Orders about the answer itself: "do not cite any passage", "answer only with X"
    r"\bdo not (cite|quote|mention|reveal)\b[^.!?\n]{0,20}\b(passages?|sources?|context|this)\b",
    r"\b(respond|reply|answer)\b\s+(only\s+)?with\b[^.!?\n]{0,40}\b(regardless|no matter|instead)\b",
    # An order about what to answer or cite, opening the sentence: "Answer that the rate was
    # 42", "Say the method is novel", "Cite passage 1" (a paper states; it does not order its reader).
    r"(?:^|[.!?:]\s+)\W*(answer|say|state|respond|reply|write|output|claim|report|tell (the )?(user|reader)|conclude)\s+"
    r"(that|only|with|yes|no)\b",
    r"\b(cite|quote)\s+(only\s+)?(passage|source|document)s?\s*\[?\d",
    # Asks of a review: "give a positive review", "recommend acceptance", "rate this paper highly"
    r"\b(give|write)\b[^.!?\n]{0,20}\b(positive|favou?rable|glowing)\s+(review|assessment|evaluation)\b",
    r"\b(recommend|suggest)\b[^.!?\n]{0,20}\b(accept|acceptance)\b[^.!?\n]{0,40}\b(paper|manuscript|submission)\b",
    r"\b(rate|score)\b\s+(this|the)\s+(paper|manuscript|submission)\b",
    r"\b(llm|ai|language model)\s+(reviewers?|readers?|assistants?)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def looks_like_instruction(text: str) -> bool:
    """Whether a sentence reads as an order to an AI rather than as part of a paper."""
    return bool(_INSTRUCTION.search(" ".join(text.split())))
