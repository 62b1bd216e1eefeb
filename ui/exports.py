"""Download buttons for a run's results, offered where the results are (Batch, Review).

Each file is made when its button is clicked (Streamlit calls the function then), not on
every redraw: annotating every paper of a 500-paper run takes minutes, and a workbook of
14,000 answers seconds. The functions run outside the page's script, so they use the
library alone, never ``st``.
"""

from __future__ import annotations

import streamlit as st

from assistant.work.export import html_report, rows, run_zip, to_csv, to_json, to_xlsx
from assistant.work.runs import Run
from assistant.workspace import Workspace

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_buttons(ws: Workspace, run: Run, key: str) -> None:
    def gathered():
        return (ws.batches.results(run.run_id), ws.reviews.verdicts(run.run_id),
                ws.reviews.passage_verdicts(run.run_id))

    def csv_file() -> str:
        results, verdicts, passages = gathered()
        return to_csv(rows(run, results, verdicts, passages), run.made_with)

    def json_file() -> str:
        results, verdicts, passages = gathered()
        return to_json(run, rows(run, results, verdicts, passages))

    def html_file() -> str:
        return html_report(run, *gathered())

    def workbook() -> bytes:
        return to_xlsx(run, *gathered())

    def papers() -> bytes:
        results, verdicts, _ = gathered()
        data, _problems = run_zip(run, results, verdicts, ws.library)  # the zip's README lists them
        return data

    stem = f"batch-{run.run_id}"
    cols = st.columns(5)
    common = {"icon": ":material/download:", "on_click": "ignore"}
    cols[0].download_button("Excel", workbook, f"{stem}.xlsx", XLSX, key=f"{key}_xlsx", **common)
    cols[1].download_button("CSV", csv_file, f"{stem}.csv", "text/csv", key=f"{key}_csv", **common)
    cols[2].download_button("JSON", json_file, f"{stem}.json", "application/json", key=f"{key}_json", **common)
    cols[3].download_button("HTML report", html_file, f"{stem}.html", "text/html", key=f"{key}_html", **common)
    cols[4].download_button("Annotated PDFs", papers, f"{stem}-papers.zip", "application/zip", key=f"{key}_zip",
                            **common)
    st.caption("Excel: papers x questions, every answer with its quotes and pages, each reviewer's verdict. CSV "
               "and JSON: the same per answer. The HTML report is one file to send. Annotated PDFs: each paper "
               "with its evidence highlighted, a note on each highlight (question, answer, LLM, verdicts), in a "
               "zip. Every file says how the run was made.")
