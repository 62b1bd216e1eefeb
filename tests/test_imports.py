"""Adding many PDFs at once: folders, zips and dropped files queued in the work database,
read in worker processes, embedded here; bad files reported while the others go on; an
import stopped by kill -9 taken up again; a zip or a folder path that tries to reach
outside where it may; the same paper saved twice named."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pymupdf
import pytest
from conftest import PAPER_PAGES, child_env, make_pdf
from test_integration import run_cli

from assistant.database import Database
from assistant.errors import AssistantError
from assistant.library.imports import ADDED, FAILED, LOCKED, QUEUED, BackgroundImports, Importer, Imports
from assistant.library.library import Library

ROOT = Path(__file__).resolve().parent.parent

TOPICS = [
    ["Frog calls were recorded with audio sensors in ponds.", "A recurrent network was trained",
     "with a batch size of 32 recordings for 40 epochs."],
    ["Bat echolocation calls were captured with ultrasonic detectors.",
     "A convolutional network classified the spectrograms", "with a batch size of 64 for 25 epochs."],
    ["Coral reef images were taken by divers at twelve sites.", "A segmentation network outlined each colony",
     "and was trained with the Adam optimizer for 60 epochs."],
]


def imports_of(settings) -> Imports:
    return Imports(Database.in_folder(settings.data_dir), settings.data_dir, settings.max_file_mb * 1_000_000)


def locked_pdf() -> bytes:
    return pymupdf.open(stream=make_pdf(PAPER_PAGES), filetype="pdf").tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="open-sesame", owner_pw="owner-pw")


def good_and_bad(folder: Path) -> list[str]:
    """Three papers and four files that are not (empty, not a PDF, cut short, locked)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, lines in enumerate(TOPICS):
        make_pdf([lines], folder / f"paper{n}.pdf")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.pdf").write_bytes(b"PK\x03\x04 a renamed docx")
    (folder / "sub").mkdir()
    (folder / "sub" / "cut.pdf").write_bytes(make_pdf(PAPER_PAGES)[:300])
    (folder / "sub" / "locked.pdf").write_bytes(locked_pdf())
    return [f"paper{n}.pdf" for n in range(len(TOPICS))]


def test_a_folder_of_good_and_bad_pdfs_from_the_command_line(tmp_path):
    data = tmp_path / "lib"
    good = good_and_bad(tmp_path / "in")
    done = run_cli("ingest", str(tmp_path / "in"), data_dir=data)
    assert done.returncode == 1, done.stdout + done.stderr  # some files were not added
    lines = done.stdout.splitlines()
    added = [line for line in lines if line.startswith("added")]
    rejected = [line for line in lines if line.startswith("rejected")]
    assert len(added) == 3 and len(rejected) == 4, lines
    assert all(any(name in line for line in added) for name in good)
    assert any("empty.pdf is empty" in line for line in rejected)
    assert any("notes.pdf is not a PDF file" in line for line in rejected)
    assert any("locked.pdf is password-protected" in line for line in rejected)
    assert any("cut.pdf" in line for line in rejected)
    assert "7 files: 3 added, 1 need a password, 3 not added" in done.stderr and "Traceback" not in done.stderr
    # The good ones are searchable: each answers a question about its own topic.
    for lines_of, question in zip(TOPICS, ["How were frog calls recorded?", "How were bat calls captured?",
                                           "Who took the coral reef images?"], strict=True):
        asked = run_cli("ask", question, "--k", "1", data_dir=data)
        assert asked.returncode == 0 and lines_of[0].split()[0] in asked.stdout, asked.stdout + asked.stderr
    # Run again: what was added is found, nothing is read twice.
    again = run_cli("ingest", str(tmp_path / "in"), data_dir=data)
    assert sum(line.startswith("exists") for line in again.stdout.splitlines()) == 3, again.stdout


