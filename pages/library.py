"""Library: add PDFs, see what is in the library, delete documents."""

import streamlit as st

from assistant.errors import AssistantError, EncryptedPDFError
from assistant.types import IngestProgress
from ui.resources import workspace

ws = workspace()
library = ws.library

st.title("Library")

STAGES = {"reading": "reading page", "ocr": "OCR of page", "chunking": "cutting into passages",
          "embedding": "embedding passages", "waiting": "waiting", "storing": "storing", "done": "done"}

if "ingest_log" not in st.session_state:
    st.session_state.ingest_log = []  # (kind, message) of files handled this session
if "ingested_ids" not in st.session_state:
    st.session_state.ingested_ids = set()  # upload ids already handled, so a rerun does not redo them
if "locked" not in st.session_state:
    st.session_state.locked = {}  # upload id -> file name, for password-protected uploads waiting for it

uploads = st.file_uploader(
    "Add papers (PDF)", type=["pdf"], accept_multiple_files=True, help="Drop one or more PDF files here."
)


def add(upload, password: str | None = None) -> None:
    """Add one uploaded file, showing its progress; the outcome goes to the session's log."""
    with st.status(f"{upload.name}: reading…", expanded=True) as status:
        bar = st.progress(0.0)

        def show(p: IngestProgress, status=status, bar=bar) -> None:
            label = STAGES.get(p.stage, p.stage)
            if p.stage in ("reading", "ocr", "embedding") and p.total:
                # Reading (with OCR) is the first half of the bar, embedding the second.
                shown = p.done + 1 if p.stage != "embedding" and p.done < p.total else p.done
                label += f" {shown}/{p.total}"
                part = p.done / p.total
                bar.progress(min(1.0, part / 2 if p.stage != "embedding" else 0.5 + part / 2))
            elif p.stage in ("storing", "done"):
                bar.progress(1.0)
            if p.note:  # another process is writing to the library: say for whom and how long
                label = p.note
            status.update(label=f"{p.file_name}: {label}…")

        try:
            result = library.ingest(upload.getvalue(), upload.name, show, password=password)
        except EncryptedPDFError as exc:
            status.update(label=f"{upload.name}: needs its password", state="error")
            st.session_state.locked[upload.file_id] = upload.name
            st.session_state.ingest_log.append(("warning", str(exc)))
            return
        except AssistantError as exc:
            status.update(label=f"{upload.name}: not added", state="error")
            st.error(str(exc))
            st.session_state.ingest_log.append(("error", str(exc)))
            return
        st.session_state.locked.pop(upload.file_id, None)
        record = result.record
        if result.already_present:
            message = f"{upload.name}: already in the library (as {record.file_name}); nothing was added."
            st.session_state.ingest_log.append(("info", message))
        else:
            notes = "".join(f"; {n}" for n in record.notes)
            message = (f"{record.file_name}: added, {record.pages} pages, {record.chunks} passages "
                       f"in {result.seconds:.1f} s{notes}.")
            st.session_state.ingest_log.append(("success", message))
        bar.progress(1.0)
        status.update(label=message, state="complete", expanded=False)


earlier = len(st.session_state.ingest_log)
by_file_id = {u.file_id: u for u in uploads or []}
for upload in uploads or []:
    if upload.file_id in st.session_state.ingested_ids:
        continue
    st.session_state.ingested_ids.add(upload.file_id)
    add(upload)

# Protected files wait here for their password, as long as they stay in the upload box.
for file_id, name in list(st.session_state.locked.items()):
    upload = by_file_id.get(file_id)
    if upload is None:
        del st.session_state.locked[file_id]
        continue
    # A form that clears itself: the password is used once and kept nowhere.
    with st.form(f"password_{file_id}", clear_on_submit=True):
        password = st.text_input(f"Password for {name}", type="password")
        if st.form_submit_button("Open and add") and password:
            add(upload, password)

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
         "Text": d.text_source, "Added": d.added.astimezone().strftime("%Y-%m-%d %H:%M"),
         "Notes": "; ".join(d.notes), "Id": d.doc_id}
        for d in documents
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "Title": st.column_config.TextColumn(width="large"),
        "File": st.column_config.TextColumn(width="medium"),
        "Pages": st.column_config.NumberColumn(width="small"),
        "Passages": st.column_config.NumberColumn(width="small"),
        "Text": st.column_config.TextColumn(width="small", help="text layer, or text from OCR"),
        "Added": st.column_config.TextColumn(width="small"),
        "Notes": st.column_config.TextColumn(width="medium"),
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
