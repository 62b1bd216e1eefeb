"""Measure retrieval, highlights and answers against a QA file (the format of dev_qa.jsonl).

Scoring follows the evaluation set's conventions: text is compared after NFKC, case,
whitespace and end-of-line hyphenation are folded; a quote counts as retrieved when it is
inside a passage or shares a contiguous run of at least 80 % of its characters with one.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from ..answering.answerer import Answerer, looks_like_dont_know
from ..errors import AssistantError
from ..library.embeddings import describe_encoder
from ..library.library import Library
from ..text.normalize import fold
from ..types import Answer, Passage
from ..workspace import Workspace


@dataclass(frozen=True)
class QAItem:
    pdf: str
    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    page: int | None = None
    answer_keywords: tuple[str, ...] = ()
    cq_type: str = "other"
    answer: str = ""  # a person's written answer, where the file has one


def read_qa(path: Path) -> list[QAItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            items.append(QAItem(
                pdf=d["pdf"], question=d["question"], answerable=bool(d.get("answerable", True)),
                evidence=tuple(d.get("evidence") or ()), page=d.get("page"),
                answer_keywords=tuple(d.get("answer_keywords") or ()), cq_type=d.get("cq_type") or "other",
                answer=d.get("answer") or "",
            ))
        except (ValueError, KeyError) as exc:
            raise AssistantError(f"{path}: line {n} is not a QA item ({exc}). Each line needs pdf and question.") from exc
    return items


def longest_run(a: str, b: str) -> int:
    """Length of the longest stretch of characters the two strings share."""
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def overlap(quote: str, text: str) -> float:
    """Share of the (folded) quote found as one contiguous run in the (folded) text."""
    q, t = fold(quote), fold(text)
    if not q:
        return 0.0
    if q in t:
        return 1.0
    return longest_run(q, t) / len(q)


def quote_in(quote: str, text: str) -> bool:
    return overlap(quote, text) >= 0.8


def shown(passage: Passage) -> list[str]:
    """What a reader is shown of a passage: its text and the footnotes and linked
    reference entries it points to (shown with it)."""
    return [passage.text, *(c.text for c in passage.cited)]


def first_hit(item: QAItem, passages: list[Passage]) -> int:
    """1-based rank of the first passage holding an evidence quote, 0 if none does."""
    for rank, p in enumerate(passages, start=1):
        if any(quote_in(q, text) for q in item.evidence for text in shown(p)):
            return rank
    return 0


def highlight_hit(item: QAItem, passages: list[Passage]) -> bool:
    """A sentence marked on the item's page overlaps an evidence quote.

    Overlap: the two share a contiguous run of at least half the shorter one's length
    (a quote may be part of a sentence, or run over two).
    """
    for p in passages:
        for h in p.highlights:
            if item.page is not None and item.page not in {s.page for s in h.spans}:
                continue
            for quote in item.evidence:
                a, b = fold(quote), fold(h.text)
                if not a or not b:
                    continue
                if longest_run(a, b) >= 0.5 * min(len(a), len(b)):
                    return True
    return False


def quotes_evidence(item: QAItem, answer: Answer) -> bool:
    """The answer quotes an evidence sentence: its text (an offline answer is its quotes) or,
    for an LLM's answer, its marked sentences share a contiguous run of at least half an
    evidence quote."""
    said = [answer.text] if answer.extractive else [h.text for p in answer.passages for h in p.highlights]
    for quote in item.evidence:
        q = fold(quote)
        if q and any(longest_run(q, fold(text)) >= 0.5 * len(q) for text in said):
            return True
    return False


def keywords_present(keywords: tuple[str, ...], answer: str) -> bool:
    text = fold(answer)
    return all(any(fold(alt) in text for alt in kw.split("|")) for kw in keywords)


@dataclass
class ItemResult:
    item: QAItem
    answer: Answer
    rank: int
    page_hit: bool
    highlight_hit: bool | None
    answer_ok: bool | None
    seconds: float
    quotes_evidence: bool | None = None  # answerable items the answer calls answered: does it quote the evidence?

    @property
    def flag_ok(self) -> bool:
        """The answered flag is right: answered for an answerable item, not for the others."""
        return (self.answer.support == "answered") == self.item.answerable

    @property
    def passages(self) -> list[Passage]:
        return self.answer.passages

    def to_json(self) -> dict[str, Any]:
        return {
            "pdf": self.item.pdf,
            "question": self.item.question,
            "answerable": self.item.answerable,
            "cq_type": self.item.cq_type,
            "rank": self.rank,
            "page_hit": self.page_hit,
            "highlight_hit": self.highlight_hit,
            "answer_ok": self.answer_ok,
            "support": self.answer.support,
            "flag_ok": self.flag_ok,
            "quotes_evidence": self.quotes_evidence,
            "answer": self.answer.text,
            "passages": [
                {"text": p.text, "page": p.page, "pages": p.pages,
                 "highlighted_sentences": [h.text for h in p.highlights]}
                for p in self.passages
            ],
        }


@dataclass
class Summary:
    name: str
    k: int
    results: list[ItemResult]
    ingest_seconds: float
    llm: str
    encoder: str = ""

    def _answerable(self) -> list[ItemResult]:
        return [r for r in self.results if r.item.answerable]

    def metrics(self) -> dict[str, Any]:
        ans = self._answerable()
        n = len(ans) or 1
        retrieved = [r for r in ans if r.rank]
        per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in ans:
            per_type[r.item.cq_type][0] += bool(r.rank)
            per_type[r.item.cq_type][1] += 1
        answered = [r for r in ans if r.answer_ok is not None]
        shared = _paper_figures(self.results)
        return {
            "preset": self.name,
            "k": self.k,
            "items": len(self.results),
            "answerable": len(ans),
            "evidence_hit@1": sum(r.rank == 1 for r in ans) / n,
            f"evidence_hit@{self.k}": len(retrieved) / n,
            f"page_hit@{self.k}": sum(r.page_hit for r in ans) / n,
            "mrr": sum(1 / r.rank for r in retrieved) / n,
            "highlight_hit": (sum(bool(r.highlight_hit) for r in retrieved) / len(retrieved)) if retrieved else 0.0,
            "answer_accuracy": (sum(bool(r.answer_ok) for r in answered) / len(answered)) if answered else None,
            "dont_know_accuracy": shared["dont_know_accuracy"],
            "answered_flag_accuracy": sum(r.flag_ok for r in self.results) / max(1, len(self.results)),
            "marked_answered": sum(r.answer.support == "answered" for r in self.results),
            "marked_weak": sum(r.answer.support == "weak" for r in self.results),
            "quotes_evidence": shared["quotes_evidence"],
            "llm": self.llm,
            "encoder": self.encoder,
            "per_cq_type": {t: {"hit": h, "of": c} for t, (h, c) in sorted(per_type.items())},
            "per_paper": self.per_paper(),
            "ingest_seconds": round(self.ingest_seconds, 2),
            "seconds_per_question": round(sum(r.seconds for r in self.results) / max(1, len(self.results)), 3),
        }


    def per_paper(self) -> dict[str, dict[str, Any]]:
        """The figures a gain on one paper could hide a loss on another behind, paper by
        paper: evidence hit@k, the answered flag, "not found" where the paper does not say,
        and answers marked answered that quote the reader's evidence."""
        papers: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            papers[r.item.pdf].append(r)
        return {pdf: _paper_figures(results) for pdf, results in sorted(papers.items())}