def test_files_are_read_in_worker_processes_and_added_in_their_order(settings, fake_embedding, tmp_path):
    good_and_bad(tmp_path / "in")
    paths = sorted((tmp_path / "in").rglob("*.pdf"))
    library = Library(settings, fake_embedding)
    imports = imports_of(settings)
    import_id = imports.from_paths(paths, "test")
    seen = []
    progress = Importer(library, imports, workers=2).run(import_id, on_file=seen.append)
    assert [f.name for f in seen] == [p.name for p in paths], "outcomes come in the files' order"
    assert progress.done == progress.total == len(paths)
    states = {f.name: f.state for f in imports.files(import_id)}
    assert states == {"cut.pdf": FAILED, "locked.pdf": LOCKED, "empty.pdf": FAILED, "notes.pdf": FAILED,
                      "paper0.pdf": ADDED, "paper1.pdf": ADDED, "paper2.pdf": ADDED}
    job = imports.job(import_id)
    assert job.finished is not None and job.summary() == "3 added, 1 need a password, 3 not added"
    assert sorted(d.file_name for d in library.documents()) == ["paper0.pdf", "paper1.pdf", "paper2.pdf"]
    # The import cannot be run twice.
    with pytest.raises(AssistantError, match="another process, or is finished"):
        Importer(library, imports, workers=1).run(import_id)


def test_dropped_files_are_kept_until_handled_and_a_locked_one_until_its_password(settings, fake_embedding):
    library = Library(settings, fake_embedding)
    imports = imports_of(settings)
    import_id = imports.from_uploads([("a.pdf", make_pdf([TOPICS[0]])), ("locked.pdf", locked_pdf())])
    staged = [Path(f.path) for f in imports.files(import_id)]
    assert all(p.is_file() and p.is_relative_to(settings.data_dir / "imports") for p in staged)
    Importer(library, imports, workers=1).run(import_id)
    assert not staged[0].exists(), "a handled copy is removed"
    waiting = imports.waiting_for_password()
    assert [f.name for f in waiting] == ["locked.pdf"] and Path(waiting[0].path).is_file()
    imports.dismiss(waiting[0])
    assert imports.waiting_for_password() == [] and not staged[1].exists()


def test_a_zip_cannot_write_outside_its_folder_nor_past_the_size_limit(settings, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("../../escaped.pdf", make_pdf([TOPICS[0]]))
        z.writestr("/abs/olute.pdf", make_pdf([TOPICS[1]]))
        z.writestr("papers/big.pdf", b"%PDF-1.4 " + b"0" * 3_000_000)
        z.writestr("__MACOSX/papers/._x.pdf", b"resource fork")
        z.writestr("readme.txt", b"not a paper")
    imports = Imports(Database.in_folder(settings.data_dir), settings.data_dir, max_bytes=2_000_000)
    import_id = imports.from_zip(io.BytesIO(buffer.getvalue()), "papers.zip")
    files = imports.files(import_id)
    assert [(f.name, f.state) for f in files] == [("escaped.pdf", QUEUED), ("olute.pdf", QUEUED), ("big.pdf", FAILED)]
    assert "over the limit of 2 MB" in files[2].message
    staging = (settings.data_dir / "imports").resolve()
    assert all(Path(f.path).resolve().is_relative_to(staging) for f in files[:2])
    assert not (tmp_path / "escaped.pdf").exists() and not Path("/abs/olute.pdf").exists()
    with pytest.raises(AssistantError, match="not a readable zip file"):
        imports.from_zip(io.BytesIO(b"PK\x03\x04 not really"), "broken.zip")
    only_text = io.BytesIO()
    with zipfile.ZipFile(only_text, "w") as z:
        z.writestr("readme.txt", b"x")
    with pytest.raises(AssistantError, match="holds no PDF files"):
        imports.from_zip(io.BytesIO(only_text.getvalue()), "text.zip")


def test_a_folder_import_stays_under_the_import_root(settings, tmp_path):
    root = tmp_path / "shared"
    good_and_bad(root / "lab")
    outside = tmp_path / "private"
    outside.mkdir()
    make_pdf([TOPICS[2]], outside / "secret.pdf")
    (root / "lab" / "link.pdf").symlink_to(outside / "secret.pdf")
    (root / "escape").symlink_to(outside)
    imports = imports_of(settings)
    with pytest.raises(AssistantError, match="not set up"):
        imports.from_folder("lab", None)
    for attempt in ["../private", str(outside), "escape", "lab/../../private"]:
        with pytest.raises(AssistantError, match="outside the import folder"):
            imports.from_folder(attempt, root)
    with pytest.raises(AssistantError, match="There is no folder"):
        imports.from_folder("nothing-here", root)
    import_id = imports.from_folder("lab", root)
    names = sorted(f.name for f in imports.files(import_id))
    assert "link.pdf" not in names and len(names) == 7, names
    assert imports.job(import_id).label == "folder lab"


SCRIPT = """
import sys, time
from assistant.config import load_settings
from assistant.library.imports import BackgroundImports
from assistant.workspace import open_workspace
ws = open_workspace(load_settings(sys.argv[1]))
BackgroundImports(ws.library, ws.imports, 1).kick()
time.sleep(3600)
"""


def test_an_import_killed_midway_is_taken_up_by_the_next_app(settings, real_embedding, tmp_path):
    """The app's imports run on a thread of its process: kill -9 it after the first file
    is stored, and the next app process (here: this one) adds the rest, nothing twice."""
    imports = imports_of(settings)
    uploads = [(f"p{n}.pdf", make_pdf([lines * 30])) for n, lines in enumerate(TOPICS)]
    import_id = imports.from_uploads(uploads)
    env = child_env()
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCRIPT), str(settings.data_dir)], env=env)
    try:
        deadline = time.monotonic() + 300
        while not any(f.state == ADDED for f in imports.files(import_id)):
            assert proc.poll() is None and time.monotonic() < deadline, "the first file was never added"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert imports.job(import_id).finished is None
    library = Library(settings, real_embedding)
    background = BackgroundImports(library, imports, workers=1)
    background.kick()
    background.wait(300)
    job = imports.job(import_id)
    assert job.finished is not None and job.counts.get(QUEUED, 0) == 0, job
    assert sorted(d.file_name for d in library.documents()) == ["p0.pdf", "p1.pdf", "p2.pdf"]
    assert not any((settings.data_dir / "imports").rglob("*.pdf")), "the staged copies are gone"


