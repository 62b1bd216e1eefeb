"""Measure the claim check (:mod:`assistant.answering.claims`) on answers assembled from a QA file.

For each answerable item, the passages are retrieved as the Ask page retrieves them; its
evidence sentences that lie in a shown passage become supported claims, each citing that
passage, and an evidence sentence of an item about another paper (the same kind of
question when there is one, so it reads as an answer would) becomes an unsupported claim,
citing a passage at random. Every claim is reworded a little as an answer rewords the
paper ("we" becomes "the authors", the paper's citations go), the same way for both kinds.
Some supported claims cite a passage that does not hold them, to measure the citation check.

"Not found" is the positive class: precision is the share of claims marked not found that
are unsupported, recall the share of unsupported claims marked.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..answering.claims import check_claims
from ..text.sentences import quotable, sentence_spans
from ..types import NO_CLAIM, NOT_FOUND, Claim, Passage
from ..workspace import Workspace
from .evaluate import QAItem, add_papers, quote_in

_AUTHOR_YEAR = re.compile(r"\s*\((?:[A-Z][^()]{0,80}?(?:19|20)\d{2}[a-z]?;?\s*)+\)")
_REWORDING = [
    (re.compile(r"\bWe\b"), "The authors"), (re.compile(r"\bwe\b"), "the authors"),
    (re.compile(r"\bOur\b"), "Their"), (re.compile(r"\bour\b"), "their"), (re.compile(r"\bus\b"), "them"),
]
# Share of supported claims made to cite a passage that does not hold them.
MISCITED_SHARE = 0.25


def reworded(sentence: str) -> str:
    """A sentence of a paper as an answer states it: the paper's citations gone, "we" the authors."""
    text = _AUTHOR_YEAR.sub("", quotable(sentence))
    for pattern, replacement in _REWORDING:
        text = pattern.sub(replacement, text)
    return text.strip()


_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?:which|where|while|whereas|and then)\s+")


def condensed(sentence: str) -> str:
    """Harder: only the sentence's weightiest clause, introduced the way answers introduce
    what a paper says (a claim then shares less of its source's wording)."""
    text = reworded(sentence).rstrip(".")
    clauses = [c.strip() for c in _CLAUSE_BREAK.split(text) if c.strip()]
    main = max(clauses, key=lambda c: len(c.split()), default=text)
    if len(main.split()) < 5:
        main = text
    if main[:1].isupper() and not main[1:2].isupper():
        main = main[:1].lower() + main[1:]
    return f"According to the paper, {main}."


STYLES = {"reworded": reworded, "condensed": condensed}


@dataclass
class Case:
    """One assembled answer: its passages and, per line, the claim, whether it is supported, and whether its
    citation is right."""

    item: QAItem
    passages: list[Passage]
    lines: list[tuple[str, bool, bool]]  # (text with its citation, supported, citation right)

    @property
    def answer(self) -> str:
        return "\n".join(text for text, _, _ in self.lines)


@dataclass
class Outcome:
    style: str
    paper: str
    claim: str
    supported: bool
    cited_right: bool
    checked: Claim


def _pieces(quote: str, style: str) -> list[str]:
    return [STYLES[style](quote[s:e]) for s, e in sentence_spans(quote)]


def cite(piece: str, n: int) -> str:
    """``piece`` citing passage ``n`` as answers mostly do: before the closing full stop."""
    return f"{piece[:-1]} [{n}]." if piece.endswith(".") else f"{piece} [{n}]"


def _holder(quote: str, passages: list[Passage]) -> int | None:
    return next((p.n for p in passages if quote_in(quote, p.text)), None)


def assemble(items: list[QAItem], passages_of: dict[int, list[Passage]], style: str = "reworded",
             seed: int = 0) -> list[Case]:
    """The cases, deterministic for a seed; ``passages_of`` maps an item's index to its passages.

    Style ``written``: the claims are people's written answers (QA files that have them),
    supported where all the item's evidence is shown, and the written answer to the same
    question about another paper as the unsupported claim."""
    rng = random.Random(seed)
    cases = []
    for i, item in enumerate(items):
        passages = passages_of.get(i) or []
        if not item.answerable or not passages:
            continue
        lines = _written(item, passages) if style == "written" else _evidence(item, passages, style, rng)
        foreign = [o for o in items if o.pdf != item.pdf and o.answerable and o.evidence
                   and (o.answer or style != "written")]
        same = ([o for o in foreign if o.question == item.question] or [o for o in foreign if o.cq_type == item.cq_type]
                or foreign)
        if same:
            other = rng.choice(same)
            said = other.answer if style == "written" else rng.choice(other.evidence)
            if not any(quote_in(said, p.text) for p in passages):
                pieces = _sentences(said) if style == "written" else _pieces(said, style)
                lines += [(cite(piece, rng.choice(passages).n), False, False) for piece in pieces]
        if lines:
            rng.shuffle(lines)
            cases.append(Case(item, passages, lines))
    return cases


