"""``python -m assistant``: the library from a terminal, for scripts."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..config import load_settings
from ..errors import AssistantError
from .presets import PRESETS, apply_preset

log = logging.getLogger("assistant")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="library folder (default: $ASSISTANT_DATA_DIR or the per-user data folder)",
    )
    parser.add_argument("--workspace", metavar="NAME", help="work in this workspace's library (see ASSISTANT_WORKSPACES)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("ingest", help="add PDF files (or every PDF in folders) to the library")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--password", metavar="PW",
                   help="password of protected files (used to open them, never stored); - asks for it")
    _common(p)

    p = sub.add_parser("list", help="list the documents in the library")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    _common(p)

    p = sub.add_parser("delete", help="delete a document, its chunks and its stored file")
    p.add_argument("doc", metavar="DOC", help="document id, unique id prefix, or file name")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the library, with evidence")
    p.add_argument("question")
    p.add_argument("--doc", action="append", default=[], metavar="DOC", help="limit to this document (repeatable)")
    p.add_argument("--k", type=int, default=None, help="passages to retrieve (default: settings, 4)")
    p.add_argument("--template", default=None, help="prompt template name (default: settings, cited)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--pdf", metavar="OUT.pdf",
                   help="also write the paper with this answer's evidence highlighted (annotations with notes); "
                   "the paper is the --doc named, or the one the passages come from")
    _common(p)

    p = sub.add_parser("batch", help="ask a question set of papers; resumes a run made before")
    p.add_argument("--questions", required=True, metavar="FILE|NAME",
                   help="a .txt (one question a line) or .csv file, or a saved set's name (cq28: the 28 "
                   "competency questions)")
    p.add_argument("--doc", action="append", default=[], metavar="DOC",
                   help="paper to ask (repeatable; default: every paper in the library)")
    p.add_argument("--llm", action="append", default=[], metavar="NAME",
                   help="LLM to ask (repeatable): main, or a name from extra_llms (default: main)")
    p.add_argument("--k", type=int, default=None, help="passages per question (default: settings, 4)")
    p.add_argument("--template", default=None, help="prompt template name (default: settings, cited)")
    p.add_argument("--out", metavar="OUT", help="write the answers here: .csv, .json, .html (a report), .xlsx "
                   "(a workbook) or .zip (each paper as a PDF with its evidence highlighted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(p)

    p = sub.add_parser("evaluate", help="score retrieval, highlights and answers against a QA file")
    p.add_argument("qa", metavar="QA.jsonl", help="questions with evidence, in the format of dev_qa.jsonl")
    p.add_argument("--pdf-dir", required=True, metavar="DIR", help="folder holding the PDFs the QA file names")
    p.add_argument("--k", type=int, default=None, help="passages per question (default: settings, 4)")
    p.add_argument("--preset", action="append", default=[], metavar="NAME",
                   help="settings preset to compare with the default (repeatable): " + ", ".join(PRESETS))
    p.add_argument("--json", metavar="OUT", help="write the summary and every item's passages and answer here")
    p.add_argument("--claims", action="store_true",
                   help="instead, measure the claim check: answers assembled from the items' evidence (supported "
                   "claims) and evidence of other papers (unsupported ones); prints precision and recall of "
                   "'not found' (with --json, every claim and its verdict)")
    _common(p)

    p = sub.add_parser("judge-answers", help="decide for each answer of a CSV whether it was answered from the paper")
    p.add_argument("csv", metavar="IN.csv", help="a CSV with question and answer columns (others are kept); with a "
                   "decision column (yes/no), agreement with it is printed")
    p.add_argument("--out", required=True, metavar="OUT.csv",
                   help="IN plus answered (yes/no) and confidence columns, rows in the same order")
    _common(p)

    p = sub.add_parser("migrate", help="copy the library's chunks between its folder and a Chroma server")
    p.add_argument("--to", required=True, choices=["server", "embedded"],
                   help="server: from the data folder to the server that ASSISTANT_CHROMA__HOST/PORT name; "
                   "embedded: back from that server into the data folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(p)
    return parser


def pdf_paths(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf"))
        else:
            found.append(path)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.data_dir)
        if args.workspace:
            from ..workspaces import workspace_dir

            settings = load_settings(workspace_dir(settings.data_dir, args.workspace))
        if args.verb == "list":
            return _list(settings, args)
        if args.verb == "evaluate":
            return _evaluate(settings, args)
        if args.verb == "migrate":
            return _migrate(settings, args)
        if args.verb == "judge-answers":
            return _judge_answers(settings, args)
        from ..workspace import open_workspace

        workspace = open_workspace(settings)
        if args.verb == "ingest":
            return _ingest(workspace, args)
        if args.verb == "delete":
            record = workspace.library.delete(workspace.library.resolve(args.doc).doc_id, _say_waiting(args.doc))
            print(f"deleted {record.doc_id} {record.file_name}")
            return 0
        if args.verb == "ask":
            return _ask(workspace, args)
        if args.verb == "batch":
            return _batch(workspace, args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


def _say_waiting(what: str):
    """Tell a terminal, every ten seconds, that a write waits for another process."""
    def waiting(seconds: float, holder: str) -> None:
        if int(seconds) % 10 == 0:
            print(f"waiting   {what}: {seconds:.0f} s for {holder} to finish writing to the library", file=sys.stderr)
    return waiting


def _migrate(settings, args) -> int:
    from tqdm import tqdm

    from ..library.catalog import Catalog
    from ..library.chunks import LibraryLock
    from ..library.vectorstore import copy_library

    to_server = args.to == "server"
    catalog = Catalog.in_folder(settings.data_dir)
    library_id = catalog.library_id()
    lock = LibraryLock(settings.data_dir, settings.lock_timeout_s)
    with lock.writing(f"copying the chunks to the {args.to} store", _say_waiting("migrate")), \
            tqdm(desc="chunks copied", unit="chunk", disable=args.quiet, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = copy_library(settings, library_id, to_server, progress)
        catalog.bump()  # processes with the copied-to store open look again
    print(f"copied {report.chunks} chunks from {report.source} to {report.target}")
    if to_server:
        print("The app uses the server while ASSISTANT_CHROMA__HOST is set; the copy in the data folder is kept.")
    else:
        print("Clear ASSISTANT_CHROMA__HOST to use the data folder again; the server's copy is kept.")
    return 0


def _list(settings, args) -> int:
    from ..library.catalog import Catalog

    docs = Catalog.in_folder(settings.data_dir).all()
    if args.json:
        print(json.dumps([d.to_json() for d in docs], indent=2))
        return 0
    if not docs:
        print(f"The library in {settings.data_dir} is empty. Add papers with `python -m assistant ingest PATH`.")
        return 0
    for d in docs:
        print(f"{d.doc_id}  {d.pages:>4} pages  {d.chunks:>5} chunks  {d.added:%Y-%m-%d %H:%M}  {d.file_name}  {d.title}")
    return 0


def _ingest(workspace, args) -> int:
    from ..library.imports import ADDED, EXISTS, QUEUED, Importer, ImportFile

    paths = pdf_paths(args.paths)
    if not paths:
        print("error: no PDF files found in " + ", ".join(args.paths), file=sys.stderr)
        return 1
    password = args.password
    if password == "-":
        import getpass

        password = getpass.getpass("PDF password: ")
    settings = workspace.settings
    library = workspace.library
    imports = workspace.imports
    label = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files from a terminal"
    import_id = imports.from_paths(paths, label)
    by_n = dict(enumerate(paths))
    failed = 0

    def said(f: ImportFile) -> None:
        nonlocal failed
        path = by_n[f.n]
        if f.state == ADDED:
            r = library.catalog.get(f.doc_id)
            notes = "".join(f"; {n}" for n in r.notes) if r else ""
            size = f"{r.pages} pages, {r.chunks} chunks, " if r else ""
            like = library.catalog.get(f.like_id) if f.like_id else None
            looks = f"; looks like the same paper as {like.file_name} ({like.doc_id})" if like else ""
            print(f"added     {f.doc_id}  {path}  {size}{f.seconds:.1f} s{notes}{looks}", flush=True)
        elif f.state == EXISTS:
            print(f"exists    {f.doc_id}  {path}  (already in the library)", flush=True)
        else:
            failed += 1
            print(f"rejected  {path}: {f.message}", flush=True)

    said_at = {"waiting": -10.0}

    def progress(p) -> None:
        # Another process is writing to the library: say so every ten seconds.
        if p.current.split(": ", 1)[-1].startswith("waiting") and time.monotonic() - said_at["waiting"] >= 10:
            said_at["waiting"] = time.monotonic()
            print(f"waiting   {p.current}", file=sys.stderr)

    workers = min(settings.imports.workers, len(paths))
    try:
        Importer(library, imports, workers).run(import_id, on_progress=progress, on_file=said, password=password)
    except KeyboardInterrupt:
        left = len(imports.files(import_id, [QUEUED]))
        print(f"\nstopped: {len(paths) - left} of {len(paths)} files handled; run the same command again to go on "
              "(what was added is found and skipped).", file=sys.stderr)
        return 130
    if len(paths) > 1:
        print(f"{len(paths)} files: {imports.job(import_id).summary()}", file=sys.stderr)
    return 1 if failed else 0


def _ask(workspace, args) -> int:
    library = workspace.library
    doc_ids = [library.resolve(ref).doc_id for ref in args.doc] or None
    pdf_doc = _pdf_paper(args, doc_ids)
    answer = workspace.answerer.ask(args.question, doc_ids, args.k, args.template)
    if args.pdf:
        _write_annotated(workspace, answer, pdf_doc, Path(args.pdf))
    if args.json:
        print(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(answer.text)
    if answer.dropped_citations:
        print(f"(removed citations of passages that do not exist: {answer.dropped_citations})")
    for claim in answer.unsupported:
        print(f"(not found in the passages: {claim.text})")
    for claim in answer.claims:
        if claim.miscited:
            print(f"(cites {', '.join(f'[{n}]' for n in claim.miscited)}, which does not support: {claim.text})")
    print(f"\n[{answer.llm}; template {answer.template}; {answer.seconds:.1f} s]")
    for p in answer.passages:
        pages = ",".join(map(str, p.pages))
        print(f"\n[{p.n}] {p.file_name} p.{pages} (similarity {p.score:.2f})")
        for h in p.highlights:
            print(f"    > {h.text}")
    return 0


def _pdf_paper(args, doc_ids: list[str] | None) -> str | None:
    """The paper ``--pdf`` annotates: checked before the question is asked, so a wrong
    call costs no LLM request."""
    if not args.pdf:
        return None
    if not args.pdf.lower().endswith(".pdf"):
        raise AssistantError(f"--pdf {args.pdf}: give a file name ending in .pdf.")
    if doc_ids and len(set(doc_ids)) > 1:
        raise AssistantError("--pdf writes one paper: name one --doc (the answer's passages may come from several).")
    return doc_ids[0] if doc_ids else None


def _write_annotated(workspace, answer, doc_id: str | None, out: Path) -> None:
    from ..work.export import answer_pdf

    papers = list(dict.fromkeys(p.doc_id for p in answer.passages))
    if doc_id is None:
        if len(papers) != 1:
            raise AssistantError(f"The passages come from {len(papers)} papers; name the one to annotate with --doc.")
        doc_id = papers[0]
    done = answer_pdf(workspace.library, workspace.settings, answer, doc_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(done.pdf)
    print(f"wrote {out}: {workspace.library.resolve(doc_id).file_name} with {done.highlights} highlight(s)",
          file=sys.stderr)


def _evaluate(settings, args) -> int:
    from ..workspace import open_workspace
    from .evaluate import evaluate, format_table, read_qa, write_json

    items = read_qa(Path(args.qa))
    if args.claims:
        return _evaluate_claims(settings, args, items)
    names = ["default"] + [p for p in args.preset if p != "default"]
    base = settings.model_copy(update={"data_dir": settings.data_dir / "evaluation"})
    summaries = []
    encoders: dict[str, object] = {}  # one model for every preset with the same embedding settings
    for name in names:
        preset = apply_preset(base, name)
        if args.k:
            preset = preset.model_copy(update={"retrieval": preset.retrieval.model_copy(update={"top_k": args.k})})
        key = preset.embedding.model_dump_json()
        workspace = open_workspace(preset, embed_model=encoders.get(key))
        encoders[key] = workspace.library.embed_model
        print(f"{name}: {len(items)} questions, library in {preset.data_dir}", file=sys.stderr)
        summaries.append(evaluate(workspace, items, Path(args.pdf_dir), preset.retrieval.top_k, name))
    print(format_table(summaries))
    if args.json:
        write_json(Path(args.json), summaries)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def _evaluate_claims(settings, args, items) -> int:
    from ..workspace import open_workspace
    from . import evaluate_claims

    preset = settings.model_copy(update={"data_dir": settings.data_dir / "evaluation"})
    k = args.k or preset.retrieval.top_k
    workspace = open_workspace(preset)
    print(f"claim check: {len(items)} questions, library in {preset.data_dir}", file=sys.stderr)
    outcomes = evaluate_claims.run(workspace, items, Path(args.pdf_dir), k)
    print(evaluate_claims.format_table(evaluate_claims.summary(outcomes)))
    if args.json:
        Path(args.json).write_text(json.dumps(evaluate_claims.outcomes_json(outcomes), indent=2, ensure_ascii=False),
                                   encoding="utf-8")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def _judge_answers(settings, args) -> int:
    from ..answering.answered import agreement, read_answers_csv, shared_judge, write_judged_csv
    from ..library.embeddings import load_embedding

    source, out = Path(args.csv), Path(args.out)
    fields, rows = read_answers_csv(source)
    judge = shared_judge(load_embedding(settings.embedding), settings.embedding)
    started = time.perf_counter()
    verdicts = judge.verdicts([(r["question"], r["answer"]) for r in rows])
    seconds = time.perf_counter() - started
    write_judged_csv(out, fields, rows, verdicts)
    print(f"judged {len(rows)} answers in {seconds:.1f} s ({1000 * seconds / max(1, len(rows)):.0f} ms each); "
          f"{sum(v.answered for v in verdicts)} answered; wrote {out}")
    if "decision" in fields:
        report = agreement([r["decision"] for r in rows], verdicts)
        if report is None:
            print("the decision column holds no yes/no to compare with")
        else:
            print(report.describe())
    return 0


def _question_set(workspace, ref: str):
    from ..work.questions import QuestionSet, read_question_file

    path = Path(ref)
    if path.suffix.lower() in {".txt", ".csv"} or path.is_file():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AssistantError(f"{path} could not be read ({exc.strerror}). Check the path.") from exc
        return QuestionSet.from_pairs(path.name, read_question_file(data, str(path)))
    return workspace.question_sets.get(ref)


def _batch(workspace, args) -> int:
    from tqdm import tqdm

    from ..work.export import html_report, rows, run_zip, to_csv, to_json, to_xlsx
    from ..work.runs import RunSpec

    out = Path(args.out) if args.out else None
    if out and out.suffix.lower() not in {".csv", ".json", ".html", ".xlsx", ".zip"}:
        raise AssistantError(f"--out {out}: give a file ending in .csv, .json, .html, .xlsx or .zip.")
    library = workspace.library
    qset = _question_set(workspace, args.questions)
    docs = [library.resolve(ref) for ref in args.doc] or library.documents()
    if not docs:
        raise AssistantError("The library is empty. Add papers with `python -m assistant ingest PATH` first.")
    settings = workspace.settings
    spec = RunSpec(qset.name, qset.questions, tuple(dict.fromkeys(d.doc_id for d in docs)),
                   tuple(dict.fromkeys(args.llm or ["main"])), args.template or settings.answer.template,
                   args.k or settings.retrieval.top_k, qset.run_descriptions)
    batches = workspace.batches
    run = batches.open_run(spec, settings)
    done = batches.done_count(run.run_id)
    print(f"batch #{run.run_id}: {run.total} answers ({len(spec.doc_ids)} papers x {len(spec.questions)} "
          f"questions x {len(spec.llms)} LLMs); {done} stored before, {run.total - done} to ask", file=sys.stderr)
    bar = tqdm(total=run.total, initial=done, unit="answer", disable=args.quiet or None, file=sys.stderr)

    def progress(p) -> None:
        bar.n = p.done
        bar.set_postfix_str(" | ".join(p.describe_llms()), refresh=False)
        bar.refresh()

    try:
        result = workspace.batch_runner().run(run, on_progress=progress)
    except KeyboardInterrupt:
        bar.close()
        print(f"\nstopped: {batches.done_count(run.run_id)} of {run.total} answers stored; run the same command "
              "again to continue.", file=sys.stderr)
        return 130
    bar.close()
    for doc_id in result.skipped_docs:
        print(f"skipped {doc_id}: no longer in the library", file=sys.stderr)
    if result.per_answer is not None:
        print(f"{result.new} answers in {result.seconds:.1f} s, {result.per_answer:.2f} s each", file=sys.stderr)
        for name, p in result.llms.items():
            if p.requests:
                print(f"{name}: {p.requests} requests, at most {p.peak_in_flight} in flight", file=sys.stderr)
    if out:
        results = batches.results(run.run_id)
        reviews = workspace.reviews
        verdicts, passages = reviews.verdicts(run.run_id), reviews.passage_verdicts(run.run_id)
        table = rows(run, results, verdicts, passages)
        suffix = out.suffix.lower()
        if suffix == ".zip":
            data, problems = run_zip(run, results, verdicts, library)
            for line in problems:
                print(f"not annotated: {line}", file=sys.stderr)
        elif suffix == ".xlsx":
            data = to_xlsx(run, results, verdicts, passages)
        elif suffix == ".csv":
            data = to_csv(table, run.made_with).encode("utf-8")
        elif suffix == ".json":
            data = to_json(run, table).encode("utf-8")
        else:
            data = html_report(run, results, verdicts, passages).encode("utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(f"wrote {len(table)} answers to {out}", file=sys.stderr)
    return 0