def test_the_same_paper_in_other_bytes_is_named_and_another_is_not(settings, fake_embedding):
    library = Library(settings, fake_embedding)
    first = library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    doc = pymupdf.open(stream=make_pdf(PAPER_PAGES), filetype="pdf")
    doc.set_metadata({"title": "Saved again by a reference manager", "author": "someone"})
    resaved = doc.tobytes(garbage=3, deflate=True)
    assert resaved != make_pdf(PAPER_PAGES)
    again = library.ingest(resaved, "seabirds (1).pdf")
    assert not again.already_present and again.like is not None
    assert again.like.doc_id == first.doc_id and again.likeness > 0.9
    other = library.ingest(make_pdf([TOPICS[0] * 3]), "frogs.pdf")
    assert other.like is None
    # An import says so in the file's outcome.
    imports = imports_of(settings)
    doc.set_metadata({"title": "A third copy"})
    import_id = imports.from_uploads([("third.pdf", doc.tobytes(garbage=3))])
    Importer(library, imports, workers=1).run(import_id)
    [outcome] = imports.files(import_id)
    assert outcome.state == ADDED and outcome.like_id in {first.doc_id, again.record.doc_id}
    assert "looks like the same paper as seabirds" in outcome.message


def test_a_worker_that_dies_mid_read_costs_no_file(settings, fake_embedding, tmp_path):
    """Kill the reading worker while it reads a long paper: the files it may have held are
    read again one by one, and every file is added."""
    import psutil

    long_paper = tmp_path / "long.pdf"
    make_pdf([[f"Line {i} of page {p} about seabird colonies and drones." for i in range(40)] for p in range(300)],
             long_paper)
    short = [tmp_path / f"short{n}.pdf" for n in range(len(TOPICS))]
    for path, lines in zip(short, TOPICS, strict=True):
        make_pdf([lines], path)
    library = Library(settings, fake_embedding)
    imports = imports_of(settings)
    import_id = imports.from_paths([long_paper, *short], "test")
    killed = []

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for child in psutil.Process().children(recursive=True):
                if "spawn_main" in " ".join(child.cmdline()) or "multiprocessing" in " ".join(child.cmdline()):
                    if child.cpu_times().user > 0.5:  # it is reading, not starting
                        child.kill()
                        killed.append(child.pid)
                        return
            time.sleep(0.05)

    import threading

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    Importer(library, imports, workers=1).run(import_id)
    killer.join()
    assert killed, "no worker was seen reading"
    states = {f.name: f.state for f in imports.files(import_id)}
    assert states == {"long.pdf": ADDED, "short0.pdf": ADDED, "short1.pdf": ADDED, "short2.pdf": ADDED}, states
