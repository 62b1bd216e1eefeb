"""Review: judge a batch's answers and their evidence, see how reviewers agree, export."""

import pandas as pd
import streamlit as st

from assistant.errors import AssistantError
from assistant.work.review import (
    VERDICT_LABELS,
    VERDICTS,
    AnswerKey,
    Verdict,
    contested,
    judge_agreement,
    review_order,
    reviewer_name,
)
from assistant.work.runs import Result, question_label
from ui.batch_view import answer_rate_chart, heatmap_chart, judged_by
from ui.evidence_view import show_answer, show_evidence
from ui.exports import export_buttons
from ui.resources import workspace

ws = workspace()
library = ws.library
batches = ws.batches
reviews = ws.reviews

st.title("Review")

runs = batches.runs()
if not runs:
    st.info("There is nothing to review yet: run a question set on the Batch page first.")
    st.page_link("pages/batch.py", label="Go to Batch", icon=":material/table_view:")
    st.stop()

labels = {r.run_id: r.label for r in runs}
run_id = st.selectbox("Run", list(labels), format_func=lambda i: labels[i], key="review_run")
run = batches.get(run_id)
results = batches.results(run_id)

name_input = st.text_input("Your name", key="reviewer", placeholder="Verdicts are kept per reviewer",
                           help="Entered once per session; several reviewers' verdicts are kept apart.")
try:
    reviewer = reviewer_name(name_input) if name_input else ""
except AssistantError as exc:
    st.error(str(exc))
    reviewer = ""

# Our own script, no outside input: brings the next answer's top into view after a save.
SCROLL_TO_ANSWER = ("<script>const top = document.getElementById('review-answer-top');"
                    "if (top) top.scrollIntoView({block: 'start'});</script>")

review_tab, agreement_tab, export_tab = st.tabs(["Judge answers", "Agreement", "Charts and export"])

def verdict_form(result: Result, key: AnswerKey, before: Verdict | None, supports: dict, advance: list[int]) -> None:
    """The answer's verdict, each passage's support and a note, saved together."""
    with st.form(f"verdict_{key.run_id}_{key.doc_id}_{key.q_index}_{key.llm}_{reviewer}"):
        verdict = st.radio("The answer is", VERDICTS, format_func=VERDICT_LABELS.get, horizontal=True,
                           index=VERDICTS.index(before.verdict) if before else None)
        marks = {}
        if result.answer.passages:
            st.caption("Does each passage support the answer?")
            for p in result.answer.passages:
                prior = supports.get((key, p.n))
                marks[p.n] = st.radio(
                    f"[{p.n}] p.{','.join(map(str, p.pages))}", ["supports", "does not"], horizontal=True,
                    index=None if prior is None else (0 if prior else 1), key=f"pv_{key}_{p.n}",
                )
        note = st.text_input("Note (optional)", value=before.note if before else "")
        if st.form_submit_button("Save verdict", type="primary"):
            if verdict is None:
                st.error("Choose a verdict for the answer first.")
                return
            reviews.set_verdict(key, reviewer, verdict, note)
            for n, mark in marks.items():
                if mark is not None:
                    reviews.set_passage(key, n, reviewer, mark == "supports")
            if advance:
                st.session_state[f"review_goto_{key.run_id}"] = advance[0]
            st.toast(f"Saved: {VERDICT_LABELS[verdict]}.")
            st.rerun()


