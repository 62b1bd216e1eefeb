"""Ask: a chat over the chosen papers; each answer beside its highlighted evidence."""

import streamlit as st

from assistant.errors import AssistantError
from assistant.questions import competency_questions
from ui.evidence_view import show_answer, show_evidence
from ui.resources import workspace

ws = workspace()
library = ws.library

st.title("Ask")

documents = library.documents()
if not documents:
    st.info("The library is empty. Add papers on the Library page first.")
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()

if "chat" not in st.session_state:
    st.session_state.chat = []  # list[Answer], oldest first

by_id = {d.doc_id: d for d in documents}
scope = st.multiselect(
    "Papers to ask about",
    options=list(by_id),
    format_func=lambda i: f"{by_id[i].file_name} · {by_id[i].title}",  # typing filters by either
    placeholder="All papers in the library",
    key="scope",
)
with st.expander("Options"):
    templates = ws.templates.all()
    names = list(templates)
    default_template = ws.settings.answer.template if ws.settings.answer.template in names else names[0]
    template = st.selectbox("Prompt template", names, index=names.index(default_template),
                            help="Edit templates on the Settings page.")
    k = st.slider("Passages per question", 1, 12, ws.settings.retrieval.top_k)
questions = competency_questions()
picked = None
# In the sidebar: an open list of 28 questions would push the answers below the fold.
with st.sidebar.expander(f"Competency questions ({len(questions)})"):
    st.caption("The questions about deep-learning methodology used across the literature; click one to ask it.")
    for n, q in enumerate(questions, start=1):
        if st.button(f"{n}. {q}", key=f"cq_{n}", type="tertiary"):
            picked = q


def ask(question: str) -> None:
    """Answer at the bottom of the chat, the LLM's text appearing as it is written."""
    names = ", ".join(by_id[i].file_name for i in scope) if scope else "all papers"
    st.session_state.pop("failed", None)
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        growing = st.empty()
        with st.spinner(f"Searching {names} and answering…"):
            try:
                answer = ws.answerer.ask(question, scope or None, k, template, on_text=growing.text)
            except AssistantError as exc:
                growing.empty()
                st.session_state.failed = (question, str(exc))
                return
    st.session_state.chat.append(answer)
    st.rerun()  # shown again below with its evidence, like every answer before it


if not st.session_state.chat:
    st.caption("Ask a question below; the answer appears on the left and the passages it rests on on the right.")

for i, answer in enumerate(st.session_state.chat):
    with st.chat_message("user"):
        st.text(answer.question)
    with st.chat_message("assistant"):
        left, right = st.columns([2, 3], gap="large")
        with left:
            show_answer(answer)
        with right:
            show_evidence(library, answer, key=str(i))


def try_again(question: str) -> None:
    st.session_state.retry = question


question = st.chat_input("Ask a question about the selected papers")
again = st.session_state.pop("retry", None)
if question:
    ask(question)
elif picked:
    ask(picked)
elif again:
    ask(again)

if "failed" in st.session_state:
    failed, message = st.session_state.failed
    st.error(message)
    st.button("Try again", icon=":material/refresh:", help=f"Ask “{failed}” again", on_click=try_again,
              args=(failed,))