def _evidence(item: QAItem, passages: list[Passage], style: str, rng: random.Random) -> list[tuple[str, bool, bool]]:
    lines = []
    for quote in item.evidence:
        n = _holder(quote, passages)
        if n is None:
            continue  # not among the shown passages: not a claim these passages support
        for piece in _pieces(quote, style):
            others = [p.n for p in passages if p.n != n and not quote_in(quote, p.text)]
            if others and rng.random() < MISCITED_SHARE:
                lines.append((cite(piece, rng.choice(others)), True, False))
            else:
                lines.append((cite(piece, n), True, True))
    return lines


def _written(item: QAItem, passages: list[Passage]) -> list[tuple[str, bool, bool]]:
    holders = [_holder(q, passages) for q in item.evidence]
    if not item.answer or not holders or None in holders:
        return []
    cited = ", ".join(str(n) for n in sorted(set(holders)))
    return [(f"{piece} [{cited}]", True, True) for piece in _sentences(item.answer)]


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def run(workspace: Workspace, items: list[QAItem], pdf_dir: Path, k: int, seed: int = 0) -> list[Outcome]:
    """Retrieve each item's passages, assemble the answers and check every claim."""
    doc_ids = add_papers(workspace.library, items, pdf_dir)
    answerer = workspace.answerer
    passages_of = {
        i: answerer.prepare(item.question, [doc_ids[item.pdf]], k).passages
        for i, item in enumerate(items) if item.answerable
    }
    outcomes = []
    for style in [*STYLES, *(["written"] if any(i.answer for i in items) else [])]:
        outcomes += _checked(workspace, assemble(items, passages_of, style, seed), style)
    return outcomes


def _checked(workspace: Workspace, cases: list[Case], style: str) -> list[Outcome]:
    outcomes = []
    for case in cases:
        answer = case.answer
        starts, pos = [], 0
        for text, _, _ in case.lines:
            starts.append(pos)
            pos += len(text) + 1
        for claim in check_claims(workspace.library.encoder, answer, case.passages):
            if claim.status == NO_CLAIM:
                continue
            line = max(j for j, s in enumerate(starts) if s <= claim.start)
            _, supported, right = case.lines[line]
            outcomes.append(Outcome(style, case.item.pdf, claim.text, supported, right, claim))
    return outcomes


def _rates(outcomes: list[Outcome]) -> dict[str, Any]:
    flagged = [o for o in outcomes if o.checked.status == NOT_FOUND]
    unsupported = [o for o in outcomes if not o.supported]
    hits = sum(not o.supported for o in flagged)
    # The citation check, on supported claims: is a wrong citation reported?
    cited = [o for o in outcomes if o.supported]
    reported = [o for o in cited if o.checked.miscited]
    wrong = [o for o in cited if not o.cited_right]
    caught = sum(not o.cited_right for o in reported)
    return {
        "claims": len(outcomes),
        "unsupported": len(unsupported),
        "not_found_precision": hits / len(flagged) if flagged else None,
        "not_found_recall": hits / len(unsupported) if unsupported else None,
        "supported_kept": sum(o.checked.status != NOT_FOUND for o in cited) / len(cited) if cited else None,
        "miscited": len(wrong),
        "miscitation_precision": caught / len(reported) if reported else None,
        "miscitation_recall": caught / len(wrong) if wrong else None,
    }


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Rates per style of claim, over all papers and over the papers in two halves (by
    name, alternating): a weight chosen on one half can be judged on the other."""
    papers = sorted({o.paper for o in outcomes})
    half = {p: "A" if i % 2 == 0 else "B" for i, p in enumerate(papers)}
    out = {}
    for style in dict.fromkeys(o.style for o in outcomes):
        mine = [o for o in outcomes if o.style == style]
        out[style] = _rates(mine)
        for h in "AB":
            out[f"{style[:5]} {h}"] = _rates([o for o in mine if half[o.paper] == h])
    return out


def format_table(rates: dict[str, dict[str, Any]]) -> str:
    keys = [("claims checked", "claims"), ("of them unsupported", "unsupported"),
            ("'not found' precision", "not_found_precision"), ("'not found' recall", "not_found_recall"),
            ("supported kept", "supported_kept"), ("wrong citations", "miscited"),
            ("wrong-citation precision", "miscitation_precision"), ("wrong-citation recall", "miscitation_recall")]
    columns = list(rates)
    lines = [f"| {'metric':26} | " + " | ".join(f"{c:>9}" for c in columns) + " |",
             f"|{'-' * 28}|" + "|".join("-" * 11 for _ in columns) + "|"]
    for label, key in keys:
        cells = []
        for c in columns:
            v = rates[c][key]
            cells.append("n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v))
        lines.append(f"| {label:26} | " + " | ".join(f"{x:>9}" for x in cells) + " |")
    return "\n".join(lines)


def outcomes_json(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [{"style": o.style, "paper": o.paper, "supported": o.supported, "cited_right": o.cited_right,
             **o.checked.to_json()} for o in outcomes]
