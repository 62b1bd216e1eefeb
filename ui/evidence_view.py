"""How an answer and its evidence are shown: the answer with its citations, and per
passage the text with the supporting sentences marked beside the PDF page with the
same sentences boxed."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import streamlit as st

from assistant.answering.claims import bare
from assistant.errors import AssistantError
from assistant.library.library import Library
from assistant.pdf.annotate import annotated_name
from assistant.pdf.pages import passage_boxes
from assistant.pdf.paper_view import PaperView, paper_view
from assistant.text.normalize import readable, shorten
from assistant.text.sentences import UNIT_BREAK
from assistant.types import NO_CLAIM, NOT_FOUND, Answer, Claim, Passage
from assistant.work.chats import PAPERS_IN_SCOPE, Asked
from assistant.work.export import answer_pdf
from assistant.workspace import Workspace

_CITE = re.compile(r"\[(\d+)\]")
MARK_STYLE = "background:#ffe066;border-bottom:2px solid #e65100;padding:0 1px"


ROLE_STYLE = {
    "heading": "font-weight:600",
    "title": "font-weight:600",
    "caption": "color:#555;font-style:italic",
    "footnote": "color:#555;font-size:0.85em",
}


def passage_html(passage: Passage) -> str:
    """The passage's text as a reader wants it, HTML-escaped: words broken at line ends
    joined, the running heads the layout hid left out, headings, captions and footnotes
    each on a line of their own; its supporting sentences in <mark>; then the footnotes
    and linked references it points to. Only the shown text changes: spans and boxes are
    those of the stored text."""
    text = passage.text
    cuts = {0, len(text)}
    marks = sorted((h.start, h.end) for h in passage.highlights)
    for start, end in marks:
        cuts.update((start, end))
    for region in passage.roles:
        cuts.update((max(0, region.start), min(len(text), region.end)))
    bounds = sorted(c for c in cuts if 0 <= c <= len(text))
    out = []
    for start, end in zip(bounds, bounds[1:]):
        piece = _shown(text[start:end])
        if not piece:
            continue
        body = html.escape(piece)
        if any(a <= start and end <= b for a, b in marks):
            body = f'<mark class="support" style="{MARK_STYLE}">{body}</mark>'
        role = next((r.role for r in passage.roles if r.start <= start and end <= r.end), "")
        if role in ROLE_STYLE:
            body = f'<span class="{role}" style="{ROLE_STYLE[role]}">{body}</span>'
        out.append(body)
    body = "".join(out).replace(UNIT_BREAK, "<br>")
    notes = "".join(
        f'<div class="cited" style="color:#555;font-size:0.85em;margin-top:0.3em">{html.escape(c.label)} '
        f"(p. {c.page}): {html.escape(c.text)}</div>"
        for c in passage.cited
    )
    return f'<div class="passage-text" style="line-height:1.55;font-size:0.92rem">{body}{notes}</div>'


_LINE_END_HYPHEN = re.compile(r"(\w)-[ \t]*\n\s*(\w)")
_BLANKS = re.compile(r"[ \t\n]+")


def _shown(piece: str) -> str:
    """A piece of passage text for people: ligatures expanded, words broken at a line end
    joined, line breaks and hidden lines folded to one space (separators kept)."""
    piece = _LINE_END_HYPHEN.sub(r"\1\2", readable(piece))
    return _BLANKS.sub(" ", piece)


def passage_header(passage: Passage) -> str:
    """Paper, file, pages and score of a passage; every piece from the PDF escaped."""
    pages = ", ".join(map(str, passage.pages))
    plural = "s" if len(passage.pages) > 1 else ""
    title = html.escape(readable(passage.title or passage.file_name))
    details = html.escape(
        f"{passage.file_name} · page{plural} {pages} · similarity {passage.score:.2f} · "
        f"{len(passage.highlights)} supporting sentence(s)"
    )
    return (f'<div class="passage-head"><b>[{passage.n}] {title}</b><br>'
            f'<span style="color:#666;font-size:0.85rem">{details}</span></div>')


CITE_STYLE = "background:#1c6dd0;color:white;border-radius:4px;padding:0 4px;font-size:0.7rem"
MISCITE_STYLE = ("background:#c62828;color:white;border-radius:4px;padding:0 4px;font-size:0.7rem;"
                 "text-decoration:line-through")
SUPPORTED_STYLE = "border-bottom:1px dotted #2e7d32"
NOT_FOUND_STYLE = "background:#fdecea;border-bottom:2px solid #c62828"
FLAG_STYLE = "color:#c62828;font-size:0.75rem;font-weight:600;white-space:nowrap"


def _cited(text: str, miscited: Sequence[int] = ()) -> str:
    """Escaped text with its citations as small badges; a citation whose passage does not
    support the sentence struck through in red, saying so when hovered."""
    def badge(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n in miscited:
            return (f'<sup class="miscited" title="Passage {n} does not support this sentence" '
                    f'style="{MISCITE_STYLE}">{n}</sup>')
        return f'<sup style="{CITE_STYLE}">{n}</sup>'

    return _CITE.sub(badge, html.escape(text))


def _support_note(claim: Claim) -> str:
    if claim.status == NOT_FOUND:
        return "Not found in the passages: no sentence of theirs says this."
    found = "; ".join(f"[{s.passage}] p. {s.page}: “{s.text}”" for s in claim.support)
    return f"Supported by {found}"


def answer_html(answer: Answer) -> str:
    """The answer, HTML-escaped, with citations as small badges. An LLM's answer checked
    sentence by sentence (see assistant.answering.claims) shows each sentence's support when hovered,
    and a sentence no passage supports stands out, flagged in words."""
    pieces, pos = [], 0
    for claim in answer.claims:
        if claim.start < pos:
            continue
        pieces.append(_cited(answer.text[pos:claim.start]))
        body = _cited(claim.text, claim.miscited)
        if claim.status == NO_CLAIM:
            pieces.append(body)
        else:
            status = "not-found" if claim.status == NOT_FOUND else "supported"
            style = NOT_FOUND_STYLE if claim.status == NOT_FOUND else SUPPORTED_STYLE
            pieces.append(f'<span class="claim {status}" title="{html.escape(_support_note(claim))}" '
                          f'style="{style}">{body}</span>')
            if claim.status == NOT_FOUND:
                pieces.append(f' <span class="claim-flag" style="{FLAG_STYLE}">⚠ not found in the passages</span>')
        pos = claim.end
    pieces.append(_cited(answer.text[pos:]))
    body = "".join(pieces).replace("\n", "<br>")
    return f'<div class="answer-text" style="line-height:1.6">{body}</div>'


def claims_summary(answer: Answer) -> str:
    """One line: how many sentences were checked, and what was not found."""
    checked = [c for c in answer.claims if c.status != NO_CLAIM]
    if not checked:
        return ""
    missing = len(answer.unsupported)
    miscited = sum(len(c.miscited) for c in checked)
    parts = [f"{len(checked) - missing} of {len(checked)} sentences supported by the passages"]
    if missing:
        parts.append(f"{missing} not found in them")
    if miscited:
        parts.append(f"{miscited} citation{'s' if miscited > 1 else ''} to a passage that does not support "
                     f"{'their' if miscited > 1 else 'its'} sentence")
    return "Checked sentence by sentence: " + ", ".join(parts) + "."


SUPPORT_BADGE = {
    "answered": ("Answered from the paper", "#2e7d32"),
    "weak": ("Weak: a close call, check the evidence", "#f9a825"),
    "not found": ("Not found in the passages", "#757575"),
}


def support_badge(answer: Answer, not_found: str = "") -> str:
    """The answer's mark as a small coloured label (HTML; "" when it has none); ``not_found``
    words the miss, as "Not found in this paper"."""
    if answer.support not in SUPPORT_BADGE:
        return ""
    label, colour = SUPPORT_BADGE[answer.support]
    if answer.support == "not found" and not_found:
        label = not_found
    if answer.judge_confidence is not None:  # an LLM's answer, judged by the local judge
        said = "Answered from the paper" if answer.answered else "Not answered from the paper"
        label = f"{said} · local judge, {100 * answer.judge_confidence:.0f}% sure"
    return (f'<span class="support-badge" style="border:1px solid {colour};color:{colour};border-radius:4px;'
            f'padding:0 6px;font-size:0.8rem">{html.escape(label)}</span>')


def show_answer(answer: Answer, key: str | None = None) -> None:
    """The answer with its badge; with ``key``, its sentences listed with their support,
    each able to open the passage that supports it (see :func:`show_evidence`)."""
    badge = support_badge(answer)
    if badge:
        st.markdown(badge, unsafe_allow_html=True)
    st.markdown(answer_html(answer), unsafe_allow_html=True)
    summary = claims_summary(answer)
    if summary:
        if answer.unsupported or any(c.miscited for c in answer.claims):
            st.warning(summary, icon=":material/fact_check:")
        else:
            st.caption(summary)
        if key is not None:
            _claim_list(answer, key)
    if answer.dropped_citations:
        numbers = ", ".join(f"[{n}]" for n in answer.dropped_citations)
        st.warning(f"The answer cited {numbers}, which is not among the passages shown; those citations were removed.")
    kind = "extractive (no LLM)" if answer.extractive else answer.llm
    st.caption(f"{kind} · template `{answer.template}` · {len(answer.passages)} passages · {answer.seconds:.1f} s")
    st.caption("On the page: the passage is shaded blue, its supporting sentences are boxed in orange.")


def _open_passage(key: str, n: int, start: int) -> None:
    """Open passage ``n`` at its sentence starting at ``start`` (a claim's support)."""
    st.session_state[f"src_{key}"] = n
    st.session_state[f"ev_target_{key}"] = (n, start)


def _claim_list(answer: Answer, key: str) -> None:
    """Each checked sentence with the source sentences that support it; a click opens
    the passage, its supporting sentences boxed on the page."""
    with st.expander("Sentence by sentence", icon=":material/fact_check:"):
        for i, claim in enumerate(c for c in answer.claims if c.status != NO_CLAIM):
            found = claim.status != NOT_FOUND
            mark = "✓" if found else "⚠"
            said = html.escape(bare(claim.text))
            line = (f"{mark} {said}" if found else
                    f'<span style="color:#c62828">{mark} {said} — <b>not found in the passages</b></span>')
            st.markdown(f'<div class="claim-line">{line}</div>', unsafe_allow_html=True)
            for s in claim.support:
                st.button(f"[{s.passage}] p. {s.page}: “{shorten(s.text, 160)}”", type="tertiary",
                          key=f"claim_{key}_{i}_{s.passage}_{s.start}", on_click=_open_passage,
                          args=(key, s.passage, s.start), help="Open the paper at this sentence")
            if claim.miscited:
                cited = ", ".join(f"[{n}]" for n in claim.miscited)
                st.caption(f"Cites {cited}, which does not support it.")


def show_evidence(library: Library, answer: Answer, key: str, width: int | str = "100%") -> None:
    """Passage picker, marked text and the paper with the evidence boxed; runs as a
    fragment so picking another passage, or moving between the evidence, reruns only this
    part, never the LLM. ``width``: the viewer's, in pixels where the container's cannot
    be measured (inside tabs)."""

    @st.fragment
    def _evidence() -> None:
        passages = answer.passages
        if not passages:
            st.info("No passages were found for this question.")
            return
        by_n = {p.n: p for p in passages}
        default = answer.cited[0] if answer.cited else passages[0].n
        # Set here rather than as the widget's default: a sentence's support, clicked in the
        # answer, sets it too (see _claim_list).
        st.session_state.setdefault(f"src_{key}", default)
        choice = st.segmented_control(
            "Source passage",
            options=list(by_n),
            format_func=lambda n: f"[{n}] p.{','.join(map(str, by_n[n].pages))}" + (" ✓" if n in answer.cited else ""),
            key=f"src_{key}",
        )
        passage = by_n.get(choice or default)
        st.markdown(passage_header(passage), unsafe_allow_html=True)
        st.markdown(passage_html(passage), unsafe_allow_html=True)
        path = library.file_path(passage.doc_id)
        if not path.exists():
            st.warning(f"The PDF of {passage.file_name} is no longer in the library; the page cannot be shown.")
            return
        st.session_state.setdefault(f"show_{key}", WHOLE_PAPER)
        how = st.segmented_control("Show", [WHOLE_PAPER, PAGE_IMAGE], key=f"show_{key}", label_visibility="collapsed")
        if how == PAGE_IMAGE:
            _page_images(library, passage, path)
        else:
            _paper(library, answer, passage, path, key, width)

    _evidence()


WHOLE_PAPER, PAGE_IMAGE = "The paper", "Page image"


def _page_images(library: Library, passage: Passage, path) -> None:
    """The pages of the passage's supporting sentences as images, boxed (also what the HTML report shows)."""
    rects = [r for h in passage.highlights for r in h.rects]
    shown = sorted({r.page for r in rects}) or passage.pages[:1]
    context = passage_boxes(passage, library.pdfs, path)
    for page in shown:
        png = library.pdfs.render(path, page, rects, context=context)
        st.image(png, caption=f"{passage.file_name}, page {page}", width="stretch")


@st.cache_data(max_entries=24, show_spinner=False)
def _view(path: str, modified: float, doc_id: str, whole: bool, marks: tuple, _library: Library,
          _answer: Answer) -> PaperView:
    """The paper as the viewer shows it, made once per paper, answer and page choice
    (``marks``, the evidence boxes, stand for the answer in the cache's key)."""
    from pathlib import Path

    return paper_view(Path(path).read_bytes(), Path(path).name, _answer, doc_id,
                      lambda p: passage_boxes(p, _library.pdfs, Path(path)), whole=whole)


def _paper(library: Library, answer: Answer, passage: Passage, path, key: str, width: int | str) -> None:
    """The paper with every passage of the answer shaded and every supporting sentence
    highlighted and outlined; previous / next evidence scroll from one to the next."""
    from streamlit_pdf_viewer import pdf_viewer

    whole = bool(st.session_state.get(f"whole_{key}"))
    marks = tuple((p.n, p.start, p.end, tuple((r.page, r.x0, r.y0) for h in p.highlights for r in h.rects))
                  for p in answer.passages if p.doc_id == passage.doc_id)
    try:
        view = _view(str(path), path.stat().st_mtime, passage.doc_id, whole, marks, library, answer)
    except AssistantError as exc:
        st.warning(str(exc))
        return
    # Picking a passage goes to its first supporting sentence, or to its page when none of
    # its sentences is marked (index None).
    at = f"ev_{key}"
    target = st.session_state.pop(f"ev_target_{key}", None)
    if target is not None and view.sentence_at(*target) is not None:
        st.session_state[f"ev_passage_{key}"] = passage.n
        st.session_state[at] = view.sentence_at(*target)
    elif st.session_state.get(f"ev_passage_{key}") != passage.n:
        st.session_state[f"ev_passage_{key}"] = passage.n
        st.session_state[at] = view.first_of_passage(passage.n)
    count = len(view.evidence)
    index = st.session_state.get(at)
    index = None if index is None or not count else min(index, count - 1)
    back, where, ahead = st.columns([1, 3, 1], vertical_alignment="center")
    back.button("◀ Previous", key=f"prev_{key}", disabled=index is None or index <= 0, on_click=_step,
                args=(at, -1), help="Previous supporting sentence", width="stretch")
    ahead.button("Next ▶", key=f"next_{key}", disabled=not count or (index is not None and index >= count - 1),
                 on_click=_step, args=(at, 1), help="Next supporting sentence", width="stretch")
    scroll: dict[str, int] = {}
    if index is not None:
        n, page, box = view.evidence[index]
        where.caption(f"Evidence {index + 1} of {count}: passage [{n}], page {page}")
        scroll["scroll_to_annotation"] = box + 1
    else:
        where.caption(f"No sentence of passage [{passage.n}] is marked as supporting the answer; its page "
                      f"{passage.page} is shown.")
        if passage.page in view.pages:
            scroll["scroll_to_page"] = view.pages.index(passage.page) + 1
    pages = (f"all {view.total_pages} pages" if len(view.pages) == view.total_pages
             else f"pages {_ranges(view.pages)} of {view.total_pages} (those with evidence and their neighbours)")
    st.caption(f"{passage.file_name}: {pages}. Passages are shaded blue, supporting sentences highlighted in "
               "their passage's colour.")
    # The viewer scrolls to its target only when it loads a document, never when the target
    # changes (streamlit-pdf-viewer 0.0.30), so each target gets a viewer of its own: a new
    # key per target loads it anew, at the target. "instant": a smooth scroll could still be
    # under way when the reader (or a test) looks.
    target = f"e{index}" if index is not None else f"p{passage.n}"
    pdf_viewer(view.pdf, width=width, height=900, zoom_level="auto", resolution_boost=2,
               annotations=view.annotations(), annotation_outline_size=2, scroll_behavior="instant",
               key=f"viewer_{key}_{int(whole)}_{target}", **scroll)
    if len(view.pages) < view.total_pages or whole:
        st.toggle(f"Show all {view.total_pages} pages", key=f"whole_{key}")


def _step(at: str, by: int) -> None:
    """One supporting sentence on (from a passage without any: to the first)."""
    now = st.session_state.get(at)
    st.session_state[at] = 0 if now is None else now + by


def _ranges(pages: Sequence[int]) -> str:
    """1, 2, 3, 7, 8 -> "1-3, 7-8"."""
    out: list[str] = []
    start = prev = None
    for p in list(pages) + [None]:
        if p is not None and prev is not None and p == prev + 1:
            prev = p
            continue
        if start is not None:
            out.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = p
    return ", ".join(out)


def paper_downloads(ws: Workspace, answer: Answer, key: str) -> None:
    """Per paper the answer's passages come from, its PDF with this answer's evidence as
    highlight annotations (with notes), made when the button is clicked."""
    papers = list(dict.fromkeys((p.doc_id, p.file_name) for p in answer.passages if any(h.rects for h in p.highlights)))
    for doc_id, file_name in papers:
        st.download_button(
            f"{file_name} with this evidence" if len(papers) > 1 else "Paper with this evidence (PDF)",
            lambda doc_id=doc_id: answer_pdf(ws.library, ws.settings, answer, doc_id).pdf,
            annotated_name(file_name), "application/pdf", key=f"annotated_{key}_{doc_id}", on_click="ignore",
            icon=":material/picture_as_pdf:", type="tertiary",
            help="The paper with the supporting sentences highlighted; each highlight's note holds the question "
                 "and the answer. Opens in any PDF reader.")


def show_by_paper(ws: Workspace, entries: Sequence[Asked], names: dict[str, str], key: str,
                  evidence: bool = True) -> None:
    """One question answered paper by paper: each paper's answer with its own mark, best
    first, the papers not asked counted; beside them (with ``evidence``) the evidence of
    the paper picked."""
    asked = len(entries)
    answered = sum(1 for e in entries if e.answer.support == "answered")
    in_scope = int(entries[0].made_with.get(PAPERS_IN_SCOPE, asked))

    def name(e: Asked) -> str:
        return names.get(e.paper) or next((p.file_name for p in e.answer.passages), e.paper[:8])

    left, right = st.columns([2, 3], gap="large")
    with left:
        head = f"**Answered from {answered} of the {asked} papers asked.**"
        if in_scope > asked:
            head += (f" The other {in_scope - asked} papers of the library were not asked: their passages match the "
                     "question less well than these.")
        st.markdown(head)
        for e in entries:
            with st.container(border=True, key=f"paper_answer_{key}_{e.n}"):
                st.markdown(f"{support_badge(e.answer, 'Not found in this paper')} **{html.escape(name(e))}**",
                            unsafe_allow_html=True)
                st.markdown(answer_html(e.answer), unsafe_allow_html=True)
        kind = "extractive (no LLM)" if entries[0].answer.extractive else entries[0].answer.llm
        st.caption(f"{kind} · template `{entries[0].answer.template}` · each paper searched on its own")
    if not evidence:
        return
    with right:
        by_n = {e.n: e for e in entries}
        marks = {"answered": "✓", "weak": "?"}
        shown = st.selectbox("Evidence from", list(by_n), key=f"paper_{key}",
                             format_func=lambda n: f"{marks.get(by_n[n].answer.support, '✗')} {name(by_n[n])}")
        chosen = by_n[shown]
        paper_downloads(ws, chosen.answer, key=f"{key}_{chosen.n}")
        show_evidence(ws.library, chosen.answer, key=f"{key}_{chosen.n}")
