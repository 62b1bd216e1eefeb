"""Ask: a chat over the chosen papers; each answer beside its highlighted evidence.

The chat is kept in the work database (see assistant.work.chats): the page's address names it
(``?chat=N``), and a page opened without one shows the reader's latest chat, with the
papers its last question was asked of selected again.
"""

import streamlit as st

from assistant.answering.llms import MAIN_LLM
from assistant.answering.per_paper import ask_per_paper, requests_in_flight
from assistant.answering.prompts import offered_first
from assistant.errors import AssistantError
from assistant.work.chats import PAPERS_IN_SCOPE, rounds
from assistant.work.export import chat_json, chat_zip
from assistant.work.provenance import describe
from assistant.work.questions import competency_questions
from ui.access import visitor
from ui.evidence_view import paper_downloads, show_answer, show_by_paper, show_evidence
from ui.import_status import follow_imports, stop_if_empty
from ui.resources import llm_notice, workspace

ws = workspace()
library = ws.library
chats = ws.chats
owner = visitor().email or ""

st.title("Ask")
llm_notice(ws)

documents = library.documents()
importing = follow_imports(ws.imports, library.catalog, len(documents))
if not documents:
    stop_if_empty(importing)


def current_chat():
    """The chat the address names, else the reader's latest (None before the first question)."""
    wanted = st.query_params.get("chat", "")
    if wanted.isdigit():
        try:
            return chats.get(int(wanted), owner)
        except AssistantError as exc:
            st.warning(f"{exc} Showing your latest chat.")
    chat = chats.latest(owner)
    if chat is not None:
        st.query_params["chat"] = str(chat.chat_id)
    else:
        st.query_params.pop("chat", None)
    return chat


chat = current_chat()
asked = chats.answers(chat.chat_id) if chat else []
by_id = {d.doc_id: d for d in documents}
# A chat opened (after a reload, on another day, or picked below) selects again the papers
# its last question was asked of: the next question goes where the last one went.
opened = chat.chat_id if chat else None
if st.session_state.get("scope_of_chat") != opened:
    st.session_state.scope_of_chat = opened
    st.session_state.scope = [d for d in (asked[-1].doc_ids if asked else ()) if d in by_id]

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
    template = st.selectbox("Prompt template", names, index=offered_first(names, ws.settings.answer.template),
                            help="Edit templates on the Settings page.")
    k = st.slider("Passages per question", 1, 12, ws.settings.retrieval.top_k)


def new_chat() -> None:
    st.query_params["chat"] = str(chats.start(owner).chat_id)


with st.sidebar.expander("Chats", icon=":material/forum:"):
    mine = chats.of(owner)
    if mine:
        labels = {c.chat_id: c.label for c in mine}
        picked_chat = st.selectbox("Open a chat", list(labels), format_func=labels.get,
                                   index=list(labels).index(chat.chat_id) if chat else 0, key=f"chat_pick_{opened}")
        if chat is not None and picked_chat != chat.chat_id:
            st.query_params["chat"] = str(picked_chat)
            st.rerun()
    st.button("New chat", icon=":material/add_comment:", on_click=new_chat, disabled=not asked)
    if chat is not None and asked:
        names = {d.doc_id: d.file_name for d in documents}
        st.download_button("Chat as JSON", lambda: chat_json(chat, chats.answers(chat.chat_id), names),
                           f"chat-{chat.chat_id}.json", "application/json", on_click="ignore",
                           icon=":material/download:")
        st.download_button("Papers with this chat's evidence", lambda: chat_zip(chats.answers(chat.chat_id),
                                                                                  library)[0],
                           f"chat-{chat.chat_id}-papers.zip", "application/zip", on_click="ignore",
                           icon=":material/download:",
                           help="Each paper the answers rest on, as a PDF with their evidence highlighted.")
        if st.button("Delete this chat", icon=":material/delete:"):
            chats.delete(chat.chat_id, owner)
            st.query_params.pop("chat", None)
            st.rerun()
questions = competency_questions()
picked = None
# In the sidebar: an open list of 28 questions would push the answers below the fold.
with st.sidebar.expander(f"Competency questions ({len(questions)})"):
    st.caption("The questions about deep-learning methodology used across the literature; click one to ask it.")
    for n, q in enumerate(questions, start=1):
        if st.button(f"{n}. {q}", key=f"cq_{n}", type="tertiary"):
            picked = q


