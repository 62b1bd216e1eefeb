"""How a batch run is shown: the papers x questions table, one cell's answers side by
side with their evidence, and the charts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import altair as alt
import pandas as pd
import streamlit as st

from assistant.library.library import Library
from assistant.work.export import STATE_COLOURS, VERDICT_COLOURS, answer_rates, heatmap_cells
from assistant.work.review import Verdict
from assistant.work.runs import CELL_STATES, WEAK_CELL, Cell, Flag, Result, Run, question_label, vote
from ui.evidence_view import show_answer, show_evidence

# Pixels: a tab not shown has no width to measure (the viewer's known limit).
VIEWER_WIDTH = 900
PENDING = "·"


WEAK = "?"
DISAGREE = "⚑"


def cell_symbol(results: Sequence[Result | Flag]) -> str:
    """✓ answered from the paper, ✗ not, ? a close call (a weak answer: check it), ½ a tie
    between LLMs, · not asked yet; with several LLMs, how many of them said answered;
    ⚑ after it where the local judge and an LLM differ (ASSISTANT_BATCH__JUDGE=both)."""
    if not results:
        return PENDING
    v = vote(results)
    flag = f" {DISAGREE}" if any(r.disagree for r in results) else ""
    if v.label == WEAK_CELL:
        mark = WEAK
    else:
        mark = {True: "✓", False: "✗", None: "½"}[v.answered]
    return (f"{mark} {v.yes}/{len(results)}" if len(results) > 1 else mark) + flag


def results_table(run: Run, results: Sequence[Result | Flag], names: dict[str, str]) -> pd.DataFrame:
    """One row per paper, one column per question (Q1, Q2, ...)."""
    by_cell: dict[Cell, list[Result | Flag]] = defaultdict(list)
    for r in results:
        by_cell[r.cell].append(r)
    data = {
        question_label(q): [cell_symbol(by_cell.get(Cell(d, q), [])) for d in run.spec.doc_ids]
        for q in range(len(run.spec.questions))
    }
    return pd.DataFrame(data, index=pd.Index([names.get(d, d) for d in run.spec.doc_ids], name="Paper"))


# Cell colours by state, as in the heat map and the exports.
COLOURS = {"✓": STATE_COLOURS["answered"], "✗": STATE_COLOURS["not answered"], WEAK: STATE_COLOURS[WEAK_CELL],
           "½": STATE_COLOURS["tie"], PENDING: STATE_COLOURS["pending"]}
# Where the judges differ, whatever the flag: the table's grid draws no cell borders.
DISAGREE_COLOUR = "#ffab91"


def coloured(table: pd.DataFrame):
    """The results table with each question cell coloured by its state (orange where the judges differ)."""
    def colour(value: object) -> str:
        if DISAGREE in str(value):
            return f"background-color: {DISAGREE_COLOUR}"
        mark = str(value).split(" ", 1)[0]
        return f"background-color: {COLOURS[mark]}" if mark in COLOURS else ""

    questions = [c for c in table.columns if c != "Paper"]
    return table.style.map(colour, subset=questions)


def cell_results(results: Sequence[Result], cell: Cell, llms: Sequence[str]) -> list[Result]:
    order = {name: i for i, name in enumerate(llms)}
    return sorted((r for r in results if r.cell == cell), key=lambda r: order.get(r.llm, len(order)))


def show_cell(library: Library, run: Run, results: Sequence[Result], cell: Cell, key: str) -> None:
    """The question, then each LLM's answer beside its highlighted evidence."""
    question = run.spec.questions[cell.q_index]
    st.markdown(f"**{question_label(cell.q_index)}.** {question}")
    description = run.spec.guide(cell.q_index).description
    if description:
        st.caption(f"What it asks for: {description}")
    answers = cell_results(results, cell, run.spec.llms)
    if not answers:
        st.info("This question has not been asked of this paper yet.")
        return
    if len(answers) > 1:
        v = vote(answers)
        st.caption(f"Vote of {len(answers)} LLMs: **{v.label}** ({v.yes} yes, {v.no} no; "
                   f"agreement {100 * v.agreement:.0f}%)")
    if len(answers) == 1:
        r = answers[0]
        with st.container(border=True):
            st.markdown(_answer_head(r))
            left, right = st.columns([2, 3], gap="large")
            with left:
                show_answer(r.answer, key=f"{key}_{r.doc_id}_{r.q_index}_{r.llm}")
            with right:
                show_evidence(library, r.answer, key=f"{key}_{r.doc_id}_{r.q_index}_{r.llm}")
        return
    # Several LLMs: their answers side by side, then each one's evidence under a tab.
    for col, r in zip(st.columns(len(answers)), answers, strict=True):
        with col, st.container(border=True):
            st.markdown(_answer_head(r))
            show_answer(r.answer, key=f"{key}_{r.doc_id}_{r.q_index}_{r.llm}")
    for tab, r in zip(st.tabs([f"Evidence for {r.llm}" for r in answers]), answers, strict=True):
        with tab:
            show_evidence(library, r.answer, key=f"{key}_{r.doc_id}_{r.q_index}_{r.llm}", width=VIEWER_WIDTH)