with review_tab:
    if not results:
        st.info("This run has no answers yet.")
    elif not reviewer:
        st.info("Enter your name above to start judging.")
    else:
        mine = {v.key: v for v in reviews.verdicts(run_id, reviewer)}
        supports = {(p.key, p.passage): p.supports for p in reviews.passage_verdicts(run_id, reviewer)}
        keys = [AnswerKey(run_id, r.doc_id, r.q_index, r.llm) for r in results]
        reviewed = sum(1 for k in keys if k in mine)
        st.progress(reviewed / len(keys), text=f"You reviewed {reviewed} of {len(keys)} answers")
        only_open = st.toggle("Only answers I have not judged", value=False, key="only_open")
        # Not yet judged first, contested answers (LLMs or judges differ, close calls) first among them.
        order = [i for i in review_order(results, set(mine)) if not (only_open and keys[i] in mine)]
        first = contested(results)
        if not order:
            st.success("You have judged every answer of this run.")
        else:
            def describe(i: int) -> str:
                r = results[i]
                done = VERDICT_LABELS[mine[keys[i]].verdict] if keys[i] in mine else "to judge"
                flag = " · ⚑ contested" if keys[i] in first else ""
                return f"{r.file_name} · {question_label(r.q_index)} · {r.llm} · {done}{flag}"

            pos_key = f"review_pos_{run_id}"
            goto = st.session_state.pop(f"review_goto_{run_id}", None)
            if goto is not None:  # set by the last save: the next answer still to judge
                st.session_state[pos_key] = goto
            if st.session_state.get(pos_key) not in order:
                st.session_state[pos_key] = order[0]
            # The answer's top: after a save the page scrolls here, so the next answer is read
            # from its start rather than from where the form was.
            st.html('<div id="review-answer-top"></div>')
            if goto is not None:
                st.html(SCROLL_TO_ANSWER, unsafe_allow_javascript=True)
            nav_prev, nav_pick, nav_next = st.columns([1, 6, 1], vertical_alignment="bottom")
            at = order.index(st.session_state[pos_key])
            if nav_prev.button("Previous", disabled=at == 0, key="prev"):
                st.session_state[pos_key] = order[at - 1]
            if nav_next.button("Next", disabled=at == len(order) - 1, key="next"):
                st.session_state[pos_key] = order[at + 1]
            i = nav_pick.selectbox("Answer", order, format_func=describe, key=pos_key)
            result, key = results[i], keys[i]
            st.markdown(f"**{question_label(result.q_index)}.** {result.question}")
            why = " · ⚑ contested: the LLMs or the judges differ, or a close call" if key in first else ""
            st.caption(f"{result.file_name} · {result.llm} · "
                       f"{'answered from the paper' if result.answered else 'not answered'} "
                       f"({judged_by(result)}){why}")
            left, right = st.columns([2, 3], gap="large")
            with left:
                show_answer(result.answer, key=f"r{run_id}_{i}")
                at = order.index(i)
                later = [j for j in order[at + 1:] + order[:at] if keys[j] not in mine]
                verdict_form(result, key, mine.get(key), supports, later)
            with right:
                show_evidence(library, result.answer, key=f"r{run_id}_{i}")

with agreement_tab:
    names = reviews.reviewers(run_id)
    if not names:
        st.info("No one has reviewed this run yet.")
    else:
        st.dataframe(
            pd.DataFrame([{"Reviewer": n, "Answers judged": reviews.reviewed_count(run_id, n)} for n in names]),
            hide_index=True,
        )
        pairs = reviews.agreements(run_id)
        if pairs:
            st.dataframe(pd.DataFrame([{
                "Reviewers": f"{p.a} / {p.b}", "Answers both judged": p.items,
                "Same verdict": f"{100 * p.observed:.0f}%",
                "Cohen's kappa": "undefined" if p.kappa is None else f"{p.kappa:.2f}",
            } for p in pairs]), hide_index=True)
            st.caption("Cohen's kappa: agreement beyond chance over the four verdicts (1 perfect, 0 chance level). "
                       "Undefined when fewer than two answers were judged by both, or both gave one verdict "
                       "throughout.")
        else:
            st.caption("Agreement needs two reviewers who judged the same answers.")
        per_question = judge_agreement(results, reviews.verdicts(run_id))
        st.markdown("**The answered judge against reviewers**")
        if per_question:
            def pct(part: int, whole: int) -> str:
                return f"{100 * part / whole:.0f}% of {whole}" if whole else ""

            table = [{"Question": question_label(a.q_index), "Text": a.question,
                      "Local judge agreed": pct(a.local_agreed, a.judged),
                      "LLM agreed": pct(a.llm_agreed, a.llm_judged)} for a in per_question]
            judged = sum(a.judged for a in per_question)
            agreed = sum(a.local_agreed for a in per_question)
            table.append({"Question": "All", "Text": "", "Local judge agreed": pct(agreed, judged),
                          "LLM agreed": pct(sum(a.llm_agreed for a in per_question),
                                            sum(a.llm_judged for a in per_question))})
            st.dataframe(pd.DataFrame(table), hide_index=True, key="judge_agreement")
            st.caption("A verdict of correct or partly correct counts as answered from the paper; wrong or not in "
                       "paper as not answered. Each reviewer's verdict counts once. The LLM column fills when the "
                       "run asked the LLM too (ASSISTANT_BATCH__JUDGE=both or llm).")
        else:
            st.caption("No verdict yet on an answer the local judge flagged.")

with export_tab:
    verdicts = reviews.verdicts(run_id)
    if results:
        st.markdown("**Papers x questions**: the LLMs' vote, or the reviewers' verdict where there is one")
        st.altair_chart(heatmap_chart(run, results, verdicts), width="stretch")
        st.markdown("**Answer rate per question**")
        st.altair_chart(answer_rate_chart(run, results), width="stretch")
    export_buttons(ws, run, key=f"review_export_{run_id}")
