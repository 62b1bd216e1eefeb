"""The app in headless Chromium: upload a real paper, ask, and see the evidence boxed on the page."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pymupdf
import pytest
from conftest import PAPER_PAGES, ROOT, child_env, eval_paper, make_pdf, readback
from PIL import Image
from playwright.sync_api import expect
from servers import free_port

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ASSISTANT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Which optimizer settings (batch size, momentum) were used for training?"


LOGS: dict[str, Path] = {}  # what each app started here printed, by its URL


@contextmanager
def running_app(tmp_path_factory, extra_env: dict[str, str] | None = None, data_dir: Path | None = None):
    """The app (streamlit run app.py) on a free port with a new library (or the one in
    ``data_dir``); yields its URL."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (make test installs it)")
    port = free_port()
    env = child_env(**(extra_env or {}))
    env["ASSISTANT_DATA_DIR"] = str(data_dir or tmp_path_factory.mktemp("lib"))
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w+")
    LOGS[f"http://127.0.0.1:{port}"] = Path(log.name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail("the app did not start:\n" + log.read())
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_app(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def highlight_pixels(png: bytes) -> tuple[int, tuple[int, int, int, int] | None, tuple[int, int]]:
    """Count the orange frame's pixels and their bounding box in a screenshot."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = img.size
    px = img.load()
    xs, ys = [], []
    for y in range(h):
        for x in range(w):
            r, g, b = px[x, y]
            if r > 200 and 50 < g < 130 and b < 60:
                xs.append(x)
                ys.append(y)
    box = (min(xs), min(ys), max(xs), max(ys)) if xs else None
    return len(xs), box, (w, h)


VIEWER = 'iframe[title="streamlit_pdf_viewer.streamlit_pdf_viewer"]'


def paper_shown(page, seconds: float = 60) -> None:
    """Wait until the paper viewer has drawn a page with an outlined sentence on it."""
    frame = page.frame_locator(VIEWER).first
    frame.locator("canvas").first.wait_for(timeout=seconds * 1000)
    frame.locator("[id^=annotation-ev]").first.wait_for(timeout=seconds * 1000)
    page.wait_for_timeout(1000)


def viewer_box(page, sentence: int, seconds: float = 60) -> dict:
    """Where, on the screen, the viewer shows the first box of the answer's ``sentence``-th
    supporting sentence, once it is in the viewer's visible part, highlighted there (the
    page's canvas is drawn a moment after it is scrolled to) and still (the viewer scrolls
    to it smoothly; on a busy machine it was measured mid-scroll): waits for all three, up
    to ``seconds``."""
    frame = page.frame_locator(VIEWER).first
    box = frame.locator(f"[id^=annotation-ev{sentence}-]").first
    box.wait_for(timeout=seconds * 1000)
    deadline = time.time() + seconds
    before = None
    while True:
        # Both are read again each time: the viewer is drawn anew for each target, and while
        # the old one is taken away either box can be missing for a moment.
        outer = page.locator(VIEWER).first.bounding_box()
        inner = box.bounding_box()
        seen = (
            inner
            and outer
            and outer["y"] <= inner["y"]
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
        )
        still, before = inner == before, inner
        if seen and still and marked_pixels(page, inner) > 0.2 * inner["width"] * inner["height"]:
            return inner
        if time.time() > deadline:
            raise AssertionError(f"evidence {sentence} is not highlighted in the viewer's view: {inner} in {outer}")
        page.wait_for_timeout(250)


def marked_pixels(page, area: dict) -> int:
    """Pixels of a highlight's colour (passage 1's yellow, over the page or its blue shade)."""
    img = Image.open(io.BytesIO(page.screenshot(clip=area))).convert("RGB")
    return sum(1 for r, g, b in img.getdata() if r > 200 and g > 170 and b < 160 and r - b > 70)


def highlighted(png: bytes) -> float:
    """Share of a box's pixels in a highlight's colour (passage 1's yellow)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    yellow = sum(1 for r, g, b in img.getdata() if r > 200 and g > 170 and b < 160 and r - b > 70)
    return yellow / (img.width * img.height)


def test_upload_ask_and_see_the_evidence_boxed_on_page_4(server, browser):
    paper = eval_paper("ronneberger2015_unet.pdf")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1500})
    page.goto(server)
    page.get_by_role("heading", name="Library").wait_for(timeout=120_000)

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(paper))
    page.get_by_text("ronneberger2015_unet.pdf: added, 8 pages").first.wait_for(timeout=180_000)
    page.get_by_text("1 document").first.wait_for(timeout=60_000)
    # The table of documents renders after its heading; the screenshot should show it.
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    page.get_by_text("Delete a document").first.wait_for(timeout=60_000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Documents: 1", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "library.png"))

    ask(page, QUESTION)
    page.locator("mark.support").first.wait_for(timeout=180_000)
    expect(page.locator(".answer-text").first).to_contain_text("0.99", timeout=60_000)
    expect(page.locator(".answer-text").first).to_contain_text("momentum")
    expect(page.locator("mark.support").filter(has_text="momentum (0.99)")).not_to_have_count(0, timeout=60_000)

    # The paper beside the answer, opened at its first supporting sentence on page 4.
    expect(page.get_by_text("Evidence 1 of").first).to_contain_text("page 4", timeout=60_000)
    first = viewer_box(page, 0)  # in view and highlighted
    page.screenshot(path=str(ARTIFACTS / "ask.png"))
    above = {**first, "y": first["y"] - 40, "height": 30}
    assert marked_pixels(page, above) == 0, "the line above it is not"
    if page.get_by_role("button", name="Next ▶").first.is_enabled():
        page.get_by_role("button", name="Next ▶").first.click()
        expect(page.get_by_text("Evidence 2 of").first).to_be_visible(timeout=60_000)
        viewer_box(page, 1)  # scrolled into the viewer's view, highlighted

    page.get_by_text("Page image").first.click()
    image = page.get_by_test_id("stImage").locator("img").first
    image.wait_for(timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')].every(i => i.complete)")
    shot = image.screenshot()
    (ARTIFACTS / "page.png").write_bytes(shot)
    count, bbox, (w, h) = highlight_pixels(shot)
    assert count > 200, "the highlight frame is visible on the rendered page"
    # The frame surrounds a sentence: a band of a few lines, not the whole page.
    assert bbox is not None and (bbox[3] - bbox[1]) < 0.25 * h
    # Beside the box (above it) the page has no highlight colour at all.
    above = (0, max(0, bbox[1] - 200), w, max(1, bbox[1] - 10))
    strip = Image.open(io.BytesIO(shot)).convert("RGB").crop(above)
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    assert highlight_pixels(buf.getvalue())[0] == 0
    expect(page.get_by_text("ronneberger2015_unet.pdf, page 4").first).to_be_visible(timeout=60_000)

    # The paper with this answer's evidence, as PDF highlight annotations a reader keeps.
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Paper with this evidence (PDF)").first.click()
    assert info.value.suggested_filename == "ronneberger2015_unet.evidence.pdf"
    with pymupdf.open(info.value.path()) as doc:
        marks = [(p.number + 1, readback(p, a.rect), a.info["content"])
                 for p in doc for a in p.annots(types=[pymupdf.PDF_ANNOT_HIGHLIGHT])]
    assert any(number == 4 and "momentum" in text for number, text, _ in marks), marks
    assert all(QUESTION in note for *_, note in marks), [n[:200] for *_, n in marks]
    page.close()


BATCH_QUESTIONS = [QUESTION, "What data augmentation was used?", "Which hardware (GPU) was used for training?"]


def ask(page, question: str) -> None:
    """Go to the Ask page by the app's navigation and ask ``question`` there."""
    page.locator(".st-key-app_nav").get_by_text("Ask").click()
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")


def idle(page, settle_ms: int = 500) -> None:
    """Wait until the app has no script run going (its running icon gone), after giving the
    run an action started ``settle_ms`` to begin."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]')",
                           timeout=120_000)


def _ensure_paper(page, server) -> None:
    page.goto(server)
    page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Documents:", timeout=60_000)
    if "Documents: 1" not in page.get_by_test_id("stSidebar").inner_text():
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(eval_paper("ronneberger2015_unet.pdf")))
        page.get_by_text("1 document").first.wait_for(timeout=180_000)


def test_batch_then_review_and_export(server, browser, tmp_path):
    import csv

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1700})
    _ensure_paper(page, server)
    page.locator(".st-key-app_nav").get_by_role("link", name="Batch", exact=True).click()
    page.get_by_role("heading", name="Batch").wait_for(timeout=60_000)

    # A question set of our own, saved from pasted text.
    page.get_by_text("Question sets: the 28 competency questions").click()
    # Each field committed before the next (Enter, Ctrl+Enter), as a user's typing would
    # be: a value still uncommitted when the button is clicked races the button's rerun.
    page.get_by_label("Name").fill("browser-set")
    page.get_by_label("Name").press("Enter")
    idle(page)
    questions = page.get_by_label("Questions, one a line")
    questions.fill("\n".join(BATCH_QUESTIONS))
    questions.press("Control+Enter")
    idle(page)  # a click while that commit's run is still going was seen lost on a loaded machine
    page.get_by_role("button", name="Save question set").click()
    try:
        page.get_by_text("Saved 'browser-set' with 3 questions.").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "batch_save_failed.png"), full_page=True)
        raise

    form = page.get_by_test_id("stForm")
    form.get_by_test_id("stSelectbox").filter(has_text="Question set").click()
    page.get_by_role("option", name="browser-set").click()
    page.get_by_role("button", name="Run").click()
    page.get_by_text("3 of 3 answers").first.wait_for(timeout=180_000)

    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    box = grid.bounding_box()
    # Pinned "Paper" column (medium, 200 px), then Q1 (36 px: all 28 fit beside it); a header row of 35 px.
    page.mouse.click(box["x"] + 200 + 18, box["y"] + 35 + 17)
    page.get_by_text("Q1. " + QUESTION).first.wait_for(timeout=60_000)
    page.locator("mark.support").first.wait_for(timeout=60_000)
    paper_shown(page)
    expect(page.locator("mark.support").filter(has_text="momentum (0.99)")).not_to_have_count(0, timeout=60_000)
    page.get_by_text("3 of 3 answers").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "batch.png"))

    # Exports where the results are: the workbook from the Batch page.
    page.get_by_text("Export this run").click()
    idle(page)  # a click on a download button during a run was seen lost on a loaded machine
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Excel").click()
    from openpyxl import load_workbook

    info.value.save_as(tmp_path / "run.xlsx")  # openpyxl goes by the file name's ending
    book = load_workbook(tmp_path / "run.xlsx")
    grid_rows = list(book["Papers x questions"].iter_rows(values_only=True))
    assert grid_rows[0] == ("Paper", "Q1", "Q2", "Q3") and grid_rows[1][0] == "ronneberger2015_unet.pdf"
    assert len(list(book["Answers"].iter_rows())) == 1 + 3

    page.locator(".st-key-app_nav").get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("heading", name="Review").wait_for(timeout=60_000)
    page.get_by_role("textbox", name="Your name").fill("Ada")
    page.get_by_role("textbox", name="Your name").press("Enter")
    page.get_by_text("You reviewed 0 of 3 answers").wait_for(timeout=60_000)
    page.locator("mark.support").first.wait_for(timeout=60_000)
    verdict_form = page.get_by_test_id("stForm")
    verdict_form.get_by_text("correct", exact=True).click()
    verdict_form.get_by_text("supports").first.click()
    page.get_by_role("button", name="Save verdict").click()
    page.get_by_text("You reviewed 1 of 3 answers").wait_for(timeout=60_000)
    # The next answer to judge is shown, with one form of its own (no leftovers of the last).
    page.get_by_text("Q2. What data augmentation was used?").wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stFormSubmitButton]').length === 1",
                           timeout=30_000)
    paper_shown(page)  # the next answer's paper, its evidence drawn
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "review.png"))
    # The page went to the next answer's start, and the viewer drawn since did not pull it away.
    assert in_view(page, page.get_by_text("Q2. What data augmentation was used?").first)

    page.get_by_role("tab", name="Charts and export").click()
    page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=60_000)
    idle(page)
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="CSV").click()
    target = tmp_path / "batch.csv"
    info.value.save_as(target)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 3 and [r["question"] for r in rows] == BATCH_QUESTIONS
    assert rows[0]["verdict:Ada"] == "correct" and rows[0]["supporting_passages:Ada"]
    assert rows[0]["answered"] == "yes" and "4" in rows[0]["evidence_pages"].split()
    idle(page)
    with page.expect_download(timeout=180_000) as info:
        page.get_by_role("button", name="Annotated PDFs").click()
    with zipfile.ZipFile(info.value.path()) as z:
        assert sorted(z.namelist()) == ["README.txt", "ronneberger2015_unet.evidence.pdf"]
        with pymupdf.open(stream=z.read("ronneberger2015_unet.evidence.pdf")) as doc:
            notes = [a.info["content"] for p in doc for a in p.annots(types=[pymupdf.PDF_ANNOT_HIGHLIGHT])]
    assert any("correct (Ada)" in n for n in notes)  # the verdict just saved travels with the evidence
    page.get_by_test_id("stVegaLiteChart").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "review_export.png"))

    # The Batch page opened again: at its progress and table, though its cell's viewer loads below.
    page.locator(".st-key-app_nav").get_by_role("link", name="Batch", exact=True).click()
    page.get_by_text("3 of 3 answers").first.wait_for(timeout=60_000)
    paper_shown(page)
    page.wait_for_timeout(1500)
    assert in_view(page, page.get_by_text("3 of 3 answers").first), "the Batch page opens at its progress"
    page.close()


def in_view(page, locator) -> bool:
    """The element's top is within the browser's window."""
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


def test_a_page_opened_by_its_address_lists_the_apps_pages(server, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(server + "/review")
    page.get_by_role("heading", name="Review").wait_for(timeout=120_000)
    nav = page.locator(".st-key-app_nav")
    expect(nav.get_by_role("link", name="Batch", exact=True)).to_be_visible(timeout=60_000)
    # Not the file names of an automatic page list ("app", "ask", ...).
    expect(nav.get_by_role("link", name="app", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="ask", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no automatic list beside ours
    for name in ("Library", "Ask", "Settings"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    nav.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=60_000)
    assert page.url.endswith("/settings")
    page.close()


def asked_of_one_paper(browser, url: str, paper: Path, question: str):
    """A new page of the app at ``url``: ``paper`` dropped on the Library page, then
    ``question`` asked on the Ask page; returns the page."""
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(url)
    page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(paper))
    page.get_by_text("1 document").first.wait_for(timeout=180_000)
    ask(page, question)
    return page


def canvases_in_view(page) -> set[int]:
    """The viewer's page canvases (their numbers) that the viewer's visible area shows."""
    outer = page.locator(VIEWER).first.bounding_box()
    shown: set[int] = set()
    if outer is None:  # no viewer drawn at this moment
        return shown
    canvases = page.frame_locator(VIEWER).first.locator("canvas[id^=canvas_page_]")
    for i in range(canvases.count()):
        box = canvases.nth(i).bounding_box()
        if box and box["y"] < outer["y"] + outer["height"] and box["y"] + box["height"] > outer["y"]:
            shown.add(int(canvases.nth(i).get_attribute("id").rsplit("_", 1)[1]))
    return shown


def test_the_viewer_follows_the_evidence_across_distant_pages(tmp_path_factory, browser, tmp_path):
    """Evidence on page 2 and on page 9: the viewer opens at the first, and Next and
    Previous bring each one's box into the viewer's visible area, highlighted, on another
    page each time."""
    filler = [[f"Section {i}. The colonies of island {i} were visited in spring and counted from the shore.",
               f"Notes on weather and access for island {i} follow in the appendix."] for i in range(3, 9)]
    pages = [["Seabird colonies counted from drone images", "We count seabirds on remote islands."],
             ["We trained the network with stochastic gradient descent and a momentum of 0.9."],
             *filler,
             ["The learning rate of the optimizer was 0.01, lowered tenfold after 40 epochs."],
             ["Accuracy on held-out islands reached 91 percent."]]
    paper = tmp_path / "distant.pdf"
    make_pdf(pages, paper)
    with running_app(tmp_path_factory) as url:
        page = asked_of_one_paper(browser, url, paper,
                                  "Which optimizer, momentum and learning rate were used for training?")
        expect(page.get_by_text("Evidence 1 of").first).to_be_visible(timeout=180_000)
        caption = page.get_by_text("Evidence 1 of").first.inner_text()
        count = int(caption.split(" of ", 1)[1].split(":", 1)[0])
        assert count >= 2, caption
        seen = []
        for i in range(count):
            if i:
                page.get_by_role("button", name="Next ▶").first.click()
            expect(page.get_by_text(f"Evidence {i + 1} of").first).to_be_visible(timeout=60_000)
            viewer_box(page, i)  # in the viewer's visible area, highlighted, still
            seen.append((page.get_by_text(f"Evidence {i + 1} of").first.inner_text(), canvases_in_view(page)))
            page.screenshot(path=str(ARTIFACTS / f"viewer_follows_{i + 1}.png"))
        said = [s.rsplit("page ", 1)[1] for s, _ in seen]
        assert "2" in said and "9" in said, said
        first, last = seen[said.index("2")][1], seen[said.index("9")][1]
        assert first and last and first != last, seen  # another page is in view
        page.get_by_role("button", name="◀ Previous").first.click()
        expect(page.get_by_text(f"Evidence {count - 1} of").first).to_be_visible(timeout=60_000)
        viewer_box(page, count - 2)
        page.close()


def test_a_sentence_across_two_pages_is_boxed_on_both_in_the_paper_viewer(tmp_path_factory, browser, tmp_path):
    """A paper of its own (one library per test): its training sentence runs from the foot
    of page 1 onto page 2; both pieces are highlighted in the viewer, each on its page."""
    paper = tmp_path / "seabirds.pdf"
    make_pdf(PAPER_PAGES + [["A page about something else entirely, number %d." % i] for i in range(3, 7)], paper)
    with running_app(tmp_path_factory) as url:
        page = asked_of_one_paper(browser, url, paper, "Which momentum and how many epochs were used for training?")
        expect(page.locator(".answer-text").first).to_contain_text("120 epochs", timeout=180_000)
        expect(page.get_by_text("pages 1-3 of 6").first).to_be_visible(timeout=60_000)
        frame = page.frame_locator(VIEWER).first
        # Outlines on both pages of the sentence: page 1's canvas and page 2's.
        for shown in (1, 2):
            expect(frame.locator(f".page:has(#canvas_page_{shown}) [id^=annotation-ev]")).not_to_have_count(
                0, timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "viewer_two_pages.png"))
        boxes = frame.locator("[id^=annotation-ev]")
        on_page: dict[str, list[int]] = {}
        for i in range(boxes.count()):
            element = boxes.nth(i)
            sentence = element.get_attribute("id").split("-")[1]
            shown = element.evaluate("e => e.parentElement.querySelector('canvas').id")
            # Into the middle of the viewer's scrolling pane (the pane, not the app, scrolls).
            element.evaluate("e => e.scrollIntoView({block: 'center'})")
            deadline = time.time() + 30  # a page scrolled to is drawn on its canvas a moment later
            while (yellow := highlighted(element.screenshot())) <= 0.2 and time.time() < deadline:
                page.wait_for_timeout(500)
            assert yellow > 0.2, f"box {i} ({sentence}, {shown}) is highlighted"
            on_page.setdefault(sentence, []).append(int(shown.rsplit("_", 1)[1]))
        assert any(sorted(set(pages)) == [1, 2] for pages in on_page.values()), on_page
        page.close()


def test_papers_are_usable_as_each_is_added(tmp_path_factory, browser):
    """Four papers dropped at once: the first one added is in the Library's table and the
    sidebar's count before the others are, and the Ask page, opened meanwhile, offers the
    papers that are in and says how far the import is instead of "the library is empty";
    the others arrive there without a click."""
    names = ["ronneberger2015_unet.pdf", "he2015_resnet.pdf", "karpukhin2020_dpr_two_column.pdf",
             "yang2022_tableformer.pdf"]
    papers = [str(eval_paper(n)) for n in names]
    with running_app(tmp_path_factory) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(url)
        page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(papers)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text(re.compile(r"Documents: [123] "), timeout=240_000)
        first = int(re.search(r"Documents: (\d)", sidebar.inner_text()).group(1))
        expect(page.get_by_text(f"{first} document").first).to_be_visible(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "library_while_adding.png"))

        page.locator(".st-key-app_nav").get_by_text("Ask").click()
        page.get_by_role("heading", name="Ask").wait_for(timeout=60_000)
        expect(page.get_by_text(re.compile(r"Adding papers: \d of 4 added, \d being added"))).to_be_visible(
            timeout=60_000)
        expect(page.get_by_text("The library is empty")).to_have_count(0)
        expect(page.get_by_text("Papers to ask about")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "ask_while_adding.png"))
        expect(sidebar).to_contain_text("Documents: 4", timeout=300_000)
        expect(page.get_by_text("Adding papers:")).to_have_count(0, timeout=30_000)
        page.get_by_test_id("stMultiSelect").first.click()
        for name in names:
            expect(page.get_by_role("option").filter(has_text=name)).to_have_count(1, timeout=30_000)
        page.close()
        # The terminal: the app's address and real problems, nothing a newcomer would take for a fault.
        printed = LOGS[url].read_text()
        assert "ScriptRunContext" not in printed and "streamlit run [FILE_NAME]" not in printed, printed[-2000:]


def test_settings_refuse_an_llm_without_its_base_url_and_test_the_connection(server, browser):
    """A model typed, the base URL left on its hint: Save says what is missing and stores
    nothing, the form stays; Test connection says in words that nothing answers there."""
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    page.goto(server + "/settings")
    page.get_by_role("heading", name="Settings").wait_for(timeout=120_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Provider").click()
    page.get_by_role("option", name=re.compile("OpenAI-compatible")).click()
    base_url = page.get_by_role("textbox", name="Base URL")
    base_url.wait_for(timeout=60_000)
    assert base_url.input_value() == "" and base_url.get_attribute("placeholder").startswith("required")
    page.get_by_role("textbox", name="Model", exact=True).fill("qwen2.5-7b-instruct")
    page.get_by_role("button", name="Save language model").click()
    expect(page.get_by_text(re.compile("Not saved: .*needs a base URL"))).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "settings_refused.png"))
    expect(page.get_by_test_id("stSidebar")).to_contain_text("none (offline extractive answers)")

    base_url.fill(f"http://127.0.0.1:{free_port()}/v1")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text(re.compile("Nothing answers at http://127.0.0.1"))).to_be_visible(timeout=30_000)
    page.close()


def test_a_question_of_several_papers_is_answered_paper_by_paper(tmp_path_factory, browser, tmp_path):
    """Three papers, one question of all: a line per paper with its own mark (two answer,
    one does not), and the evidence of the paper picked, from that paper only."""
    from test_per_paper import PAPERS, QUESTION

    files = []
    for name, pages in PAPERS.items():
        make_pdf(pages, tmp_path / name)
        files.append(str(tmp_path / name))
    with running_app(tmp_path_factory) as url:
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(url)
        page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Documents: 3", timeout=240_000)
        ask(page, QUESTION)
        expect(page.get_by_text("Answered from 2 of the 3 papers asked")).to_be_visible(timeout=180_000)
        lines = page.locator("[class*=st-key-paper_answer_]")
        expect(lines).to_have_count(3)
        idle(page)
        expect(lines.nth(2)).to_contain_text("ArcticLog2019.pdf")
        said = [lines.nth(i).inner_text() for i in range(3)]
        assert "sgd.pdf" in said[0] + said[1] and "adam.pdf" in said[0] + said[1], said
        assert "ArcticLog2019.pdf" in said[2] and "Not found in this paper" in said[2], said
        assert "stochastic gradient descent" in next(s for s in said if "sgd.pdf" in s)
        assert "Adam" in next(s for s in said if "adam.pdf" in s)
        for _ in range(5):  # a dropdown opened while the page still redraws is closed by the redraw
            idle(page)
            page.get_by_test_id("stSelectbox").filter(has_text="Evidence from").click()
            option = page.get_by_role("option", name=re.compile("adam.pdf"))
            try:
                option.wait_for(timeout=5_000)
                break
            except Exception:
                page.keyboard.press("Escape")
        option.click()
        expect(page.locator(".passage-head").first).to_contain_text("adam.pdf", timeout=60_000)
        expect(page.locator("mark.support").filter(has_text="Adam optimizer")).not_to_have_count(0, timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "ask_by_paper.png"))
        page.close()


def test_a_long_chat_opens_at_its_latest_answer_and_draws_one_viewer(tmp_path_factory, browser, tmp_path,
                                                                    real_embedding):
    """A chat of eight answers, opened again: the page starts at the latest answer and stays
    there; only its evidence has a paper viewer, an older answer's is drawn when opened."""
    from assistant.config import Settings
    from assistant.workspace import open_workspace

    ws = open_workspace(Settings(data_dir=tmp_path / "lib"), embed_model=real_embedding)
    ws.library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf")
    questions = ["Which optimizer was used?", "How many epochs?", "What batch size?", "Which GPU?",
                 "How was the data augmented?", "Where is the code?", "How many images?", "What accuracy?"]
    chat = ws.chats.start("")
    for q in questions:
        ws.chats.add(chat.chat_id, ws.answerer.ask(q), [], {})
    with running_app(tmp_path_factory, data_dir=tmp_path / "lib") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/ask")
        last = page.get_by_test_id("stChatMessage").filter(has_text=questions[-1])
        last.wait_for(timeout=120_000)
        paper_shown(page)
        # The scroll to the latest answer runs once the page has drawn, later on a loaded machine.
        for _ in range(60):
            if in_view(page, last):
                break
            page.wait_for_timeout(500)
        assert in_view(page, last), "the page starts at the latest answer"
        page.wait_for_timeout(2000)
        expect(page.locator(VIEWER)).to_have_count(1)
        expect(page.get_by_text("Show the evidence")).to_have_count(len(questions) - 1)
        assert in_view(page, last), "the page stays at the latest answer"
        page.screenshot(path=str(ARTIFACTS / "long_chat.png"))
        page.get_by_text("Show the evidence").first.click()
        expect(page.locator(VIEWER)).to_have_count(2, timeout=60_000)
        page.close()


def test_the_batch_table_shows_all_28_questions_and_readable_names_at_1600_px(tmp_path_factory, browser, tmp_path,
                                                                             real_embedding):
    """A run of the 28 questions: at 1600 px all its columns fit without a horizontal
    scroll, and a paper's file name is not cut."""
    from assistant.config import Settings
    from assistant.work.questions import competency_questions
    from assistant.work.runs import RunSpec
    from assistant.workspace import open_workspace

    settings = Settings(data_dir=tmp_path / "lib")
    ws = open_workspace(settings, embed_model=real_embedding)
    name = "okamoto_vegetation_map_timelapse.pdf"
    doc = ws.library.ingest(make_pdf(PAPER_PAGES), name).record.doc_id
    ws.batches.open_run(RunSpec("cq28", tuple(competency_questions()), (doc,), ("main",), "cited", 4), settings)
    with running_app(tmp_path_factory, data_dir=tmp_path / "lib") as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "/batch")
        grid = page.get_by_test_id("stDataFrame").first
        grid.wait_for(timeout=120_000)
        idle(page)
        page.screenshot(path=str(ARTIFACTS / "batch_28.png"))
        # The grid's scroller always holds 10 px more than it shows; a hidden column is far more.
        overflow = grid.evaluate("""g => [...g.querySelectorAll('*')].filter(e => e.scrollWidth - e.clientWidth > 12)
                                          .map(e => e.className + ' ' + e.scrollWidth + '/' + e.clientWidth)""")
        assert not overflow, f"the table scrolls sideways: {overflow}"
        columns = grid.evaluate("g => g.getBoundingClientRect().width")
        assert columns <= 1600
        page.close()
