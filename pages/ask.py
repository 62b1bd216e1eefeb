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
    format_func=lambda i: by_id[i].file_name,
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
    cq = st.selectbox("Competency question", competency_questions(), index=None,
                      placeholder="Pick one of the 28 competency questions to ask it")
    ask_cq = st.button("Ask this question", disabled=cq is None)


def ask(question: str) -> None:
    names = ", ".join(by_id[i].file_name for i in scope) if scope else "all papers"
    with st.spinner(f"Searching {names} and answering…"):
        try:
            answer = ws.answerer.ask(question, scope or None, k, template)
        except AssistantError as exc:
            st.error(str(exc))
            return
    st.session_state.chat.append(answer)


question = st.chat_input("Ask a question about the selected papers")
if question:
    ask(question)
elif ask_cq and cq:
    ask(cq)

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
