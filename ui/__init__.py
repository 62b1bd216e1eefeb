"""Streamlit glue shared by the pages: cached resources and widgets.

Importing it also keeps every page inside the app's shell (app.py: its navigation,
sidebar and loading). Streamlit reads a folder named pages/ beside the main script as an
older kind of multipage app until the first st.navigation call of the process: the
first page opened by its address after a start (/ask) then ran pages/ask.py alone,
without app.py. Every page imports this package first; on such a run it switches that
older mode off and runs again, through app.py, at the same address.
"""

from __future__ import annotations


def _through_the_app() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import streamlit as st

        PagesManager.uses_pages_directory = False
        st.rerun()


_through_the_app()
