"""What a batch found, for use outside the app: CSV and JSON rows, a self-contained HTML
report, an Excel workbook, the papers with their evidence annotated (see pdf/annotate.py),
and the tables behind its charts (papers x questions, answer rate per question).

One row per answer (paper, question, LLM), with the LLMs' vote for its paper and
question, the highlighted evidence quotes with their pages, and every reviewer's verdict.
Every export says how the run was made (see provenance.py).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import AssistantError
from ..pdf.annotate import Annotated, Evidence
from ..text.normalize import readable
from ..types import NO_CLAIM, Answer
from .chats import Asked, Chat
from .provenance import as_lines, stamped
from .review import VERDICT_LABELS, PassageVerdict, Verdict
from .runs import WEAK_CELL, Cell, Result, Run, Vote, question_label, vote


@dataclass(frozen=True)
class Quote:
    passage: int
    page: int
    text: str


def quotes(result: Result) -> list[Quote]:
    """The highlighted sentences of the answer's passages, in passage order, with their
    pages; a sentence marked in two overlapping passages is quoted once."""
    out, seen = [], set()
    for p in result.answer.passages:
        for h in p.highlights:
            page = h.spans[0].page if h.spans else p.page
            text = readable(h.text)
            if (page, text) not in seen:
                seen.add((page, text))
                out.append(Quote(p.n, page, text))
    return out


def votes_by_cell(results: Sequence[Result]) -> dict[Cell, Vote]:
    groups: dict[Cell, list[Result]] = defaultdict(list)
    for r in results:
        groups[r.cell].append(r)
    return {cell: vote(rs) for cell, rs in groups.items()}


_VOTE_WORD = {"answered": "yes", "not answered": "no", "tie": "tie", WEAK_CELL: WEAK_CELL}


def _answered_word(row: dict[str, Any]) -> str:
    """yes, no, or weak (not answered, a close call): what a person reads of one answer's row."""
    return WEAK_CELL if row["answered"] == "no" and row["support"] == WEAK_CELL else row["answered"]


def _said(value: bool | None) -> str:
    """A judge's word: yes, no, or "" where it was not asked."""
    return "" if value is None else ("yes" if value else "no")


def rows(
    run: Run,
    results: Sequence[Result],
    verdicts: Sequence[Verdict] = (),
    passage_verdicts: Sequence[PassageVerdict] = (),
) -> list[dict[str, Any]]:
    """One dict per answer: what CSV and JSON exports hold."""
    votes = votes_by_cell(results)
    by_answer: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for v in verdicts:
        by_answer[(v.key.doc_id, v.key.q_index, v.key.llm)][v.reviewer] = {"verdict": v.verdict, "note": v.note}
    supports: dict[tuple, dict[str, dict[int, bool]]] = defaultdict(lambda: defaultdict(dict))
    for pv in passage_verdicts:
        supports[(pv.key.doc_id, pv.key.q_index, pv.key.llm)][pv.reviewer][pv.passage] = pv.supports
    doc_order = {d: i for i, d in enumerate(run.spec.doc_ids)}
    llm_order = {name: i for i, name in enumerate(run.spec.llms)}
    ordered = sorted(results, key=lambda r: (doc_order.get(r.doc_id, len(doc_order)), r.q_index,
                                             llm_order.get(r.llm, len(llm_order))))
    out = []
    for r in ordered:
        key = (r.doc_id, r.q_index, r.llm)
        v = votes[r.cell]
        qs = quotes(r)
        reviews = {}
        for name in sorted(set(by_answer[key]) | set(supports[key])):
            entry = dict(by_answer[key].get(name, {"verdict": "", "note": ""}))
            entry["passages_supporting"] = sorted(n for n, ok in supports[key][name].items() if ok)
            entry["passages_not_supporting"] = sorted(n for n, ok in supports[key][name].items() if not ok)
            reviews[name] = entry
        out.append({
            "run_id": run.run_id,
            "paper": r.file_name,
            "doc_id": r.doc_id,
            "question_number": r.q_index + 1,
            "question": r.question,
            "llm": r.llm,
            "answer": r.answer.text,
            "answered": "yes" if r.answered else "no",
            "support": r.support or ("answered" if r.answered else "not found"),
            "judged_by": r.judged_by,
            "judge_confidence": r.confidence,
            "local_judge": _said(r.local_answered),
            "llm_judge": _said(r.llm_answered),
            "judges_disagree": "yes" if r.disagree else "",
            "vote_answered": _VOTE_WORD[v.label],
            "vote_agreement": round(v.agreement, 3),
            "evidence": [{"passage": q.passage, "page": q.page, "quote": q.text} for q in qs],
            "evidence_pages": sorted({q.page for q in qs}),
            "passage_pages": sorted({pg for p in r.answer.passages for pg in p.pages}),
            "cited_passages": r.answer.cited,
            "claims": [c.to_json() for c in r.answer.claims],
            "claims_checked": sum(c.status != NO_CLAIM for c in r.answer.claims),
            "claims_not_found": [c.text for c in r.answer.unsupported],
            "wrong_citations": sorted({n for c in r.answer.claims for n in c.miscited}),
            "seconds": round(r.seconds, 3),
            "reviews": reviews,
        })
    return out


