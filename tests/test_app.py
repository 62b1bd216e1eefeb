"""Page flow with Streamlit's AppTest (no browser): real model, real Chroma, generated PDFs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PAPER_PAGES, ROOT, clear_settings_env, imports_left, loaded, make_pdf, settle
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.integration

APP = str(ROOT / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return loaded(at)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


def viewer(at: AppTest) -> dict:
    """The arguments the whole-paper viewer was given (AppTest does not render components)."""
    import json

    [shown] = [c for c in at.get("component_instance") if "viewer_" in c.proto.id]
    return json.loads(shown.proto.json_args)


def upload(at: AppTest, name: str, data: bytes) -> None:
    """Drop a file on the Library page and wait until it is handled in the background."""
    at.file_uploader[0].set_value((name, data, "application/pdf")).run()
    assert not at.exception, at.exception
    settle(at, Path(os.environ["ASSISTANT_DATA_DIR"]))


def test_library_upload_dedupe_bad_file_and_delete(app):
    assert app.title[0].value == "Library"
    assert "The library is empty" in texts(app)
    # AppTest keeps the sidebar in the tree of a session's first run only.
    assert "none (offline extractive answers)" in texts(AppTest.from_file(APP, default_timeout=180).run())

    data = make_pdf(PAPER_PAGES)
    upload(app, "seabirds.pdf", data)
    assert "seabirds.pdf: added, 2 pages" in texts(app)
    assert app.dataframe[0].value["File"].tolist() == ["seabirds.pdf"]

    upload(app, "copy.pdf", data)
    assert "copy.pdf: already in the library" in texts(app)
    assert len(app.dataframe[0].value) == 1

    upload(app, "broken.pdf", b"%PDF-1.4 nothing else")
    assert "broken.pdf could not be opened as a PDF" in texts(app)
    assert len(app.dataframe[0].value) == 1, "a rejected file leaves the library as it was"

    app.checkbox(key="confirm_delete").check().run()
    app.button[0].click().run()
    assert not app.exception
    assert "seabirds.pdf: deleted." in texts(app)
    assert "The library is empty" in texts(app)


def test_ask_answers_beside_evidence_and_switching_source_keeps_the_answer(tmp_path, monkeypatch):
    # Small chunks shown as they are, so the answer has several one-page passages to choose from.
    monkeypatch.setenv("ASSISTANT_CHUNKING__SIZE", "200")
    monkeypatch.setenv("ASSISTANT_CHUNKING__OVERLAP", "0")
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__WINDOW", "0")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(APP, default_timeout=180).run()
    upload(app, "seabirds.pdf", make_pdf(PAPER_PAGES))
    app.switch_page("pages/ask.py").run()
    assert app.title[0].value == "Ask"

    calls = []
    from assistant.answering.answerer import Answerer

    original = Answerer.ask

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Answerer, "ask", counting)
    app.chat_input[0].set_value("How many annotated images does the dataset hold?").run()
    assert not app.exception, app.exception
    body = texts(app)
    assert "4,200 annotated images" in body
    assert '<mark class="support"' in body
    shown = viewer(app)
    assert shown["annotations"], "the paper is shown with the supporting sentences outlined"
    assert shown["scroll_to_annotation"] == 1 and shown["width"] == "100%"
    assert len(calls) == 1
    [b for b in app.segmented_control if b.options == ["The paper", "Page image"]][0].set_value("Page image").run()
    assert len(app.get("image")) == 1, "the PDF page of the chosen passage is rendered as an image on request"
    [b for b in app.segmented_control if b.options == ["The paper", "Page image"]][0].set_value("The paper").run()

    picker = app.segmented_control[0]
    cited = [int(o.split("]")[0][1:]) for o in picker.options if o.endswith("✓")]
    assert len(picker.options) >= 2 and cited and picker.value == cited[0], "opens on the first cited passage"
    other = next(n for n in range(1, len(picker.options) + 1) if n != picker.value)
    before = texts(app)
    picker.set_value(other).run()
    assert not app.exception
    assert app.segmented_control[0].value == other
    assert texts(app) != before, "the second passage is shown"
    moved = viewer(app)
    if f"No sentence of passage [{other}] is marked" in texts(app):
        assert moved["scroll_to_page"] >= 1 and moved["scroll_to_annotation"] is None, "its page is shown"
    else:
        assert moved["scroll_to_annotation"] > 1, "the paper moves to the passage's first supporting sentence"
    assert len(calls) == 1, "choosing another source must not answer again"
    assert "4,200 annotated images" in texts(app)


def test_the_chat_and_the_papers_it_asked_of_come_back_after_a_reload(tmp_path, monkeypatch):
    from assistant.pdf.reader import content_hash

    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(APP, default_timeout=180).run()
    seabirds = make_pdf(PAPER_PAGES)
    upload(app, "seabirds.pdf", seabirds)
    upload(app, "owls.pdf", make_pdf([["A Paper On Owls", "Owls were recorded with 12 microphones."]]))
    app.switch_page("pages/ask.py").run()
    app.multiselect(key="scope").set_value([content_hash(seabirds)]).run()
    app.chat_input[0].set_value("How many annotated images does the dataset hold?").run()
    assert not app.exception, app.exception
    assert "4,200 annotated images" in texts(app) and "Asked of seabirds.pdf" in texts(app)
    chat = app.query_params["chat"]

    # A reload (a new session, the address without the chat) finds the chat and its papers again.
    again = AppTest.from_file(APP, default_timeout=180).run()
    again.switch_page("pages/ask.py").run()
    assert not again.exception, again.exception
    assert "4,200 annotated images" in texts(again) and "Asked of seabirds.pdf" in texts(again)
    assert again.multiselect(key="scope").value == [content_hash(seabirds)]
    assert again.query_params["chat"] == chat

    # A new chat starts empty, asks all papers, and the first is still there to open.
    [b for b in again.button if b.label == "New chat"][0].click().run()
    assert not again.exception, again.exception
    assert again.query_params["chat"] != chat
    assert "4,200 annotated images" not in texts(again)
    assert again.multiselect(key="scope").value == []
    assert len(again.selectbox(key=f"chat_pick_{again.query_params['chat']}").options) == 2


def test_settings_rejects_a_bad_template_and_saves_a_good_one(app):
    app.switch_page("pages/settings.py").run()
    assert app.title[0].value == "Settings"
    form_area = [t for t in app.text_area if t.label == "Template text"][0]
    name_box = [t for t in app.text_input if t.label == "Save as"][0]
    name_box.set_value("mine")
    form_area.set_value("No fields at all")
    [b for b in app.button if b.label == "Save template"][0].click().run()
    assert "must contain {context}, {question}" in texts(app)

    name_box = [t for t in app.text_input if t.label == "Save as"][0]
    form_area = [t for t in app.text_area if t.label == "Template text"][0]
    name_box.set_value("mine")
    form_area.set_value("Passages:\n{context}\nQuestion: {question}\nAnswer:")
    [b for b in app.button if b.label == "Save template"][0].click().run()
    assert not app.exception
    assert "mine" in app.selectbox(key="template_name").options


def test_pdf_text_and_names_are_escaped_not_rendered():
    from assistant.types import Answer, Highlight, PageSpan, Passage
    from ui.evidence_view import answer_html, passage_header, passage_html

    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    p = Passage(1, "d", f"{evil}.pdf", evil, f"before {evil} after", 0.5, 0, 40, [PageSpan(1, 0, 40)])
    p.highlights = [Highlight(evil, 7, 7 + len(evil), [PageSpan(1, 7, 7 + len(evil))])]
    for out in (passage_html(p), passage_header(p), answer_html(Answer("q", evil + " [1]", "cited", "x", [p]))):
        assert "<script>" not in out and "<img" not in out
        assert "&lt;script&gt;" in out
    assert '<mark class="support"' in passage_html(p)


def test_settings_switch_search_mode_and_llm_and_show_them(app, tmp_path):
    app.switch_page("pages/settings.py").run()
    search = [r for r in app.radio if r.label == "Search"][0]
    assert search.value == "hybrid"
    search.set_value("dense")
    [b for b in app.button if b.label == "Save answer settings"][0].click().run()
    assert not app.exception
    provider = [s for s in app.selectbox if s.label == "Provider"][0]
    provider.set_value("ollama").run()  # the provider's own fields are drawn
    assert [t.value for t in app.text_input if t.label == "Address"] == ["http://127.0.0.1:11434"]
    assert not [t for t in app.text_input if t.label in ("Base URL", "GGUF file", "API key")]
    [t for t in app.text_input if t.label == "Model"][0].set_value("llama3.2")
    [b for b in app.button if b.label == "Save language model"][0].click().run()
    assert not app.exception
    saved = __import__("json").loads((tmp_path / "lib" / "settings.json").read_text())
    assert saved["retrieval"]["mode"] == "dense"
    assert saved["llm"]["provider"] == "ollama" and saved["llm"]["model"] == "llama3.2"
    # A new session reads the saved settings and names the model in the sidebar.
    fresh = AppTest.from_file(APP, default_timeout=180).run()
    assert "llama3.2 via Ollama" in texts(fresh)


def test_parallel_requests_are_set_per_llm_on_the_settings_page(app, tmp_path):
    import json

    settings_file = tmp_path / "lib" / "settings.json"
    key = "sk-kept"
    settings_file.write_text(json.dumps({"extra_llms": {"qwen": {
        "provider": "openai", "model": "qwen", "base_url": "http://127.0.0.1:8000/v1", "api_key": key}}}))
    app.switch_page("pages/settings.py").run()
    assert not app.exception
    [s for s in app.selectbox if s.label == "Provider"][0].set_value("ollama").run()
    [t for t in app.text_input if t.label == "Model"][0].set_value("llama3.2")
    [n for n in app.number_input if n.label == "Parallel requests (batch)"][0].set_value(12)
    [b for b in app.button if b.label == "Save language model"][0].click().run()
    extra = [n for n in app.number_input if n.label.startswith("qwen: qwen via OpenAI-compatible server")][0]
    assert extra.value == 4  # the default
    extra.set_value(24)
    [b for b in app.button if b.label == "Save parallel requests"][0].click().run()
    assert not app.exception
    saved = json.loads(settings_file.read_text())
    assert saved["llm"]["max_parallel"] == 12
    # Only the limit changed: the entry's other fields, its key among them, are as they were.
    assert saved["extra_llms"]["qwen"] == {"provider": "openai", "model": "qwen",
                                           "base_url": "http://127.0.0.1:8000/v1", "api_key": key, "max_parallel": 24}


def test_a_half_filled_llm_setting_never_locks_anyone_out(tmp_path, monkeypatch):
    """A settings file with an OpenAI-compatible LLM but no base URL (and a value out of
    range beside it): every page still opens, the Settings page with its form and the
    problem above it; saving such an LLM is refused and the file keeps what it had."""
    import json

    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.chdir(ROOT)
    settings_file = tmp_path / "lib" / "settings.json"
    settings_file.parent.mkdir()
    stored = {"llm": {"provider": "openai", "model": "qwen"}, "retrieval": {"top_k": 0}}
    settings_file.write_text(json.dumps(stored))
    app = AppTest.from_file(APP, default_timeout=180).run()
    assert "needs a base URL" in texts(app)  # the sidebar says what is wrong (AppTest keeps it on a first run)
    app = loaded(app)
    assert app.title[0].value == "Library" and "The library is empty" in texts(app)

    app.switch_page("pages/settings.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Settings"
    errors = " ".join(e.value for e in app.error)
    assert "needs a base URL" in errors and "retrieval.top_k" in errors
    base_url = [t for t in app.text_input if t.label == "Base URL"][0]
    assert base_url.value == "" and base_url.placeholder.startswith("required")
    [b for b in app.button if b.label == "Save language model"][0].click().run()
    assert "Not saved" in texts(app) and "needs a base URL" in texts(app)
    assert json.loads(settings_file.read_text()) == stored

    app.switch_page("pages/ask.py").run()
    assert not app.exception and app.title[0].value == "Ask"
    assert "Mend it in Settings" in [p.proto.label for p in app.get("page_link")]

    app.switch_page("pages/settings.py").run()
    [t for t in app.text_input if t.label == "Base URL"][0].set_value("http://127.0.0.1:8000/v1")
    [b for b in app.button if b.label == "Save language model"][0].click().run()
    assert not app.exception
    assert json.loads(settings_file.read_text())["llm"].get("base_url") == "http://127.0.0.1:8000/v1", texts(app)


def test_an_invalid_environment_variable_is_said_not_thrown(tmp_path, monkeypatch):
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__TOP_K", "0")
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(APP, default_timeout=180).run()
    assert not app.exception, app.exception
    assert "environment variable holds a value that is not valid" in texts(app) and "top_k" in texts(app)


def test_saving_an_llm_setting_opens_no_library_again(app, tmp_path):
    """Only the LLM changed: the open library (its store, its encoder) serves on."""
    from ui import resources

    before = resources.start().result()
    app.switch_page("pages/settings.py").run()
    [s for s in app.selectbox if s.label == "Provider"][0].set_value("ollama").run()
    [t for t in app.text_input if t.label == "Model"][0].set_value("llama3.2")
    [b for b in app.button if b.label == "Save language model"][0].click().run()
    assert not app.exception
    loaded(app)
    after = resources.start().result()
    assert after is not before and after.settings.llm.model == "llama3.2"
    assert after.library is before.library


def test_ocr_can_be_turned_off_in_settings_and_a_scan_is_then_refused(app, tmp_path):
    import pymupdf

    app.switch_page("pages/settings.py").run()
    [c for c in app.checkbox if c.label.startswith("Read scanned pages")][0].uncheck()
    [b for b in app.button if b.label == "Save PDF settings"][0].click().run()
    assert not app.exception
    saved = __import__("json").loads((tmp_path / "lib" / "settings.json").read_text())
    assert saved["pdf"]["ocr"] is False

    # A page that is only a picture of text.
    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 400, 400), 0)
    pix.clear_with(255)
    page.insert_image(page.rect, pixmap=pix)
    app.switch_page("pages/library.py").run()
    upload(app, "scan.pdf", doc.tobytes())
    assert "scan.pdf has no text layer" in texts(app) and "Turn OCR on" in texts(app)
    assert "The library is empty" in texts(app)


def test_an_llm_server_that_is_down_gets_a_clear_message_and_a_try_again(tmp_path, monkeypatch):
    import threading
    from http.server import ThreadingHTTPServer

    from servers import free_port
    from test_llms import OpenAIProtocol

    port = free_port()  # nothing listens there yet
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.setenv("ASSISTANT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ASSISTANT_LLM__MODEL", "tiny")
    monkeypatch.setenv("ASSISTANT_LLM__BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("ASSISTANT_LLM__TIMEOUT", "3")
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(APP, default_timeout=180).run()
    upload(app, "seabirds.pdf", make_pdf(PAPER_PAGES))
    app.switch_page("pages/ask.py").run()
    app.chat_input[0].set_value("How were the images collected?").run()
    assert not app.exception, app.exception
    assert any("did not answer" in e.value and "Check that the server is running" in e.value for e in app.error)
    retry = next(b for b in app.button if b.label == "Try again")

    # The server comes up; trying again answers the same question.
    OpenAIProtocol.replies, OpenAIProtocol.requests = ["Answer:::\nWith drones at 30 metres [1].\nAnswer:::"], []
    server = ThreadingHTTPServer(("127.0.0.1", port), OpenAIProtocol)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        retry.click().run()
    finally:
        server.shutdown()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert "With drones at 30 metres" in texts(app)
    assert "How were the images collected?" in OpenAIProtocol.requests[0]["body"]["messages"][-1]["content"]


def test_a_server_folder_and_a_zip_are_added_in_the_background(tmp_path, monkeypatch):
    import io
    import zipfile

    import pymupdf

    clear_settings_env(monkeypatch)
    data = tmp_path / "lib"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_IMPORTS__ROOT", str(tmp_path / "shared"))
    lab = tmp_path / "shared" / "lab"
    lab.mkdir(parents=True)
    make_pdf(PAPER_PAGES, lab / "seabirds.pdf")
    make_pdf([["Frog calls were recorded with audio sensors in ponds."] * 3], lab / "frogs.pdf")
    (lab / "notes.pdf").write_bytes(b"PK\x03\x04 a renamed docx")
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(APP, default_timeout=180).run()

    [folder] = [t for t in app.text_input if t.label == "Folder"]
    folder.input("../..")
    [b for b in app.button if b.label == "Import the folder"][0].click().run()
    assert "is outside the import folder" in texts(app) and imports_left(data) == 0
    [folder] = [t for t in app.text_input if t.label == "Folder"]
    folder.input("lab")
    [b for b in app.button if b.label == "Import the folder"][0].click().run()
    settle(app, data)
    shown = texts(app)
    assert "frogs.pdf: added" in shown and "seabirds.pdf: added" in shown and "notes.pdf is not a PDF file" in shown
    assert sorted(app.dataframe[-1].value["File"]) == ["frogs.pdf", "seabirds.pdf"]

    # A zip holding the same paper saved again (other bytes, same text) and a member that tries to climb out.
    doc = pymupdf.open(stream=make_pdf(PAPER_PAGES), filetype="pdf")
    doc.set_metadata({"title": "Saved again"})
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("../seabirds-again.pdf", doc.tobytes(garbage=3))
    app.file_uploader[0].set_value(("papers.zip", packed.getvalue(), "application/zip")).run()
    settle(app, data)
    assert "seabirds-again.pdf looks like the same paper as seabirds.pdf" in texts(app)
    assert not (tmp_path / "seabirds-again.pdf").exists()
    assert len(app.dataframe[-1].value) == 3
    [b for b in app.button if b.label.startswith("Delete seabirds-again.pdf")][0].click().run()
    assert not app.exception, app.exception
    assert sorted(app.dataframe[-1].value["File"]) == ["frogs.pdf", "seabirds.pdf"]


def test_no_folder_import_unless_the_operator_sets_a_root(app):
    assert not [t for t in app.text_input if t.label == "Folder"]


def test_an_llm_answer_is_checked_sentence_by_sentence_on_the_ask_page(tmp_path, monkeypatch):
    """A sentence the passages do not support is flagged in words; a supported one's source
    opens its passage when clicked (the answer comes from an LLM server on localhost)."""
    import threading
    from http.server import ThreadingHTTPServer

    from servers import free_port
    from test_llms import OpenAIProtocol

    port = free_port()
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.setenv("ASSISTANT_CHUNKING__SIZE", "200")
    monkeypatch.setenv("ASSISTANT_CHUNKING__OVERLAP", "0")
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__WINDOW", "0")
    monkeypatch.setenv("ASSISTANT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ASSISTANT_LLM__MODEL", "tiny")
    monkeypatch.setenv("ASSISTANT_LLM__BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.chdir(ROOT)
    OpenAIProtocol.replies, OpenAIProtocol.requests = [
        "Answer:::\nThe images were collected with drones flying at 30 metres [1]. "
        "The drones were DJI Phantom 4 quadcopters bought in 2017 [1].\nAnswer:::"], []
    server = ThreadingHTTPServer(("127.0.0.1", port), OpenAIProtocol)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = AppTest.from_file(APP, default_timeout=180).run()
        upload(app, "seabirds.pdf", make_pdf(PAPER_PAGES))
        app.switch_page("pages/ask.py").run()
        app.chat_input[0].set_value("How were the images collected?").run()
    finally:
        server.shutdown()
    assert not app.exception, app.exception
    body = texts(app)
    assert '<span class="claim supported"' in body
    assert '<span class="claim not-found"' in body and "not found in the passages" in body
    assert "Checked sentence by sentence: 1 of 2 sentences supported by the passages, 1 not found in them" in body
    assert any("DJI Phantom" in m.value and "not found in the passages" in m.value for m in app.markdown)

    source = next(b for b in app.button if b.label.startswith("[") and "drones flying at 30 metres" in b.label)
    n = int(source.label[1:source.label.index("]")])
    source.click().run()
    assert not app.exception, app.exception
    assert app.segmented_control[0].value == n, "the supporting passage is opened"
    assert "drones flying at 30 metres" in texts(app)
    at = viewer(app)["scroll_to_annotation"]
    assert at is not None, "the paper is opened at the supporting sentence"
    evidence = next(c.value for c in app.caption if c.value.startswith("Evidence "))
    assert f"passage [{n}]" in evidence
