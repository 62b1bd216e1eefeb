"""The index on a real Chroma server (``chroma run`` on localhost): same app, other store.

The library's own promises are run against both stores in test_library.py and
test_integration.py; here is what only a server has: sharing, moving a library there and
back, a token, a server that is down.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import PAPER_PAGES, make_pdf, on_server
from servers import free_port

from assistant.errors import StoreUnavailableError
from assistant.library.library import Library
from assistant.library.vectorstore import open_store
from assistant.retrieval.retriever import retrieve
from assistant.tools.cli import main as cli


def frogs_pdf() -> bytes:
    return make_pdf([["Frog calls were recorded with audio sensors in ponds.", "We used a recurrent network."]])


def test_libraries_sharing_a_server_keep_their_chunks_apart(settings, fake_embedding, chroma_endpoint, tmp_path):
    birds = Library(on_server(settings, chroma_endpoint), fake_embedding)
    other_settings = on_server(settings.model_copy(update={"data_dir": tmp_path / "other"}), chroma_endpoint)
    frogs = Library(other_settings, fake_embedding)
    birds.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf")
    frogs.ingest(frogs_pdf(), "frogs.pdf")
    assert birds.chunks.name != frogs.chunks.name
    assert birds.chunks.name.startswith("papers-") and birds.chunks.where.startswith("http://127.0.0.1:")
    found = retrieve(frogs, "How were the seabird images collected?", None, 4)
    assert found and {p.file_name for p in found} == {"frogs.pdf"}
    # Reopened by another process (here: another Library on the same folder), the same collection.
    assert Library(on_server(settings, chroma_endpoint), fake_embedding).chunks.name == birds.chunks.name


def test_a_library_moves_to_the_server_and_back(settings, fake_embedding, chroma_endpoint, monkeypatch, capsys):
    embedded = Library(settings, fake_embedding)
    kept = embedded.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    gone = embedded.ingest(frogs_pdf(), "frogs.pdf").record
    before = embedded.chunks.get(include=["embeddings", "documents", "metadatas"])

    monkeypatch.setenv("ASSISTANT_CHROMA__HOST", chroma_endpoint[0])
    monkeypatch.setenv("ASSISTANT_CHROMA__PORT", str(chroma_endpoint[1]))
    assert cli(["migrate", "--to", "server", "--quiet", "--data-dir", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"copied {len(before['ids'])} chunks from {settings.data_dir / 'chroma'} to http://127.0.0.1:" in out

    served = Library(on_server(settings, chroma_endpoint), fake_embedding)
    after = served.chunks.get(include=["embeddings", "documents", "metadatas"])
    by_id = dict(zip(after["ids"], zip(after["documents"], after["metadatas"], after["embeddings"])))
    assert set(by_id) == set(before["ids"])
    for i, doc, meta, vector in zip(before["ids"], before["documents"], before["metadatas"], before["embeddings"]):
        assert by_id[i][0] == doc and by_id[i][1] == meta and list(by_id[i][2]) == pytest.approx(list(vector))
    question = "Which momentum was used?"
    assert [p.text for p in retrieve(served, question, None, 2)] == [p.text for p in retrieve(embedded, question,
                                                                                             None, 2)]
    # Work goes on on the server; moving back leaves an exact copy of it in the folder.
    served.delete(gone.doc_id)
    assert cli(["migrate", "--to", "embedded", "--quiet", "--data-dir", str(settings.data_dir)]) == 0
    back = open_store(settings, served.catalog.library_id(), server=False).collection
    assert {m["doc_id"] for m in back.get(include=["metadatas"])["metadatas"]} == {kept.doc_id}
    assert back.count() == served.chunks.count() == kept.chunks


def test_moving_to_a_server_that_is_not_configured_says_so(settings, fake_embedding, capsys):
    Library(settings, fake_embedding)
    assert cli(["migrate", "--to", "server", "--quiet", "--data-dir", str(settings.data_dir)]) == 1
    assert "No Chroma server is configured: set ASSISTANT_CHROMA__HOST" in capsys.readouterr().err


def test_a_server_that_is_down_is_named_with_what_to_do(settings, fake_embedding):
    port = free_port()  # nothing listens there
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError, match=rf"Chroma server at http://127.0.0.1:{port} did not answer"):
        Library(on_server(settings, ("127.0.0.1", port)), fake_embedding)
    assert time.perf_counter() - started < 30
    assert not (settings.data_dir / "chroma").exists()  # no silent fallback to another store


class TokenProxy(BaseHTTPRequestHandler):
    """A reverse proxy that lets through only requests carrying the token (as a deployment
    puts before a Chroma server, which has no login of its own)."""

    upstream: tuple[str, int] = ("127.0.0.1", 0)
    header, expected = "Authorization", "Bearer s3cret"
    refused = 0

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get(self.header) != self.expected:
            type(self).refused += 1
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for k, v in reply.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815 - http.server's naming

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("header, sent", [("Authorization", "Bearer s3cret"), ("X-Chroma-Token", "s3cret")])
def test_the_token_reaches_the_server_and_a_wrong_one_is_refused_clearly(
    settings, fake_embedding, chroma_endpoint, header, sent
):
    TokenProxy.upstream, TokenProxy.header, TokenProxy.expected, TokenProxy.refused = chroma_endpoint, header, sent, 0
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), TokenProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    endpoint = ("127.0.0.1", proxy.server_address[1])
    try:
        good = on_server(settings, endpoint, token="s3cret", token_header=header)
        library = Library(good, fake_embedding)
        library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf")
        assert retrieve(library, "Which momentum was used?", None, 1)
        assert TokenProxy.refused == 0
        with pytest.raises(StoreUnavailableError, match="did not answer.*TOKEN"):
            Library(on_server(settings, endpoint, token="wrong", token_header=header), fake_embedding)
        assert TokenProxy.refused >= 1
    finally:
        proxy.shutdown()


def test_a_server_that_stops_mid_session_gives_a_clear_message_and_loses_nothing(
    settings, fake_embedding, tmp_path
):
    from servers import chroma_server

    from assistant.answering.answerer import Answerer

    (tmp_path / "own").mkdir()
    with chroma_server(tmp_path / "own", own=True) as endpoint:  # a server of this test's own, to stop
        library = Library(on_server(settings, endpoint), fake_embedding)
        kept = library.ingest(make_pdf(PAPER_PAGES), "seabirds.pdf").record
    # The server is gone now.
    with pytest.raises(StoreUnavailableError, match=r"Chroma server at http://127.0.0.1:\d+ did not answer"):
        Answerer(library, library.settings).ask("Which momentum was used?")
    with pytest.raises(StoreUnavailableError, match="did not answer"):
        library.ingest(frogs_pdf(), "frogs.pdf")
    assert [d.doc_id for d in library.documents()] == [kept.doc_id]  # no half document listed
    assert not any(p.suffix == ".pdf" and p.stem != kept.doc_id for p in library.files_dir.iterdir())
