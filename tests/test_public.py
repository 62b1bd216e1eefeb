"""The package's public surface: what ``import assistant`` names, and its docstring's example."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

import assistant


def test_the_entry_points_are_named_at_the_top():
    from assistant.errors import AssistantError
    from assistant.types import Answer, Passage
    from assistant.workspace import Workspace, open_workspace

    assert (assistant.AssistantError, assistant.Answer, assistant.Passage) == (AssistantError, Answer, Passage)
    assert (assistant.Workspace, assistant.open_workspace) == (Workspace, open_workspace)
    assert set(assistant.__all__) >= {"open_workspace", "Workspace", "Answer", "Passage", "AssistantError"}
    with pytest.raises(AttributeError, match="no attribute 'Library'"):
        assistant.Library  # noqa: B018


def test_importing_the_package_stays_light():
    """The first page imports light modules of the package; the package must not bring the
    model, Chroma, LlamaIndex or even numpy with it."""
    code = ("import sys, assistant, assistant.library.import_queue; "
            "print(sorted(m for m in ('torch', 'chromadb', 'llama_index.core', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_the_docstring_example_answers_with_boxed_sentences(settings, paper_pdf, real_embedding):
    ws = assistant.open_workspace(settings, embed_model=real_embedding)
    ws.library.ingest_file(paper_pdf)
    answer = ws.answerer.ask("Which optimizer and momentum were used for training?")
    found = [(p.n, h.spans[0].page, h.text) for p in answer.passages for h in p.highlights]
    assert any("stochastic gradient" in text for _, _, text in found)
    assert all(h.rects for p in answer.passages for h in p.highlights)
