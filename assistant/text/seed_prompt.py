"""The seed study's prompt, to the byte: answering fills it (the ``seed`` template), and
retrieval embeds its question block, as the seed pipeline did (``retrieval.query = template``)."""

from __future__ import annotations

SEED_TEMPLATE = (
    "Use the following pieces of context to answer the question at the end. If you don't know the answer, "
    "just say that you don't know, don't try to make up an answer.\n"
    "\n"
    "{context}\n"
    "\n"
    "Question: %INSTRUCTIONS:\n"
    "Use the provided pieces of context to answer the query in less than 400 words. If you don't know the "
    "answer, just say that you don't know, don't try to make up an answer.\n"
    "\n"
    "%Query\n"
    'Query: "{question}"\n'
    "\n"
    "Provide your answer as follows:\n"
    "\n"
    "Answer:::\n"
    "Answer: (provide your answer to query in less than 400 words)\n"
    "\n"
    "Answer:::\n"
    "\n"
    "Helpful Answer:"
)


def seed_question_block(question: str) -> str:
    """The ``%INSTRUCTIONS ... Answer:::`` block of the seed prompt with the question in it:
    what the seed pipeline passed as its "question", and so embedded to retrieve."""
    start = SEED_TEMPLATE.index("Question: ") + len("Question: ")
    end = SEED_TEMPLATE.index("\n\nHelpful Answer:")
    return SEED_TEMPLATE[start:end].format(question=question)
