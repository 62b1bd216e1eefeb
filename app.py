"""Research Assistant: page setup and navigation; every page lives in pages/.

The navigation is the app's own (``position="hidden"`` and links drawn in the sidebar):
Streamlit also reads a folder named pages/ as an automatic page list, and a page opened by
its address (/ask) showed that list's file names ("app", "ask") in the sidebar before
st.navigation had run. With the automatic list switched off in .streamlit/config.toml
(client.showSidebarNavigation) and these links drawn on every run, every address shows
the same five pages.

The first page is drawn before the library and the embedding model have loaded (they
load on a thread of their own, see ui/resources.py): the Library page works without
them; any other page waits for them, with a message, before it runs.

Everything runs in main(), under ``__name__ == "__main__"`` (Streamlit runs this file as
__main__): the import workers are spawned processes, and a spawned process loads its
parent's main file first, as __mp_main__. Without the guard each worker ran the whole app
without a page (a dozen "missing ScriptRunContext" lines and "use streamlit run" in the
terminal) and held Streamlit and the app's modules in memory for nothing.
"""

def main() -> None:
    import streamlit as st

    from assistant.config import describe_llm, llm_problem
    from assistant.library.catalog import Catalog
    from ui.access import visitor, workspace_picker
    from ui.resources import background_imports, settings, start, workspace
    from ui.viewer_scroll import keep_viewer_scroll_inside

    st.set_page_config(page_title="Research Assistant", page_icon=":material/description:", layout="wide")
    person = visitor()  # the sign-in screen, when sign-in is configured

    library_page = st.Page("pages/library.py", title="Library", icon=":material/library_books:", default=True)
    PAGES = [
        library_page,
        st.Page("pages/ask.py", title="Ask", icon=":material/forum:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/table_view:"),
        st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ]
    navigation = st.navigation(PAGES, position="hidden")
    with st.sidebar.container(key="app_nav"):
        for p in PAGES:
            st.page_link(p)

    keep_viewer_scroll_inside()
    workspace_picker(person)
    current = settings()
    loading = start(current)  # the library and the model load while this page is drawn
    with st.sidebar:
        st.caption(f"**LLM:** {describe_llm(current.llm)}")
        problem = llm_problem(current.llm)
        if problem:
            st.warning(f"The LLM cannot be used: {problem}", icon=":material/warning:")
        elif current.llm.provider == "none":
            st.caption("No LLM is configured: answers quote the most relevant sentences of the papers.")
        count = Catalog.in_folder(current.data_dir).count()
        st.caption(f"**Documents:** {count} · **Library:** `{current.data_dir}`")
        if not loading.done():
            st.caption(":material/hourglass_top: Loading the embedding model…")

    if navigation.url_path != library_page.url_path or loading.done():
        background_imports(workspace())  # imports left unfinished when the app last stopped go on

    navigation.run()


if __name__ == "__main__":
    main()
