"""The library knows nothing of Streamlit: pages call it, never the other way round."""

from __future__ import annotations

import ast

from conftest import ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_library_never_imports_streamlit_or_the_ui():
    files = sorted((ROOT / "assistant").rglob("*.py"))
    assert len(files) > 10
    for path in files:
        bad = imported_modules(path) & {"streamlit", "ui", "views"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_pages_do_not_reach_into_storage_directly():
    for path in sorted((ROOT / "views").glob("*.py")) + [ROOT / "app.py"]:
        bad = imported_modules(path) & {"chromadb", "pymupdf", "fitz", "sqlite3", "llama_index"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