def _answer_head(r: Result) -> str:
    flag = "answered from the paper" if r.answered else "weak: check it" if r.weak else "not answered"
    return f"**{r.llm}** · {flag} ({judged_by(r)})"


def judged_by(r: Result) -> str:
    """Who decided the flag, how sure, and where the judges differ."""
    if r.judged_by == "rule":
        return "decided by the offline answer" if r.answer.extractive else "judged by a rule"
    sure = f", {100 * r.confidence:.0f}% sure" if r.confidence is not None and r.judged_by == "local" else ""
    said = "judged by the LLM" if r.judged_by == "llm" else f"local judge{sure}"
    if r.disagree:
        other = "the LLM" if r.judged_by == "local" else "the local judge"
        verdict = r.llm_answered if r.judged_by == "local" else r.local_answered
        said += f"; ⚑ {other} says {'answered' if verdict else 'not answered'}"
    return said


def heatmap_chart(run: Run, results: Sequence[Result], verdicts: Sequence[Verdict]) -> alt.Chart:
    cells = pd.DataFrame(heatmap_cells(run, results, verdicts))
    cells["question_text"] = [run.spec.questions[q] for q in cells["q_index"]]
    cells["shown"] = [v.replace("_", " ") if v else s for s, v in zip(cells["status"], cells["verdict"], strict=True)]
    shades = {**{s: STATE_COLOURS[s] for s in CELL_STATES}, **VERDICT_COLOURS}
    domain, colours = list(shades), list(shades.values())
    order = [question_label(i) for i in range(len(run.spec.questions))]
    return (
        alt.Chart(cells, height=alt.Step(26))
        .mark_rect(stroke="#999", strokeWidth=0.5)
        .encode(
            x=alt.X("question:N", sort=order, title="Question", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("paper:N", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("shown:N", scale=alt.Scale(domain=domain, range=colours),
                            legend=alt.Legend(title="Vote, or verdict when reviewed", orient="bottom",
                                              direction="horizontal", columns=4)),
            tooltip=["paper", "question", "question_text", "status", "verdict"],
        )
    )


def answer_rate_chart(run: Run, results: Sequence[Result]) -> alt.Chart:
    rates = pd.DataFrame(answer_rates(run, results))
    order = [question_label(i) for i in range(len(run.spec.questions))]
    return (
        alt.Chart(rates, height=220)
        .mark_bar(color="#1c6dd0")
        .encode(
            x=alt.X("question:N", sort=order, title="Question", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("rate:Q", title="Papers answered", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            tooltip=["question", "text", "answered", "papers", alt.Tooltip("rate:Q", format=".0%")],
        )
    )