def _share(hits: int, of: int) -> float | None:
    return hits / of if of else None


def _paper_figures(results: list[ItemResult]) -> dict[str, Any]:
    ans = [r for r in results if r.item.answerable]
    unans = [r for r in results if not r.item.answerable]
    said = [r for r in ans if r.answer.support == "answered"]
    return {
        "items": len(results),
        "answerable": len(ans),
        "evidence_hit": _share(sum(bool(r.rank) for r in ans), len(ans)),
        "answered_flag_accuracy": _share(sum(r.flag_ok for r in results), len(results)),
        "dont_know_accuracy": _share(sum(bool(r.answer_ok) for r in unans), len(unans)),
        "quotes_evidence": _share(sum(bool(r.quotes_evidence) for r in said), len(said)),
    }


def add_papers(library: Library, items: list[QAItem], pdf_dir: Path) -> dict[str, str]:
    """The items' PDFs added to the library (reusing what it has): each file's document id."""
    doc_ids: dict[str, str] = {}
    for pdf in sorted({i.pdf for i in items}):
        path = pdf_dir / pdf
        if not path.is_file():
            raise AssistantError(f"{path} is named in the QA file but does not exist. Check --pdf-dir.")
        doc_ids[pdf] = library.ingest_file(path).record.doc_id
    return doc_ids


