"""``python -m assistant.tools.robustness FOLDER``: add every PDF of a folder of difficult files
to a fresh library and print what became of each, then check the library is intact.

With a ``hard_cases.jsonl`` beside the folder (or given with ``--cases``), each file is
given its password, compared with the handling the file expects, and its probe questions
and OCR ground truth are checked. Exit status 0 when every file ended as expected, with
no crash, no empty document and an intact library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings, load_settings
from ..errors import AssistantError, EncryptedPDFError
from ..library.library import Library
from ..text.normalize import fold

INDEXED, REJECTED, CRASHED = "indexed", "rejected", "crashed"


@dataclass(frozen=True)
class Case:
    """What a hard file is expected to become, from its ``hard_cases.jsonl`` record."""

    path: Path
    expected: str | None = None  # indexed / rejected; None when the file has no record
    password: str | None = None
    ground_truth: str = ""  # text OCR should find
    probes: tuple[dict, ...] = ()  # questions with verbatim evidence and page

    @classmethod
    def from_record(cls, path: Path, record: dict | None) -> Case:
        if record is None:
            return cls(path)
        observed = record.get("pymupdf_observed", "")
        # A file is expected to be refused when there is nothing in it to read: no bytes, or
        # no pages even for MuPDF's repair. Everything else, scans and garbage text
        # included, is expected to end as a usable document.
        empty = record.get("bytes") == 0 or ("page_count=0" in observed and not record.get("password"))
        return cls(
            path,
            expected=REJECTED if empty else INDEXED,
            password=record.get("password"),
            ground_truth=record.get("ground_truth_text", ""),
            probes=tuple(record.get("probe_qa") or ()),
        )


@dataclass
class Outcome:
    case: Case
    outcome: str
    doc_id: str = ""
    pages: int = 0
    chunks: int = 0
    ocr_pages: int = 0
    message: str = ""
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)  # further checks that failed
    probes: tuple[int, int] = (0, 0)  # probe questions with a retrieved passage on their page, of all

    @property
    def as_expected(self) -> bool:
        expected = self.case.expected or self.outcome
        return self.outcome == expected and self.outcome != CRASHED and not self.checks


def load_cases(folder: Path, cases_file: Path | None) -> list[Case]:
    records: dict[str, dict] = {}
    if cases_file and cases_file.is_file():
        for line in cases_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                records[Path(record["file"]).name] = record
    return [Case.from_record(p, records.get(p.name)) for p in sorted(folder.glob("*.pdf"))]


def _similar(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def try_case(library: Library, case: Case) -> Outcome:
    """Add one file (first without its password, when it has one) and check what came of it."""
    started = time.perf_counter()
    checks: list[str] = []
    data = case.path.read_bytes()
    if case.password:
        try:
            library.ingest(data, case.path.name)
            checks.append("opened without its password")
        except EncryptedPDFError as exc:
            if "password" not in str(exc):
                checks.append("refusal without password does not mention the password")
        try:
            library.ingest(data, case.path.name, password=case.password + "-wrong")
            checks.append("opened with a wrong password")
        except EncryptedPDFError as exc:
            if "wrong" not in str(exc):
                checks.append("a wrong password is not called wrong")
    try:
        result = library.ingest(data, case.path.name, password=case.password)
    except AssistantError as exc:
        message = str(exc)
        if case.path.name not in message:
            checks.append("message does not name the file")
        return Outcome(case, REJECTED, message=message, seconds=time.perf_counter() - started, checks=checks)
    except Exception as exc:  # what this script is here to find
        return Outcome(case, CRASHED, message=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    record = result.record
    text = library.document_text(record.doc_id).text
    if record.chunks == 0 or not text.strip():
        checks.append("indexed with no text (silent empty)")
    if case.ground_truth and _similar(fold(case.ground_truth), fold(text)[: len(case.ground_truth) * 2]) < 0.9:
        checks.append("OCR text differs from the ground truth")
    found = 0
    for probe in case.probes:
        missing, retrieved = _probe(library, record.doc_id, probe)
        checks.extend(missing)
        found += retrieved
    return Outcome(
        case,
        INDEXED,
        doc_id=record.doc_id,
        pages=record.pages,
        chunks=record.chunks,
        ocr_pages=record.ocr_pages,
        message="; ".join(record.notes),
        seconds=time.perf_counter() - started,
        checks=checks,
        probes=(found, len(case.probes)),
    )


def _probe(library: Library, doc_id: str, probe: dict) -> tuple[list[str], bool]:
    """Whether the probe's evidence lies on its page in the document's text (a failure if
    not; OCR may misread a few letters), and whether a top-4 passage comes from that page
    (reported, not required: it measures retrieval, not the handling of the file)."""
    from ..retrieval.retriever import retrieve

    text = library.document_text(doc_id)
    page = probe.get("page")
    if not page or page > len(text.page_starts):
        return [], False
    page_text = fold(text.text[text.page_starts[page - 1] : text.page_starts[page - 1] + text.page_lengths[page - 1]])
    failures = []
    for quote in probe.get("evidence", []):
        q = fold(quote)
        if q not in page_text and _best_window(q, page_text) < 0.85:
            failures.append(f"probe evidence not on page {page}: {quote[:40]}...")
    passages = retrieve(library, probe["question"], [doc_id], 4)
    return failures, any(span.page == page for p in passages for span in p.spans)


def _best_window(quote: str, text: str) -> float:
    """Best similarity of ``quote`` to a same-length window of ``text`` (OCR misreads a few letters)."""
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, quote, text, autojunk=False)
    best = 0.0
    for block in matcher.get_matching_blocks():
        start = max(0, block.b - block.a)
        window = text[start : start + len(quote)]
        best = max(best, SequenceMatcher(None, quote, window, autojunk=False).ratio())
    return best


def library_problems(library: Library, indexed: Sequence[str]) -> list[str]:
    """Everything that would make the library not what it claims: each listed document has
    its file, its text and exactly its chunks; nothing half-added is left over."""
    problems = []
    docs = {d.doc_id: d for d in library.documents()}
    for doc_id in indexed:
        if doc_id not in docs:
            problems.append(f"{doc_id} was added but is not listed")
    for doc_id, record in docs.items():
        if not library.file_path(doc_id).is_file():
            problems.append(f"{record.file_name}: stored file missing")
        stored = len(library.units(doc_id))
        if stored != record.chunks:
            problems.append(f"{record.file_name}: {stored} chunks stored, {record.chunks} listed")
    if library.chunks.count() != sum(d.chunks for d in docs.values()):
        problems.append("chunks stored that no listed document owns")
    if library.catalog.pending():
        problems.append("unfinished additions or deletions left in the log")
    strays = [p.name for p in library.files_dir.iterdir() if p.name.split(".")[0] not in docs]
    if strays:
        problems.append(f"stray files: {', '.join(strays[:5])}")
    return problems


def run(
    cases: Sequence[Case], settings: Settings, library: Library | None = None, echo: Callable[[str], None] = print
) -> tuple[list[Outcome], list[str]]:
    library = library or Library(settings, _embedding(settings))
    outcomes = []
    for case in cases:
        outcome = try_case(library, case)
        outcomes.append(outcome)
        echo(_row(outcome))
    return outcomes, library_problems(library, [o.doc_id for o in outcomes if o.outcome == INDEXED])


def _embedding(settings: Settings):
    from ..library.embeddings import load_embedding

    return load_embedding(settings.embedding)


HEADER = (
    f"{'file':<50} {'expected':<9} {'outcome':<9} {'pages':>5} {'chunks':>6} {'OCR':>4} {'probes':>6} {'s':>6}  message"
)


def _row(o: Outcome) -> str:
    mark = "ok" if o.as_expected else "FAIL"
    message = re.sub(r"\s+", " ", o.message)
    probes = f"{o.probes[0]}/{o.probes[1]}" if o.probes[1] else "-"
    line = (
        f"{o.case.path.name[:50]:<50} {o.case.expected or '-':<9} {o.outcome:<9} {o.pages:>5} {o.chunks:>6} "
        f"{o.ocr_pages:>4} {probes:>6} {o.seconds:>6.1f}  {mark}: {message[:160]}"
    )
    return line + "".join(f"\n{'':<50} check failed: {c}" for c in o.checks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.tools.robustness", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder of PDF files")
    parser.add_argument("--cases", type=Path, help="expected handling (default: hard_cases.jsonl beside the folder)")
    parser.add_argument("--no-ocr", action="store_true", help="read without OCR, as with ASSISTANT_PDF__OCR=false")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"{args.folder} is not a folder of PDF files.", file=sys.stderr)
        return 2
    cases_file = args.cases or args.folder.parent / "hard_cases.jsonl"
    cases = load_cases(args.folder, cases_file)
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        os.environ.pop("ASSISTANT_DATA_DIR", None)
        settings = load_settings(tmp)
        if args.no_ocr:
            settings = settings.model_copy(update={"pdf": settings.pdf.model_copy(update={"ocr": False})})
        print(f"{len(cases)} files from {args.folder}, expected handling from "
              f"{cases_file if cases_file.is_file() else '(none)'}; temporary library {tmp}")
        print(HEADER)
        outcomes, problems = run(cases, settings)
    good = sum(o.as_expected for o in outcomes)
    crashes = sum(o.outcome == CRASHED for o in outcomes)
    empties = sum(any("silent empty" in c for c in o.checks) for o in outcomes)
    print(
        f"\n{good}/{len(outcomes)} as expected; {crashes} crashes; {empties} silent empties; "
        f"indexed {sum(o.outcome == INDEXED for o in outcomes)}, rejected {sum(o.outcome == REJECTED for o in outcomes)}; "
        f"OCR on {sum(o.ocr_pages > 0 for o in outcomes)} files; "
        f"probe questions with a top-4 passage on their page: {sum(o.probes[0] for o in outcomes)}/"
        f"{sum(o.probes[1] for o in outcomes)}; {sum(o.seconds for o in outcomes):.0f} s"
    )
    print("library intact" if not problems else "library NOT intact:\n  " + "\n  ".join(problems))
    return 0 if good == len(outcomes) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