def to_json(run: Run, table: list[dict[str, Any]]) -> str:
    return json.dumps({
        "made_with": stamped(run.made_with),
        "run": {
            "run_id": run.run_id,
            "question_set": run.spec.question_set,
            "questions": list(run.spec.questions),
            "descriptions": [run.spec.guide(q).description for q in range(len(run.spec.questions))],
            "papers": list(run.spec.doc_ids),
            "llms": list(run.spec.llms),
            "template": run.spec.template,
            "top_k": run.spec.top_k,
            "created": run.created.isoformat(timespec="seconds"),
        },
        "answers": table,
    }, indent=2, ensure_ascii=False)


def to_csv(table: list[dict[str, Any]], made_with: dict[str, str] | None = None) -> str:
    """Flat: quotes joined as ``p.4: sentence || p.5: sentence``, one verdict, note and
    supporting-passages column per reviewer; with ``made_with``, a last column saying how
    the run was made (the same on every row: CSV has no other place for it)."""
    reviewers = sorted({name for row in table for name in row["reviews"]})
    fields = ["run_id", "paper", "doc_id", "question_number", "question", "llm", "answer", "answered", "support",
              "judged_by", "judge_confidence", "local_judge", "llm_judge", "judges_disagree",
              "vote_answered", "vote_agreement", "evidence_pages", "evidence_quotes", "passage_pages",
              "claims_checked", "claims_not_found", "wrong_citations", "seconds"]
    for name in reviewers:
        fields += [f"verdict:{name}", f"note:{name}", f"supporting_passages:{name}"]
    if made_with is not None:
        fields.append("made_with")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for row in table:
        flat = {k: row[k] for k in fields if k in row}
        flat["evidence_pages"] = " ".join(map(str, row["evidence_pages"]))
        flat["passage_pages"] = " ".join(map(str, row["passage_pages"]))
        flat["evidence_quotes"] = " || ".join(f"p.{e['page']}: {e['quote']}" for e in row["evidence"])
        flat["claims_not_found"] = " || ".join(row["claims_not_found"])
        flat["wrong_citations"] = " ".join(map(str, row["wrong_citations"]))
        for name in reviewers:
            review = row["reviews"].get(name, {})
            flat[f"verdict:{name}"] = review.get("verdict", "")
            flat[f"note:{name}"] = review.get("note", "")
            flat[f"supporting_passages:{name}"] = " ".join(map(str, review.get("passages_supporting", [])))
        if made_with is not None:
            flat["made_with"] = "; ".join(as_lines(stamped(made_with)))
        writer.writerow(flat)
    return buf.getvalue()


# --- charts' tables -------------------------------------------------------------------


