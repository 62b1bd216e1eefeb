"""Library: add PDFs (files, a zip, a folder on the server) in the background, see what is
in the library, delete documents.

The app's first page: it is drawn before the library and the embedding model have loaded
(see ui/resources.py). Files dropped meanwhile are queued at once and added when the
model is ready; deleting and passwords wait for it.
"""

from datetime import UTC, datetime

import streamlit as st

from assistant.errors import AssistantError, EncryptedPDFError
from assistant.library.catalog import Catalog
from assistant.library.import_queue import ADDED, EXISTS, FAILED, LOCKED, QUEUED, ImportJob, Imports
from ui.resources import background_imports, ready, settings, workspace

current = settings()
loaded = ready()
ws = workspace() if loaded else None
library = ws.library if ws else None
imports = ws.imports if ws else Imports.of(current)
catalog = library.catalog if library else Catalog.in_folder(current.data_dir)
runner = background_imports(ws) if ws else None

st.title("Library")

if not loaded:
    @st.fragment(run_every=0.5)
    def wait_for_the_model() -> None:
        """Until the model is in: say so, then draw the whole page again."""
        if ready():
            st.rerun()
        st.info("Loading the embedding model and the library (once, when the app starts). You can drop papers "
                "already: they are added as soon as it is ready.", icon=":material/hourglass_top:")

    wait_for_the_model()

if "upload_round" not in st.session_state:
    st.session_state.upload_round = 0  # a new uploader (empty) once its files are queued
if "notices" not in st.session_state:
    st.session_state.notices = []  # (kind, message) said once, at the next run
upload_key = f"uploads_{st.session_state.upload_round}"


def queue_uploads() -> None:
    """Copy what was dropped into the data folder and queue it, before anything else runs:
    from here on, leaving or reloading the page cannot lose it."""
    files = st.session_state.get(upload_key) or []
    pdfs = [f for f in files if not f.name.lower().endswith(".zip")]
    try:
        if pdfs:
            imports.from_uploads([(f.name, f.getvalue()) for f in pdfs])
        for z in (f for f in files if f.name.lower().endswith(".zip")):
            imports.from_zip(z, z.name)
    except AssistantError as exc:
        st.session_state.notices.append(("error", str(exc)))
    if files:
        st.session_state.upload_round += 1
        if runner:
            runner.kick()


st.file_uploader(
    "Add papers (PDF files, or a zip of PDFs)", type=["pdf", "zip"], accept_multiple_files=True, key=upload_key,
    on_change=queue_uploads,
    help="They are added in the background: you can go on working, or close the page.",
)

root = current.imports.root


def queue_folder() -> None:
    """Queue the folder in the callback, before the page runs: a click elsewhere right after
    the button's would stop the page's run before it got that far, and lose the import."""
    try:
        imports.from_folder(st.session_state.get("import_folder", ""), root)
        if runner:
            runner.kick()
    except AssistantError as exc:
        st.session_state.notices.append(("error", str(exc)))


if root is not None:
    with st.expander(f"Import a folder from the server (under {root})"):
        with st.form("folder_import", clear_on_submit=True, border=False):
            st.text_input("Folder", placeholder="e.g. lab/2024", key="import_folder",
                          help=f"A folder under {root}; every PDF in it and its subfolders is added.")
            st.form_submit_button("Import the folder", icon=":material/drive_folder_upload:", on_click=queue_folder)

for kind, message in st.session_state.notices:
    getattr(st, kind)(message)
st.session_state.notices = []

KINDS = {ADDED: "success", EXISTS: "info", FAILED: "error", LOCKED: "warning"}
SHOWN_FILES = 12  # an import's outcomes beyond this are a table, not one box each


def describe(job: ImportJob) -> str:
    p = runner.progress(job.import_id) if runner else None
    text = f"{job.label}: file {min(job.done + 1, job.total)} of {job.total}"
    if p and p.current:
        text += f" · {p.current}"
    if p and p.per_minute:
        text += f" · {p.per_minute:.1f} files/min"
    return text


documents = catalog.all()
RECENT_S = 3600  # outcomes of imports finished this long ago are no longer shown
busy = (runner is not None and runner.busy()) or any(j.running for j in imports.jobs(limit=5))


@st.fragment(run_every=1.0 if busy else None)
def progress_view() -> None:
    """What is being added (polled only while something is), and the outcome of the imports
    of the last hour."""
    if catalog.count() != len(documents):
        st.rerun()  # a paper was added (or deleted): the table and the sidebar's count show it at once
    jobs = imports.jobs(limit=5)
    now = datetime.now(UTC)
    going = [j for j in jobs if j.finished is None and (j.running or (now - j.created).total_seconds() < RECENT_S)]
    if st.session_state.get("imports_going") and not any(j.running for j in going):
        st.session_state.imports_going = False
        st.rerun()  # an import ended: the table and the sidebar's count are drawn again
    st.session_state.imports_going = any(j.running for j in going)
    for job in going:
        if job.running:
            st.progress(job.done / job.total if job.total else 1.0, text=describe(job))
        elif job.origin == "terminal":
            st.caption(f"{job.label}: stopped after {job.done} of {job.total} files; run the same command again "
                       "to go on.")
        else:
            st.caption(f"{job.label}: {job.done} of {job.total} files, the rest queued.")
    for job in [j for j in jobs if j.finished is not None and (now - j.finished).total_seconds() < RECENT_S][:3]:
        outcome(job)


