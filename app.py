"""Research Assistant: page setup and navigation; every page lives in pages/."""

import streamlit as st

from ui.access import visitor, workspace_picker
from ui.resources import background_imports, workspace

st.set_page_config(page_title="Research Assistant", page_icon=":material/description:", layout="wide")
person = visitor()  # the sign-in screen, when sign-in is configured

navigation = st.navigation(
    [
        st.Page("pages/library.py", title="Library", icon=":material/library_books:", default=True),
        st.Page("pages/ask.py", title="Ask", icon=":material/forum:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/table_view:"),
        st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ]
)

workspace_picker(person)
ws = workspace()
background_imports(ws)  # imports left unfinished when the app last stopped go on
with st.sidebar:
    st.caption(f"**LLM:** {ws.llm_name}")
    if ws.answerer.llm is None:
        st.caption("No LLM is configured: answers quote the most relevant sentences of the papers.")
    st.caption(f"**Documents:** {ws.library.catalog.count()} · **Library:** `{ws.settings.data_dir}`")

navigation.run()
