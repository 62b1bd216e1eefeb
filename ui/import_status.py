"""Papers usable as they arrive: while an import goes on, a page says how far it is and is
drawn again as soon as another paper is in the library, so that paper is in its tables
and pickers at once (a page is otherwise drawn only when someone acts on it)."""

from __future__ import annotations

import streamlit as st

from assistant.library.catalog import Catalog
from assistant.library.import_queue import Imports

POLL_S = 1.0


def follow_imports(imports: Imports, catalog: Catalog, drawn: int) -> bool:
    """Under way: a line "3 of 4 added, 1 being added", polled; the whole page is drawn again
    when the library no longer holds ``drawn`` papers (the count this page was drawn with).
    Returns whether an import is under way."""
    going = imports.under_way() is not None

    @st.fragment(run_every=POLL_S if going else None)
    def _follow() -> None:
        now = imports.under_way()
        if catalog.count() != drawn or (now is None) != (not going):
            st.rerun()  # a paper arrived, or the import ended: tables, pickers, the sidebar's count
        if now is not None:
            st.caption(f":material/hourglass_top: Adding papers: {now}. Each one can be asked as soon as it is "
                       "added.")

    _follow()
    return going


def stop_if_empty(importing: bool) -> None:
    """On a page that needs papers, with none in the library: say so (or that the first is
    on its way: the page goes on by itself once it is in), and stop the page."""
    if importing:
        st.info("No paper is in the library yet: the first is being added, and this page goes on as soon as it is "
                "in.")
    else:
        st.info("The library is empty. Add papers on the Library page first.")
        st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()
