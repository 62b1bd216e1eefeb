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
        bad = imported_modules(path) & {"streamlit", "ui", "pages"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_pages_do_not_reach_into_storage_directly():
    for path in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        bad = imported_modules(path) & {"chromadb", "pymupdf", "fitz", "sqlite3", "llama_index"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


# The library's folders in pipeline order: a module imports from its own folder, the
# top-level modules (config, errors, types, geometry, database, agreement) and earlier
# folders, never later ones, so the data flow reads off the folders.
STAGES = ("text", "pdf", "library", "retrieval", "answering", "work", "tools")
# Known exceptions, each with its reason; the list only ever shrinks.
BACKWARD: set[tuple[str, str]] = set()  # none left; a new one must say here why it cannot be avoided
TOP_LEVEL_MAY_IMPORT = {
    "workspace.py": set(STAGES),  # the composition root: builds one of everything
    "__main__.py": {"tools"},
    "types.py": {"pdf"},  # DocumentText's reading text and sources, computed on first use by pdf.layout
}


def _relative_targets(path):
    """The assistant-relative module paths (tuples of parts) a file imports relatively."""
    package = list(path.relative_to(ROOT / "assistant").parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            yield tuple(base + (node.module.split(".") if node.module else []))


def test_the_library_folders_import_only_earlier_stages():
    assistant = ROOT / "assistant"
    assert {p.name for p in assistant.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(STAGES)
    for path in sorted(assistant.rglob("*.py")):
        rel = path.relative_to(assistant)
        for target in _relative_targets(path):
            if not target or target[0] not in STAGES:
                continue  # a top-level module, or the package itself
            if len(rel.parts) == 1:
                allowed = TOP_LEVEL_MAY_IMPORT.get(rel.name, set())
                assert target[0] in allowed, f"{rel} imports the {target[0]} folder"
                continue
            here = rel.parts[0]
            if STAGES.index(target[0]) > STAGES.index(here):
                assert (rel.as_posix(), target[0]) in BACKWARD, f"{rel} imports {'.'.join(target)}, a later stage"