def heatmap_cells(run: Run, results: Sequence[Result], verdicts: Sequence[Verdict] = ()) -> list[dict[str, Any]]:
    """Per paper and question: the vote (answered / weak / not / tie / pending) and, when
    reviewed, the reviewers' commonest verdict (ties: the least favourable)."""
    votes = votes_by_cell(results)
    names = {r.doc_id: r.file_name for r in results}
    judged: dict[Cell, list[str]] = defaultdict(list)
    for v in verdicts:
        judged[Cell(v.key.doc_id, v.key.q_index)].append(v.verdict)
    out = []
    for doc_id in run.spec.doc_ids:
        for q in range(len(run.spec.questions)):
            cell = Cell(doc_id, q)
            v = votes.get(cell)
            status = "pending" if v is None else v.label
            verdict = ""
            if judged[cell]:
                order = list(VERDICT_LABELS)
                verdict = max(judged[cell], key=lambda x: (judged[cell].count(x), order.index(x)))
            out.append({"paper": names.get(doc_id, doc_id), "question": question_label(q), "q_index": q,
                        "status": status, "verdict": verdict})
    return out


def answer_rates(run: Run, results: Sequence[Result]) -> list[dict[str, Any]]:
    """Per question: the share of papers whose vote says answered (of those with answers)."""
    votes = votes_by_cell(results)
    out = []
    for q, text in enumerate(run.spec.questions):
        cells = [v for c, v in votes.items() if c.q_index == q]
        yes = sum(1 for v in cells if v.answered)
        out.append({"question": question_label(q), "text": text, "papers": len(cells), "answered": yes,
                    "rate": yes / len(cells) if cells else 0.0})
    return out


# --- the HTML report ------------------------------------------------------------------

# One colour per state of a cell, in every picture of a run (report, workbook, the app's
# heat map and table): weak and tie each their own, and neither the colour of a verdict.
STATE_COLOURS = {"answered": "#81c784", WEAK_CELL: "#fff176", "not answered": "#e0e0e0", "tie": "#b39ddb",
                 "pending": "#ffffff"}
