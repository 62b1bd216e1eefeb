"""The terminal interface, run as a user would: separate processes on one library."""

from __future__ import annotations

import json

import pytest
from conftest import PAPER_PAGES, make_pdf
from test_integration import run_cli

pytestmark = pytest.mark.integration


def test_ingest_list_ask_delete(tmp_path):
    data = tmp_path / "lib"
    papers = tmp_path / "in"
    papers.mkdir()
    make_pdf(PAPER_PAGES, papers / "seabirds.pdf")
    (papers / "notes.txt").write_text("not a paper")  # not a PDF: folders only contribute *.pdf
    (tmp_path / "broken.pdf").write_bytes(b"PK\x03\x04 a renamed docx")

    done = run_cli("ingest", str(papers), str(tmp_path / "broken.pdf"), data_dir=data)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("added") and "seabirds.pdf" in lines[0] and "2 pages" in lines[0]
    assert lines[1].startswith("rejected") and "broken.pdf is not a PDF file" in lines[1]
    assert "Traceback" not in done.stdout + done.stderr

    again = run_cli("ingest", str(papers / "seabirds.pdf"), data_dir=data)
    assert again.returncode == 0 and again.stdout.startswith("exists")

    listed = json.loads(run_cli("list", "--json", data_dir=data).stdout)
    assert len(listed) == 1
    doc = listed[0]
    assert set(doc) == {"doc_id", "file_name", "title", "pages", "chunks", "added"}
    assert (doc["file_name"], doc["pages"], doc["title"]) == ("seabirds.pdf", 2, "A Test Paper About Seabird Detection")

    asked = run_cli("ask", "How many annotated images does the dataset hold?", "--doc", doc["doc_id"][:6],
                    "--k", "2", "--json", data_dir=data)
    assert asked.returncode == 0, asked.stderr
    out = json.loads(asked.stdout)
    assert {"question", "answer", "template", "llm", "passages"} <= set(out)
    assert "4,200 annotated images" in out["answer"]
    assert len(out["passages"]) <= 2
    first = out["passages"][0]
    assert set(first) >= {"n", "doc_id", "file_name", "page", "pages", "text", "score", "highlights",
                          "highlighted_sentences"}
    assert any("4,200" in s for p in out["passages"] for s in p["highlighted_sentences"])
    box = next(b for p in out["passages"] for b in p["highlights"])
    assert set(box) == {"page", "x0", "y0", "x1", "y1"}

    missing = run_cli("ask", "anything", "--doc", "nope.pdf", data_dir=data)
    assert missing.returncode == 1 and "No document 'nope.pdf'" in missing.stderr

    deleted = run_cli("delete", "seabirds.pdf", data_dir=data)
    assert deleted.returncode == 0 and deleted.stdout.startswith("deleted")
    assert json.loads(run_cli("list", "--json", data_dir=data).stdout) == []
    assert not any((data / "files").iterdir())


def test_evaluate_prints_the_table_and_writes_rescorable_json(tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(PAPER_PAGES, pdfs / "seabirds.pdf")
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(d) for d in [
        {"pdf": "seabirds.pdf", "question": "What was the batch size?", "answer_keywords": ["16"],
         "evidence": ["The batch size was 16 images on one GPU."], "page": 2, "answerable": True,
         "cq_type": "hyperparameters"},
        {"pdf": "seabirds.pdf", "question": "Which quantum lattice spacing was used?", "answer_keywords": [],
         "evidence": [], "page": None, "answerable": False, "cq_type": "other"},
    ]) + "\n")
    out = tmp_path / "out.json"
    done = run_cli("evaluate", str(qa), "--pdf-dir", str(pdfs), "--k", "2", "--preset", "seed", "--preset", "int8",
                   "--json", str(out), data_dir=tmp_path / "lib")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert "default" in header and "seed" in header and "int8" in header
    assert "evidence hit@2" in done.stdout and "hit@2 hyperparameters" in done.stdout
    data = json.loads(out.read_text())
    default = data["presets"][0]
    assert default["summary"]["preset"] == "default" and default["summary"]["evidence_hit@2"] == 1.0
    item = default["items"][0]
    assert {"pdf", "question", "answerable", "passages", "answer"} <= set(item)
    assert {"text", "page", "pages", "highlighted_sentences"} <= set(item["passages"][0])
    assert (tmp_path / "lib" / "evaluation" / "presets" / "seed" / "catalog.sqlite3").exists()
    # Each preset ran with its own encoder: the int8 one really quantized.
    encoders = {p["summary"]["preset"]: p["summary"]["encoder"] for p in data["presets"]}
    assert encoders["default"].endswith("(float)") and encoders["seed"] == encoders["default"]
    assert encoders["int8"].endswith("(int8)")
