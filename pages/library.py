"""Library: add PDFs, see what is in the library, delete documents."""

import streamlit as st

from assistant.errors import AssistantError
from assistant.types import IngestProgress
from ui.resources import workspace

ws = workspace()
library = ws.library

st.title("Library")

STAGES = {"parsing": "reading the text", "chunking": "cutting into passages", "embedding": "embedding passages",
          "storing": "storing", "done": "done"}

if "ingest_log" not in st.session_state:
    st.session_state.ingest_log = []  # (kind, message) of files handled this session
if "ingested_ids" not in st.session_state:
    st.session_state.ingested_ids = set()  # upload ids already handled, so a rerun does not redo them

uploads = st.file_uploader(
    "Add papers (PDF)", type=["pdf"], accept_multiple_files=True, help="Drop one or more PDF files here."
)

earlier = len(st.session_state.ingest_log)
for upload in uploads or []:
    if upload.file_id in st.session_state.ingested_ids:
        continue
    st.session_state.ingested_ids.add(upload.file_id)
    with st.status(f"{upload.name}: reading the text…", expanded=True) as status:
        bar = st.progress(0.0)

        def show(p: IngestProgress, status=status, bar=bar) -> None:
            label = STAGES.get(p.stage, p.stage)
            if p.stage == "embedding" and p.total:
                label += f" {p.done}/{p.total}"
                bar.progress(min(1.0, p.done / p.total))
            elif p.stage in ("storing", "done"):
                bar.progress(1.0)
            status.update(label=f"{p.file_name}: {label}…")

        try:
            result = library.ingest(upload.getvalue(), upload.name, show)
        except AssistantError as exc:
            status.update(label=f"{upload.name}: not added", state="error")
            st.error(str(exc))
            st.session_state.ingest_log.append(("error", str(exc)))
            continue
        record = result.record
        if result.already_present:
            message = f"{upload.name}: already in the library (as {record.file_name}); nothing was added."
            st.session_state.ingest_log.append(("info", message))
        else:
            message = (f"{record.file_name}: added, {record.pages} pages, {record.chunks} passages "
                       f"in {result.seconds:.1f} s.")
            st.session_state.ingest_log.append(("success", message))
        bar.progress(1.0)
        status.update(label=message, state="complete", expanded=False)

if len(st.session_state.ingest_log) > earlier:
    st.rerun()  # so the sidebar and the table show what was just added; the log keeps the outcome

for kind, message in st.session_state.ingest_log[-10:]:
    getattr(st, kind)(message)

documents = library.documents()
st.subheader(f"{len(documents)} document{'s' if len(documents) != 1 else ''}")
if not documents:
    st.info("The library is empty. Drop PDF files above to add them.")
    st.stop()

st.dataframe(
    [
        {"Title": d.title, "File": d.file_name, "Pages": d.pages, "Passages": d.chunks,
         "Added": d.added.astimezone().strftime("%Y-%m-%d %H:%M"), "Id": d.doc_id}
        for d in documents
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "Title": st.column_config.TextColumn(width="large"),
        "File": st.column_config.TextColumn(width="medium"),
        "Pages": st.column_config.NumberColumn(width="small"),
        "Passages": st.column_config.NumberColumn(width="small"),
        "Added": st.column_config.TextColumn(width="small"),
        "Id": st.column_config.TextColumn(width="small"),
    },
)

with st.expander("Delete a document"):
    by_id = {d.doc_id: d for d in documents}
    doomed = st.selectbox("Document", list(by_id), format_func=lambda i: f"{by_id[i].file_name} — {by_id[i].title}")
    confirm = st.checkbox("Yes, delete it with its passages and stored file", key="confirm_delete")
    if st.button("Delete", type="primary", disabled=not confirm):
        try:
            record = library.delete(doomed)
        except AssistantError as exc:
            st.error(str(exc))
        else:
            st.session_state.ingest_log.append(("info", f"{record.file_name}: deleted."))
            st.session_state.pop("confirm_delete", None)
            st.rerun()