def ask(question: str) -> None:
    """Answer at the bottom of the chat: of one paper, the LLM's text appearing as it is
    written; of several, paper by paper (see assistant.answering.per_paper)."""
    names = ", ".join(by_id[i].file_name for i in scope) if scope else "all papers"
    st.session_state.pop("failed", None)
    with st.chat_message("user"):
        st.text(question)
    several = len(scope) > 1 or (not scope and len(documents) > 1)
    made_with = describe(ws.settings, [MAIN_LLM], ws.answerer.template(template).name, k)
    with st.chat_message("assistant"):
        growing = st.empty()
        with st.spinner(f"Searching {names} and answering…"):
            try:
                if several:
                    found = ask_per_paper(ws.answerer, question, scope or None, ws.settings.answer.papers_asked, k,
                                          template, parallel=requests_in_flight(ws.settings.llm),
                                          on_answer=lambda done, total: growing.caption(
                                              f"{done} of {total} papers answered…"))
                else:
                    answer = ws.answerer.ask(question, scope or None, k, template, on_text=growing.text)
            except AssistantError as exc:
                growing.empty()
                st.session_state.failed = (question, str(exc))
                return
    target = chat or chats.start(owner)
    if several:
        chats.add_by_paper(target.chat_id, [(a.doc_id, a.answer) for a in found.answers], scope,
                           {**made_with, PAPERS_IN_SCOPE: str(found.in_scope)})
    else:
        chats.add(target.chat_id, answer, scope, made_with)
    st.query_params["chat"] = str(target.chat_id)
    st.rerun()  # shown again below with its evidence, like every answer before it


def asked_of(doc_ids) -> str:
    if not doc_ids:
        return "all papers"
    return ", ".join(by_id[d].file_name if d in by_id else f"{d[:8]} (deleted since)" for d in doc_ids)


if not asked:
    st.caption("Ask a question below; the answer appears on the left and the passages it rests on on the right.")

# Brought to the latest answer's start while the page grows under it, and brought back
# whenever something else scrolls the page (a viewer loading, the rerun after the model has
# loaded, Streamlit keeping a chat's page at its bottom), until the reader scrolls, clicks or
# types, or for HOLD_MS at most.
HOLD_MS = 30_000
TO_LATEST_ANSWER = """<script>(() => {
  let held = true;
  const go = () => {
    const a = held && document.getElementById("latest-answer");
    if (a && Math.abs(a.getBoundingClientRect().top) > 1) a.scrollIntoView({block: "start"});
  };
  // Scrolling does not bubble: caught on its way down, from whichever box scrolls.
  const moved = () => requestAnimationFrame(go);
  document.addEventListener("scroll", moved, {capture: true, passive: true});
  const release = () => {
    held = false;
    document.removeEventListener("scroll", moved, {capture: true});
  };
  for (const e of ["wheel", "touchstart", "keydown", "mousedown"]) {
    window.addEventListener(e, release, {once: true, capture: true});
  }
  setTimeout(release, %d);
  let tries = 0;
  const again = () => { go(); if (held && tries++ < 10) setTimeout(again, 400); };
  again();
})();</script>""" % HOLD_MS

# The latest answer is drawn whole; an older one's evidence (a paper viewer each: seconds
# to draw, and a page that grows as they load) only when the reader opens it.
chat_rounds = rounds(asked)
for at, entries in enumerate(chat_rounds):
    entry = entries[0]
    latest = at == len(chat_rounds) - 1
    if latest:
        st.html('<div id="latest-answer"></div>')
    with st.chat_message("user"):
        st.text(entry.answer.question)
        st.caption(f"Asked of {asked_of(entry.doc_ids)} · {entry.asked:%Y-%m-%d %H:%M} UTC")
    with st.chat_message("assistant"):
        i = f"{opened}_{entry.n}"
        drawn = latest or st.toggle("Show the evidence", key=f"evidence_open_{i}")
        if entry.part_of is not None:
            show_by_paper(ws, entries, {d: by_id[d].file_name for d in by_id}, key=i, evidence=drawn)
            continue
        left, right = st.columns([2, 3], gap="large")
        with left:
            show_answer(entry.answer, key=i)
            paper_downloads(ws, entry.answer, key=i)
        if drawn:
            with right:
                show_evidence(library, entry.answer, key=i)

# A chat opened, or a new answer: the page starts at the latest answer, not at the top.
if asked and st.session_state.get("scrolled_to") != (opened, asked[-1].n):
    st.session_state.scrolled_to = (opened, asked[-1].n)
    st.html(TO_LATEST_ANSWER, unsafe_allow_javascript=True)


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
