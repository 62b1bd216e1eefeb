"""Batch: a question set asked of many papers; answers fill a papers x questions table as
they come, and a cell opens its answers beside their evidence."""

import streamlit as st

from assistant.answering.llms import MAIN_LLM, named_llms
from assistant.answering.prompts import offered_first
from assistant.config import describe_llm
from assistant.errors import AssistantError
from assistant.work.questions import BUILTIN, read_question_file
from assistant.work.runner import duration
from assistant.work.runs import Cell, RunSpec, question_index, question_label
from ui.batch_view import coloured, results_table, show_cell
from ui.exports import export_buttons
from ui.import_status import follow_imports, stop_if_empty
from ui.resources import background_runs, llm_notice, workspace

ws = workspace()
library = ws.library
jobs = background_runs()

st.title("Batch")
llm_notice(ws)

documents = library.documents()
importing = follow_imports(ws.imports, library.catalog, len(documents))
by_id = {d.doc_id: d for d in documents}
sets = ws.question_sets
batches = ws.batches


# --- question sets --------------------------------------------------------------------

with st.expander("Question sets: the 28 competency questions, or your own"):
    names = sets.names()
    editing = st.selectbox("Start from", names, key="qs_source",
                           help=f"{BUILTIN} is built in (read-only); save a copy under another name to change it.")
    current = sets.get(editing)
    new_name = st.text_input("Name", value="" if current.builtin else current.name, key=f"qs_name_{editing}",
                             placeholder="e.g. my-questions")
    text = st.text_area("Questions, one a line", value="\n".join(current.questions), height=200,
                        key=f"qs_text_{editing}")
    described = st.text_area(
        "What each question asks for (optional): one description a line, in the same order",
        value="\n".join(current.descriptions), height=120, key=f"qs_desc_{editing}",
        help="A description is searched for with its question and says what counts as an answer, as the columns "
        "of a systematic-review table carry instructions; e.g. “GPU or TPU models, their number and memory”. "
        f"The {BUILTIN} questions come with theirs.",
    )
    upload = st.file_uploader("…or read them from a file (.txt: one a line; .csv: a 'question' column and an "
                              "optional 'description' column)", type=["txt", "csv"], key="qs_upload")
    save_col, delete_col = st.columns(2)
    if save_col.button("Save question set", icon=":material/save:"):
        try:
            if upload is not None:
                pairs = read_question_file(upload.getvalue(), upload.name)
            else:
                lines = described.split("\n") if described.strip() else []
                pairs = current.pair(text.split("\n"), lines)
            saved = sets.save(new_name, [q for q, _ in pairs], [d for _, d in pairs])
            st.success(f"Saved {saved.name!r} with {len(saved.questions)} questions.")
        except AssistantError as exc:
            st.error(str(exc))
    if not current.builtin and delete_col.button(f"Delete {current.name!r}", icon=":material/delete:"):
        sets.delete(current.name)
        st.rerun()

# --- a new batch ----------------------------------------------------------------------

if not documents:
    stop_if_empty(importing)

llms = named_llms(ws.settings)
runs = batches.runs()
with st.expander("New batch: ask a question set of papers", expanded=not runs), st.form("new_batch", border=False):
    chosen_docs = st.multiselect("Papers", list(by_id),
                                 format_func=lambda i: f"{by_id[i].file_name} · {by_id[i].title}",
                                 placeholder="All papers in the library")
    set_name = st.selectbox("Question set", sets.names(), key="batch_set")
    chosen_llms = st.multiselect(
        "LLMs", list(llms), default=[MAIN_LLM], format_func=lambda n: f"{n}: {describe_llm(llms[n])}",
        help="With several, each is asked and a majority vote says answered or not. Add LLMs as extra_llms "
        "in the settings.",
    )
    left, right = st.columns(2)
    templates = list(ws.templates.all())
    template = left.selectbox("Prompt template", templates,
                              index=offered_first(templates, ws.settings.answer.template))
    top_k = right.slider("Passages per question", 1, 12, ws.settings.retrieval.top_k)
    start = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

if start:
    try:
        qset = sets.get(set_name)
        spec = RunSpec(qset.name, qset.questions, tuple(chosen_docs or by_id), tuple(chosen_llms), template, top_k,
                       qset.run_descriptions)
        run = batches.open_run(spec, ws.settings)
        done = batches.done_count(run.run_id)
        if done:
            st.toast(f"This batch was run before: {done} of {run.total} answers are stored and kept.")
        jobs.start(run, ws.batch_runner())
        st.session_state.batch_run = run.run_id
    except AssistantError as exc:
        st.error(str(exc))

# --- runs -----------------------------------------------------------------------------

runs = batches.runs()
if not runs:
    st.caption("No batch has been run yet.")
    st.stop()

run_ids = [r.run_id for r in runs]
if st.session_state.get("batch_run") not in run_ids:
    st.session_state.batch_run = run_ids[0]
labels = {r.run_id: r.label for r in runs}
run_id = st.selectbox("Run", run_ids, format_func=lambda i: labels[i], key="batch_run")
run = batches.get(run_id)
state = jobs.state(run_id)
running = bool(state and state.running)


