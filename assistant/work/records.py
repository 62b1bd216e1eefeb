"""Stored answers: the record format that batch results and chats keep, with its version.

An answer is stored as JSON with its passages, boxes and checked sentences, so a run can
be reopened, reviewed and exported years later without asking anything again. The
record's keys are written out here, one by one, not derived from the dataclasses: renaming
a field of :class:`~assistant.types.Answer`, ``Passage`` or ``Highlight`` changes this
module's mapping and nothing that is stored.

Every record says which format it is in (``"format"``). Format 1 is what was stored before
the format had a number: a dump of the dataclasses, with keys added over time (``support``,
``judge_confidence``, ``roles``, ``cited``, ``claims``), so older records lack some. Each
entry of :data:`UPGRADES` brings a record one format up; entries are only ever appended,
never edited, so every stored answer can be read by every later version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import AssistantError
from ..types import Answer, Cited, Claim, ClaimSupport, Highlight, PageSpan, Passage, Rect, Region

FORMAT = 2

Record = dict[str, Any]


class RecordFormatError(AssistantError):
    pass


# --- writing ------------------------------------------------------------------------------


def _span(s: PageSpan) -> Record:
    return {"page": s.page, "start": s.start, "end": s.end}


def _rect(r: Rect) -> Record:
    return {"page": r.page, "x0": r.x0, "y0": r.y0, "x1": r.x1, "y1": r.y1, "text": r.text}


def _highlight(h: Highlight) -> Record:
    return {"text": h.text, "start": h.start, "end": h.end, "spans": [_span(s) for s in h.spans],
            "rects": [_rect(r) for r in h.rects], "score": h.score}


def _passage(p: Passage) -> Record:
    return {
        "n": p.n, "doc_id": p.doc_id, "file_name": p.file_name, "title": p.title, "text": p.text,
        "score": p.score, "start": p.start, "end": p.end, "spans": [_span(s) for s in p.spans],
        "highlights": [_highlight(h) for h in p.highlights],
        "focus": list(p.focus) if p.focus else None,
        "roles": [{"start": r.start, "end": r.end, "role": r.role} for r in p.roles],
        "cited": [{"kind": c.kind, "number": c.number, "text": c.text, "page": c.page, "start": c.start,
                   "end": c.end} for c in p.cited],
    }


def _claim(c: Claim) -> Record:
    return {
        "text": c.text, "start": c.start, "end": c.end, "status": c.status, "score": c.score,
        "cited": list(c.cited),
        "support": [{"passage": s.passage, "start": s.start, "end": s.end, "text": s.text, "page": s.page,
                     "score": s.score} for s in c.support],
        "miscited": list(c.miscited), "missing": list(c.missing),
    }


def answer_record(answer: Answer) -> Record:
    """Everything of ``answer``, for storage: :func:`answer_from_record` gives it back, boxes included."""
    return {
        "format": FORMAT,
        "question": answer.question, "text": answer.text, "template": answer.template, "llm": answer.llm,
        "passages": [_passage(p) for p in answer.passages],
        "cited": list(answer.cited), "dropped_citations": list(answer.dropped_citations),
        "extractive": answer.extractive, "dont_know": answer.dont_know,
        "prompt": answer.prompt, "raw_output": answer.raw_output, "seconds": answer.seconds,
        "support": answer.support, "judge_confidence": answer.judge_confidence,
        "claims": [_claim(c) for c in answer.claims],
    }


# --- reading ------------------------------------------------------------------------------


def _from_format_1(d: Record) -> Record:
    """The dataclass dump: every key that has a default today may be missing (it was added
    after the record was written) and gets the value an answer stored before it means: no
    judged support, no layout roles, no checked sentences."""
    def highlight(h: Record) -> Record:
        return {"score": 0.0, **h, "rects": [{"text": "", **r} for r in h.get("rects") or []]}

    def passage(p: Record) -> Record:
        return {"focus": None, **p, "highlights": [highlight(h) for h in p.get("highlights") or []],
                "roles": p.get("roles") or [], "cited": p.get("cited") or []}

    def claim(c: Record) -> Record:
        return {"score": 0.0, "cited": [], "support": [], "miscited": [], "missing": [], **c}

    return {"cited": [], "dropped_citations": [], "extractive": False, "dont_know": False, "prompt": "",
            "raw_output": "", "seconds": 0.0, "support": "", "judge_confidence": None, **d, "format": 2,
            "passages": [passage(p) for p in d["passages"]], "claims": [claim(c) for c in d.get("claims") or []]}


# UPGRADES[n] brings a record of format n to format n + 1.
UPGRADES: dict[int, Callable[[Record], Record]] = {1: _from_format_1}


def upgraded(d: Record) -> Record:
    """``d`` brought to the current format (a copy; ``d`` is left as it is)."""
    version = d.get("format", 1)
    if not isinstance(version, int) or version > FORMAT:
        raise RecordFormatError(
            f"A stored answer is in record format {version}, which this version of the assistant does not "
            f"know (it reads formats 1 to {FORMAT}): it was stored by a newer version. Update the assistant "
            "to open it; nothing stored has been changed.")
    while version < FORMAT:
        d = UPGRADES[version](d)
        version = d["format"]
    return d


def _spans(items: list[Record]) -> list[PageSpan]:
    return [PageSpan(s["page"], s["start"], s["end"]) for s in items]


def _read_passage(p: Record) -> Passage:
    highlights = [
        Highlight(h["text"], h["start"], h["end"], _spans(h["spans"]),
                  [Rect(r["page"], r["x0"], r["y0"], r["x1"], r["y1"], r["text"]) for r in h["rects"]], h["score"])
        for h in p["highlights"]
    ]
    return Passage(
        n=p["n"], doc_id=p["doc_id"], file_name=p["file_name"], title=p["title"], text=p["text"],
        score=p["score"], start=p["start"], end=p["end"], spans=_spans(p["spans"]), highlights=highlights,
        focus=tuple(p["focus"]) if p["focus"] else None,
        roles=[Region(r["start"], r["end"], r["role"]) for r in p["roles"]],
        cited=[Cited(c["kind"], c["number"], c["text"], c["page"], c["start"], c["end"]) for c in p["cited"]],
    )


def _read_claim(c: Record) -> Claim:
    support = [ClaimSupport(s["passage"], s["start"], s["end"], s["text"], s["page"], s["score"])
               for s in c["support"]]
    return Claim(text=c["text"], start=c["start"], end=c["end"], status=c["status"], score=c["score"],
                 cited=list(c["cited"]), support=support, miscited=list(c["miscited"]), missing=list(c["missing"]))


def answer_from_record(d: Record) -> Answer:
    """The answer stored as ``d``, in any format this version knows."""
    d = upgraded(d)
    try:
        return Answer(
            question=d["question"], text=d["text"], template=d["template"], llm=d["llm"],
            passages=[_read_passage(p) for p in d["passages"]],
            cited=list(d["cited"]), dropped_citations=list(d["dropped_citations"]),
            extractive=d["extractive"], dont_know=d["dont_know"], prompt=d["prompt"],
            raw_output=d["raw_output"], seconds=d["seconds"], support=d["support"],
            judge_confidence=d["judge_confidence"], claims=[_read_claim(c) for c in d["claims"]],
        )
    except (KeyError, TypeError) as err:
        part = repr(err.args[0]) if isinstance(err, KeyError) and err.args else "a part of it"
        raise RecordFormatError(
            f"A stored answer to {d.get('question', '?')!r} is damaged: {part} is missing or malformed. "
            "Nothing stored has been changed; the answer can be asked again.") from err