VERDICT_COLOURS = {"correct": "#1b5e20", "partly": "#ef6c00", "wrong": "#c62828", "not in paper": "#6d4c41"}
_VERDICT_MARK = {"correct": "✓", "partly": "½", "wrong": "✗", "not_in_paper": "∅", "": ""}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;font-size:.85em}
.heat td.c{width:22px;height:22px;text-align:center;color:#fff;font-weight:bold;padding:0}
.bar{background:#1c6dd0;height:12px;display:inline-block}
.answer{background:#f6f8fa;border-left:3px solid #1c6dd0;padding:.4em .8em;margin:.3em 0}
.quote{margin:.2em 0 .2em 1em;font-size:.92em}
.unsupported{margin:.2em 0 .2em 1em;font-size:.92em;color:#b71c1c}
mark{background:#ffe066}.meta{color:#666;font-size:.85em}.v{font-weight:bold}
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def html_report(
    run: Run,
    results: Sequence[Result],
    verdicts: Sequence[Verdict] = (),
    passage_verdicts: Sequence[PassageVerdict] = (),
) -> str:
    """One HTML file, no outside resources: summary, heat map, answer rate per question,
    then every answer with its highlighted quotes (page numbers) and the verdicts."""
    table = rows(run, results, verdicts, passage_verdicts)
    cells = heatmap_cells(run, results, verdicts)
    rates = answer_rates(run, results)
    papers = list(dict.fromkeys(c["paper"] for c in cells))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Batch #{run.run_id}: {_e(run.spec.question_set)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Batch #{run.run_id}: {_e(run.spec.question_set)}</h1>",
        f"<p class='meta'>{len(run.spec.doc_ids)} paper(s) x {len(run.spec.questions)} question(s) x "
        f"{len(run.spec.llms)} LLM(s) ({_e(', '.join(run.spec.llms))}) · template {_e(run.spec.template)} · "
        f"{run.spec.top_k} passages per question · {len(results)} of {run.total} answers · report written "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>",
        "<details class='meta'><summary>How this run was made</summary><ul>",
        *[f"<li>{_e(line)}</li>" for line in as_lines(stamped(run.made_with))],
        "</ul></details>",
        "<h2>Papers x questions</h2><p class='meta'>Colour: the LLMs' vote (green answered, yellow weak: not "
        "answered but a close call to check, grey not answered, purple tie, white not asked yet). Mark: "
        "reviewers' verdict (✓ correct, ½ partly, ✗ wrong, ∅ not in paper).</p>"
        "<table class='heat'><tr><th>Paper</th>",
    ]
    parts += [f"<th title='{_e(q)}'>{question_label(i)}</th>" for i, q in enumerate(run.spec.questions)]
    parts.append("</tr>")
    for paper in papers:
        parts.append(f"<tr><th style='text-align:left'>{_e(paper)}</th>")
        for c in (c for c in cells if c["paper"] == paper):
            parts.append(f"<td class='c' style='background:{STATE_COLOURS[c['status']]}' "
                         f"title='{_e(c['question'])}: {_e(c['status'])} {_e(c['verdict'])}'>"
                         f"{_VERDICT_MARK[c['verdict']]}</td>")
        parts.append("</tr>")
    parts.append("</table><h2>Answer rate per question</h2><table><tr><th>Q</th><th>Question</th>"
                 "<th>Answered</th><th></th></tr>")
    for r in rates:
        parts.append(f"<tr><td>{r['question']}</td><td>{_e(r['text'])}</td><td>{r['answered']}/{r['papers']}</td>"
                     f"<td><span class='bar' style='width:{round(200 * r['rate'])}px'></span> "
                     f"{100 * r['rate']:.0f}%</td></tr>")
    parts.append("</table><h2>Answers</h2>")
    by_paper: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table:
        by_paper[row["paper"]].append(row)
    for paper, answers in by_paper.items():
        parts.append(f"<h2>{_e(paper)}</h2>")
        for row in answers:
            parts.append(f"<h3>Q{row['question_number']}. {_e(row['question'])}</h3>")
            parts.append(f"<p class='meta'>{_e(row['llm'])} · answered: {_answered_word(row)} "
                         f"(judged by {_e(row['judged_by'])}) · vote: {row['vote_answered']}"
                         + (f" · <b>the judges disagree</b> (local: {row['local_judge']}, LLM: {row['llm_judge']})"
                            if row["judges_disagree"] else "") + "</p>")
            parts.append(f"<div class='answer'>{_e(row['answer'])}</div>")
            for claim in row["claims_not_found"]:
                parts.append(f"<p class='unsupported'>Not found in the passages: {_e(claim)}</p>")
            if row["wrong_citations"]:
                cited = ", ".join(f"[{n}]" for n in row["wrong_citations"])
                parts.append(f"<p class='unsupported'>Cited but not supporting its sentence: {cited}</p>")
            for e in row["evidence"]:
                parts.append(f"<div class='quote'>[{e['passage']}] p.{e['page']}: <mark>{_e(e['quote'])}</mark></div>")
            for name, review in row["reviews"].items():
                label = VERDICT_LABELS.get(review["verdict"], "no verdict")
                passages = ", ".join(f"[{n}]" for n in review["passages_supporting"]) or "none marked"
                note = f" · note: {_e(review['note'])}" if review["note"] else ""
                parts.append(f"<p class='meta'>Reviewer {_e(name)}: <span class='v'>{_e(label)}</span> · "
                             f"supporting passages: {passages}{note}</p>")
    parts.append("</body></html>")
    return "".join(parts)


# --- the workbook ---------------------------------------------------------------------


def to_xlsx(
    run: Run,
    results: Sequence[Result],
    verdicts: Sequence[Verdict] = (),
    passage_verdicts: Sequence[PassageVerdict] = (),
) -> bytes:
    """An Excel workbook: papers x questions (the vote, coloured, and the reviewers'
    verdict), every answer with its quotes and pages, the questions with their answer
    rate, and how the run was made."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    table = rows(run, results, verdicts, passage_verdicts)
    cells = heatmap_cells(run, results, verdicts)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    book = Workbook()

    grid = book.active
    grid.title = "Papers x questions"
    grid.append(["Paper"] + [question_label(i) for i in range(len(run.spec.questions))])
    papers = list(dict.fromkeys(c["paper"] for c in cells))
    for paper in papers:
        mine = [c for c in cells if c["paper"] == paper]
        grid.append([paper] + [c["status"] + (f" · {VERDICT_LABELS[c['verdict']]}" if c["verdict"] else "")
                               for c in mine])
        for col, c in enumerate(mine, start=2):
            fill = STATE_COLOURS[c["status"]].lstrip("#").upper()
            grid.cell(row=grid.max_row, column=col).fill = PatternFill("solid", fgColor=fill)
    grid.column_dimensions["A"].width = 40
    for col in range(2, len(run.spec.questions) + 2):
        grid.column_dimensions[get_column_letter(col)].width = 14
    grid.freeze_panes = "B2"

    sheet = book.create_sheet("Answers")
    reviewers = sorted({name for row in table for name in row["reviews"]})
    head = ["Paper", "Q", "Question", "LLM", "Answer", "Answered", "Judged by", "Judge confidence",
            "Judges disagree", "Vote", "Evidence (page: quote)", "Evidence pages", "Passage pages",
            "Not found in the passages", "Wrong citations"]
    head += [f"Verdict: {name}" for name in reviewers] + [f"Note: {name}" for name in reviewers]
    sheet.append(head)
    for row in table:
        sheet.append([
            row["paper"], row["question_number"], row["question"], row["llm"], row["answer"], _answered_word(row),
            row["judged_by"], row["judge_confidence"], row["judges_disagree"], row["vote_answered"],
            "\n".join(f"[{e['passage']}] p.{e['page']}: {e['quote']}" for e in row["evidence"]),
            " ".join(map(str, row["evidence_pages"])), " ".join(map(str, row["passage_pages"])),
            "\n".join(row["claims_not_found"]), " ".join(map(str, row["wrong_citations"])),
            *[VERDICT_LABELS.get(row["reviews"].get(n, {}).get("verdict", ""), "") for n in reviewers],
            *[row["reviews"].get(n, {}).get("note", "") for n in reviewers],
        ])
    for col, width in zip("ABCDEFGHIJKLMNO", (30, 5, 40, 14, 70, 10, 10, 10, 10, 10, 80, 12, 12, 50, 10),
                          strict=True):
        sheet.column_dimensions[col].width = width
    for line in sheet.iter_rows(min_row=2):
        for c in line:
            c.alignment = wrap
    sheet.freeze_panes = "A2"

    qs = book.create_sheet("Questions")
    qs.append(["Q", "Question", "Papers", "Answered", "Rate"])
    for r in answer_rates(run, results):
        qs.append([r["question"], r["text"], r["papers"], r["answered"], round(r["rate"], 3)])
    qs.column_dimensions["B"].width = 90

    about = book.create_sheet("About")
    about.append(["Run", run.label])
    for label, value in stamped(run.made_with).items():
        about.append([label, value])
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 120
    for sheet_ in book.worksheets:
        for c in sheet_[1]:
            c.font = bold
        # An answer, a question or a file name starting with "=" is text, never a formula
        # a spreadsheet would run.
        for line in sheet_.iter_rows():
            for c in line:
                if c.data_type == "f":
                    c.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- annotated papers -----------------------------------------------------------------


def evidence_by_paper(run: Run, results: Sequence[Result], verdicts: Sequence[Verdict] = ()
                      ) -> dict[str, list[Evidence]]:
    """Per paper, its answers in question order, as annotate.py writes them into the PDF."""
    said: dict[tuple, list[str]] = defaultdict(list)
    for v in verdicts:
        note = f": {v.note}" if v.note else ""
        said[(v.key.doc_id, v.key.q_index, v.key.llm)].append(
            f"{VERDICT_LABELS.get(v.verdict, v.verdict)} ({v.reviewer}{note})")
    out: dict[str, list[Evidence]] = defaultdict(list)
    for r in sorted(results, key=lambda r: (r.q_index, r.llm)):
        sure = f", {r.confidence:.0%} sure" if r.confidence is not None else ""
        out[r.doc_id].append(Evidence(
            question_label(r.q_index), r.answer, tuple(said[(r.doc_id, r.q_index, r.llm)]),
            {"Answered from the paper": f"{'yes' if r.answered else 'no'} (judged by {r.judged_by}{sure})"},
        ))
    return dict(out)


def run_zip(run: Run, results: Sequence[Result], verdicts: Sequence[Verdict], library,
            on_paper=None) -> tuple[bytes, list[str]]:
    """Every paper of the run that has answers, as a PDF with its evidence highlighted,
    zipped. ``library`` gives each paper's stored file (``file_path``). Returns the zip
    and a line per paper that could not be annotated."""
    from ..pdf.annotate import annotated_zip

    items = evidence_by_paper(run, results, verdicts)
    names = {r.doc_id: r.file_name for r in results}
    papers = [(d, names[d]) for d in run.spec.doc_ids if d in items]

    return annotated_zip(papers, items.__getitem__, lambda d: _stored_pdf(library, d), stamped(run.made_with),
                         on_paper)


def _stored_pdf(library, doc_id: str) -> bytes:
    """The paper's file as the library keeps it; a clear error once it has been deleted."""
    path = library.file_path(doc_id)
    if not path.is_file():
        raise AssistantError("its stored file is no longer in the library (deleted since); add the paper again.")
    return path.read_bytes()


def _asked(label: str, answer: Answer) -> Evidence:
    """An Ask page answer as annotate.py writes it into the paper."""
    return Evidence(label, answer, extra={"Answered from the paper": "yes" if answer.answered else "no"})


def answer_pdf(library, settings, answer: Answer, doc_id: str, asked: datetime | None = None) -> Annotated:
    """Paper ``doc_id`` with one answer's evidence highlighted (an Ask page or ``ask
    --pdf`` answer), described by the settings that made it."""
    from ..answering.llms import MAIN_LLM
    from ..pdf.annotate import annotate
    from .provenance import describe

    record = library.resolve(doc_id)
    try:
        pdf = _stored_pdf(library, doc_id)
    except AssistantError as exc:
        raise AssistantError(f"{record.file_name}: {exc}") from None
    made = stamped(describe(settings, [MAIN_LLM], answer.template, len(answer.passages)))
    item = _asked(f"Asked {(asked or datetime.now(UTC)):%Y-%m-%d %H:%M}", answer)
    return annotate(pdf, record.file_name, [item], made, doc_id)


# --- the Ask page's chats -------------------------------------------------------------


def chat_json(chat: Chat, asked: Sequence[Asked], names: dict[str, str]) -> str:
    """A chat's answers in the order asked, each with the papers it was asked of
    (``names``: file names by document id), its passages and boxes, and what made it."""
    return json.dumps({
        "made_with": stamped(asked[-1].made_with if asked else {}),
        "chat": {"chat_id": chat.chat_id, "created": chat.created.isoformat(timespec="seconds")},
        "answers": [{
            "n": a.n, "asked": a.asked.isoformat(timespec="seconds"),
            "asked_of": [names.get(d, d) for d in a.doc_ids] or "all papers",
            **({"answered_for": names.get(a.paper, a.paper), "part_of": a.part_of} if a.part_of is not None else {}),
            "made_with": a.made_with, **a.answer.to_json(),
        } for a in asked],
    }, indent=2, ensure_ascii=False)


def chat_zip(asked: Sequence[Asked], library) -> tuple[bytes, list[str]]:
    """Every paper a chat's answers rest on, with those answers' evidence highlighted."""
    from ..pdf.annotate import annotated_zip

    items: dict[str, list[Evidence]] = defaultdict(list)
    names: dict[str, str] = {}
    for a in asked:
        for doc_id, file_name in dict.fromkeys((p.doc_id, p.file_name) for p in a.answer.passages):
            names[doc_id] = file_name
            items[doc_id].append(_asked(f"Asked {a.asked:%Y-%m-%d %H:%M} UTC", a.answer))

    made = stamped(asked[-1].made_with if asked else {})
    return annotated_zip(list(names.items()), items.__getitem__, lambda d: _stored_pdf(library, d), made)