# The table refreshes while the run goes; the chosen cell's answers and evidence (page
# images, marks) are drawn only when the page runs, never on the table's refresh: drawn
# every 1.5 s they took the CPU the run itself needed.
papers = list(run.spec.doc_ids)
PAPER_WIDTH, QUESTION_WIDTH = 240, 32  # pixels
refresh = 1.5 if len(papers) <= 100 else 5.0  # a 1,000-paper table takes longer to draw


@st.fragment(run_every=refresh if running else None)
def run_view() -> None:
    state = jobs.state(run_id)
    flags = batches.flags(run_id)
    done = len(flags)
    going = bool(state and state.running)
    if running and not going:
        st.rerun()  # the run just ended: redraw the page without the polling
    progress = state.progress if state else None
    # The runner's total leaves out what papers deleted since cannot answer any more.
    total = progress.total if progress else run.total
    eta = f" · about {duration(progress.eta_seconds)} left" if going and progress else ""
    per = f" · {progress.per_answer:.1f} s per answer" if progress and progress.per_answer else ""
    st.progress(min(1.0, done / total) if total else 1.0, text=f"{done} of {total} answers{eta}{per}")
    if going and progress:
        # Per LLM: each is asked in parallel up to its own max_parallel (see the Settings page).
        st.caption(" · ".join(progress.describe_llms()) + (f" · last: {progress.current}" if progress.current else ""))
    if state and state.error:
        st.error(state.error)
    if progress and progress.skipped_docs:
        st.warning(f"{len(progress.skipped_docs)} paper(s) of this run are no longer in the library; their "
                   "missing answers are skipped.")
    buttons = st.columns(3)
    if going:
        if buttons[0].button("Cancel", icon=":material/stop:", key="cancel"):
            jobs.cancel(run_id)
            st.toast("Cancelling: the requests in flight finish and are stored; what is stored stays.")
    elif done < total:
        if buttons[0].button("Resume", icon=":material/play_arrow:", type="primary", key="resume"):
            jobs.start(run, ws.batch_runner())
            st.rerun()
    names = {d: by_id[d].file_name if d in by_id else d for d in run.spec.doc_ids}
    names.update({f.doc_id: f.file_name for f in flags})
    needle = st.text_input("Filter papers", placeholder="part of a file name or title", key=f"grid_filter_{run_id}")
    rows = [i for i, d in enumerate(papers) if not needle.strip() or needle.strip().lower() in names[d].lower()
            or needle.strip().lower() in (by_id[d].title.lower() if d in by_id else "")]
    # ".pdf" said once per row is width the 28 questions need.
    shown = {d: n[:-4] if n.lower().endswith(".pdf") else n for d, n in names.items()}
    table = results_table(run, flags, shown).reset_index().iloc[rows]
    st.caption("✓ answered from the paper · ✗ not answered (a generic or \"don't know\" answer, or no sentence "
               "states what was asked) · ? weak: a close call, check it · · not asked yet"
               + (" · ⚑ orange: the local judge and the LLM differ, look here first" if any(f.disagree for f in flags)
                  else "") + ". Click a cell to see its answer and evidence.")
    # At 1600 px, one LLM's 28 questions and a paper's whole file name fit side by side.
    one = len(run.spec.llms) == 1
    columns = {"Paper": st.column_config.TextColumn("Paper", width=PAPER_WIDTH if one else "medium", pinned=True)}
    columns.update({c: st.column_config.TextColumn(c, width=QUESTION_WIDTH if one else 36,
                                                   help=run.spec.questions[question_index(c)])
                    for c in table.columns if c != "Paper"})
    event = st.dataframe(coloured(table), key=f"grid_{run_id}", on_select="rerun", selection_mode="single-cell",
                         hide_index=True, column_config=columns, height=min(36 * len(rows) + 40, 640))
    # Only question cells open an answer (a click on a paper's name does not).
    cells = [c for c in (event.selection.cells if event and event.selection else []) if c[1] != "Paper"]
    # A new click on the table moves the paper and question pickers to that cell (and
    # draws the page again, as the cell is shown outside this refreshing part).
    if cells and (cells[0], needle) != st.session_state.get(f"cell_clicked_{run_id}"):
        row, column = cells[0]
        st.session_state[f"cell_clicked_{run_id}"] = (cells[0], needle)
        st.session_state[f"cell_paper_{run_id}"] = papers[rows[row]]
        st.session_state[f"cell_q_{run_id}"] = question_index(column)
        st.rerun(scope="app")


def cell_view() -> None:
    names = {d: by_id[d].file_name if d in by_id else d for d in papers}
    pick_paper, pick_q = st.columns([1, 2])
    paper = pick_paper.selectbox("Paper", papers, format_func=lambda d: names[d], key=f"cell_paper_{run_id}")
    q_index = pick_q.selectbox("Question", list(range(len(run.spec.questions))),
                               format_func=lambda q: f"{question_label(q)}. {run.spec.questions[q]}",
                               key=f"cell_q_{run_id}")
    cell = Cell(paper, q_index)
    show_cell(library, run, batches.results(run_id, cell), cell, key=f"b{run_id}")


run_view()
cell_view()

with st.expander("Export this run", icon=":material/download:"):
    export_buttons(ws, run, key=f"batch_export_{run_id}")

with st.expander("Delete this run"):
    st.caption("Deletes its answers and every reviewer's verdicts on them.")
    if st.button(f"Delete run #{run_id}", icon=":material/delete:", disabled=running):
        batches.delete(run_id)
        st.rerun()  # the run picker then falls back to the newest run left
