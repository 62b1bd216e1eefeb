"""Research Assistant: page setup and navigation; every page lives in views/.

Not in pages/: Streamlit takes a folder of that name for its older automatic page list,
and a page opened by its address (/ask) then showed that list's file names in the
sidebar instead of these pages.

The first page is drawn before the library and the embedding model have loaded (they
load on a thread of their own, see ui/resources.py): the Library page works without
them; any other page waits for them, with a message, before it runs.
"""

import streamlit as st

from assistant.config import describe_llm, llm_problem
from assistant.library.catalog import Catalog
from ui.access import visitor, workspace_picker
from ui.resources import background_imports, settings, start, workspace

st.set_page_config(page_title="Research Assistant", page_icon=":material/description:", layout="wide")
person = visitor()  # the sign-in screen, when sign-in is configured

library_page = st.Page("views/library.py", title="Library", icon=":material/library_books:", default=True)
navigation = st.navigation(
    [
        library_page,
        st.Page("views/ask.py", title="Ask", icon=":material/forum:"),
        st.Page("views/batch.py", title="Batch", icon=":material/table_view:"),
        st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("views/settings.py", title="Settings", icon=":material/settings:"),
    ]
)

workspace_picker(person)
current = settings()
loading = start(current)  # the library and the model load while this page is drawn
with st.sidebar:
    st.caption(f"**LLM:** {describe_llm(current.llm)}")
    if llm_problem(current.llm):
        st.warning(f"The LLM cannot be used: {llm_problem(current.llm)}", icon=":material/warning:")
    elif current.llm.provider == "none":
        st.caption("No LLM is configured: answers quote the most relevant sentences of the papers.")
    count = Catalog.in_folder(current.data_dir).count()
    st.caption(f"**Documents:** {count} · **Library:** `{current.data_dir}`")
    if not loading.done():
        st.caption(":material/hourglass_top: Loading the embedding model…")

if navigation.url_path != library_page.url_path or loading.done():
    background_imports(workspace())  # imports left unfinished when the app last stopped go on

navigation.run()
