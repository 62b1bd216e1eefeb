"""A research assistant over a library of scientific PDFs: ingest, ask, and see the evidence.

The library never imports Streamlit; the app in ``app.py``/``views/`` and the CLI
(``python -m assistant``) both sit on top of it.
"""

__version__ = "0.1.0"