def evaluate(workspace: Workspace, items: list[QAItem], pdf_dir: Path, k: int, name: str) -> Summary:
    """Ingest the items' PDFs (reusing what the library has) and score every item."""
    started = time.perf_counter()
    doc_ids = add_papers(workspace.library, items, pdf_dir)
    ingest_seconds = time.perf_counter() - started
    answerer: Answerer = workspace.answerer
    results = []
    for item in items:
        t = time.perf_counter()
        answer = answerer.ask(item.question, [doc_ids[item.pdf]], k)
        passages = answer.passages
        rank = first_hit(item, passages) if item.answerable else 0
        page_hit = item.page is not None and any(item.page in p.pages for p in passages)
        hl = highlight_hit(item, passages) if item.answerable and rank else None
        if item.answerable:
            ok = keywords_present(item.answer_keywords, answer.text) if item.answer_keywords else None
        else:
            ok = answer.dont_know or looks_like_dont_know(answer.text)
        quoted = quotes_evidence(item, answer) if item.answerable and answer.support == "answered" else None
        results.append(ItemResult(item, answer, rank, page_hit, hl, ok, time.perf_counter() - t, quoted))
    return Summary(name, k, results, ingest_seconds, workspace.llm_name,
                   describe_encoder(workspace.library.embed_model))


def format_table(summaries: list[Summary]) -> str:
    """Metrics side by side, one column per preset."""
    rows = [s.metrics() for s in summaries]
    k = rows[0]["k"]
    keys = [
        ("evidence hit@1", "evidence_hit@1"), (f"evidence hit@{k}", f"evidence_hit@{k}"),
        (f"page hit@{k}", f"page_hit@{k}"), ("MRR", "mrr"), ("highlight hit", "highlight_hit"),
        ("answer accuracy", "answer_accuracy"), ("don't-know accuracy", "dont_know_accuracy"),
        ("answered-flag accuracy", "answered_flag_accuracy"), ("answers quoting evid.", "quotes_evidence"),
        ("marked answered", "marked_answered"), ("marked weak", "marked_weak"),
        ("ingest s", "ingest_seconds"), ("s / question", "seconds_per_question"),
    ]
    width = max(12, *(len(r["preset"]) for r in rows))
    lines = [f"| {'metric':22} | " + " | ".join(f"{r['preset']:>{width}}" for r in rows) + " |",
             f"|{'-' * 24}|" + "|".join("-" * (width + 2) for _ in rows) + "|"]

    def cell(v: Any) -> str:
        if v is None:
            return "n/a"
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    for label, key in keys:
        lines.append(f"| {label:22} | " + " | ".join(f"{cell(r[key]):>{width}}" for r in rows) + " |")
    types = sorted({t for r in rows for t in r["per_cq_type"]})
    for t in types:
        vals = []
        for r in rows:
            c = r["per_cq_type"].get(t)
            vals.append(f"{c['hit']}/{c['of']}" if c else "-")
        lines.append(f"| {('hit@' + str(k) + ' ' + t)[:22]:22} | " + " | ".join(f"{v:>{width}}" for v in vals) + " |")
    lines.append("")
    lines.append(f"{rows[0]['items']} items, {rows[0]['answerable']} answerable; answers by {rows[0]['llm']}.")
    for r in rows:
        lines += ["", *per_paper_table(r["preset"], k, r["per_paper"])]
    return "\n".join(lines)


def per_paper_table(preset: str, k: int, papers: dict[str, dict[str, Any]]) -> list[str]:
    """One line per paper: its items and the four figures of :meth:`Summary.per_paper`."""
    def cell(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    width = max(20, *(len(p) for p in papers)) if papers else 20
    lines = [f"{preset}, per paper:",
             f"| {'paper':{width}} | items | hit@{k} | flag acc | don't-know | quoting |",
             f"|{'-' * (width + 2)}|-------|-------|----------|------------|---------|"]
    for pdf, f in papers.items():
        lines.append(f"| {pdf:{width}} | {f['items']:5} | {cell(f['evidence_hit']):>5} | "
                     f"{cell(f['answered_flag_accuracy']):>8} | {cell(f['dont_know_accuracy']):>10} | "
                     f"{cell(f['quotes_evidence']):>7} |")
    return lines


def write_json(path: Path, summaries: list[Summary]) -> None:
    payload = {
        "presets": [
            {"summary": s.metrics(), "items": [r.to_json() for r in s.results]} for s in summaries
        ]
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")