def outcome(job: ImportJob) -> None:
    files = [f for f in imports.files(job.import_id) if f.state != QUEUED]
    if len(files) <= SHOWN_FILES:
        if len(files) > 1:
            st.caption(f"{job.label}: {job.summary()}")
        for f in files:
            getattr(st, KINDS.get(f.state, "info"))(f.message or f"{f.name}: {f.state}")
            if f.like_id:
                like_warning(f.doc_id, f.like_id)
        return
    with st.expander(f"{job.label}: {job.summary()}", expanded=job.counts.get(FAILED, 0) > 0):
        st.dataframe([{"File": f.name, "Outcome": f.state, "Message": f.message} for f in files],
                     hide_index=True, width="stretch")
        # The table names every copy; a few get their delete button here, not hundreds.
        for f in [f for f in files if f.like_id][:SHOWN_FILES]:
            like_warning(f.doc_id, f.like_id)


def like_warning(doc_id: str, like_id: str) -> None:
    new, old = catalog.get(doc_id), catalog.get(like_id)
    if new is None or old is None or library is None:
        return  # one of them was deleted since: nothing left to decide (or the library is still loading)
    st.warning(f"{new.file_name} looks like the same paper as {old.file_name}: the text is nearly the same in "
               "other bytes. Keep both, or delete the new copy.")
    if st.button(f"Delete {new.file_name} (the copy added last)", key=f"drop_{doc_id}", icon=":material/delete:"):
        library.delete(doc_id)
        st.rerun()


progress_view()

# Protected files wait here for their password; it is used once and kept nowhere.
for file in imports.waiting_for_password() if library else []:
    with st.form(f"password_{file.import_id}_{file.n}", clear_on_submit=True):
        password = st.text_input(f"Password for {file.name}", type="password")
        opened, dropped = st.columns(2)
        if opened.form_submit_button("Open and add") and password:
            try:
                with open(file.path, "rb") as handle:
                    data = handle.read()
                with st.spinner(f"Adding {file.name}…"):
                    result = library.ingest(data, file.name, password=password)
            except EncryptedPDFError as exc:
                st.error(str(exc))
            except (AssistantError, OSError) as exc:
                st.error(str(exc))
                imports.record(file, FAILED, str(exc))
            else:
                r = result.record
                state = EXISTS if result.already_present else ADDED
                message = (f"{file.name}: already in the library (as {r.file_name})." if result.already_present else
                           f"{r.file_name}: added, {r.pages} pages, {r.chunks} passages in {result.seconds:.1f} s.")
                imports.record(file, state, message, r.doc_id)
                st.rerun()
        if dropped.form_submit_button("Leave it out"):
            imports.dismiss(file)
            st.rerun()

st.subheader(f"{len(documents)} document{'s' if len(documents) != 1 else ''}")
if not documents:
    st.info("The library is empty. Drop PDF files above to add them.")
    st.stop()

needle = st.text_input("Filter", placeholder="part of a file name or title", key="library_filter").strip().lower()
shown = [d for d in documents if needle in d.file_name.lower() or needle in d.title.lower()] if needle else documents
if needle:
    st.caption(f"{len(shown)} of {len(documents)} documents match.")
# One table widget however many documents: it scrolls and sorts in the browser.
st.dataframe(
    [
        {"Title": d.title, "File": d.file_name, "Pages": d.pages, "Passages": d.chunks,
         "Text": d.text_source, "Added": d.added.astimezone().strftime("%Y-%m-%d %H:%M"),
         "Notes": "; ".join(d.notes), "Id": d.doc_id}
        for d in shown
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

if library is None:
    st.stop()  # deleting needs the library: drawn once it has loaded

with st.expander("Delete a document"):
    by_id = {d.doc_id: d for d in shown}
    doomed = st.selectbox("Document", list(by_id), format_func=lambda i: f"{by_id[i].file_name} — {by_id[i].title}")
    confirm = st.checkbox("Yes, delete it with its passages and stored file", key="confirm_delete")
    if st.button("Delete", type="primary", disabled=not confirm or doomed is None):
        try:
            record = library.delete(doomed)
        except AssistantError as exc:
            st.error(str(exc))
        else:
            st.session_state.notices.append(("info", f"{record.file_name}: deleted."))
            st.session_state.pop("confirm_delete", None)
            st.rerun()
