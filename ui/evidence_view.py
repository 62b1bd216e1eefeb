"""How an answer and its evidence are shown: the answer with its citations, and per
passage the text with the supporting sentences marked beside the PDF page with the
same sentences boxed."""

from __future__ import annotations

import html
import re

import streamlit as st

from assistant.evidence import passage_boxes
from assistant.index import Library
from assistant.sentences import readable
from assistant.types import Answer, Passage

_CITE = re.compile(r"\[(\d+)\]")
MARK_STYLE = "background:#ffe066;border-bottom:2px solid #e65100;padding:0 1px"


def passage_html(passage: Passage) -> str:
    """The passage's text, HTML-escaped, with its supporting sentences in <mark>."""
    text = passage.text
    marks = sorted((h.start, h.end) for h in passage.highlights)
    out, pos = [], 0
    for start, end in marks:
        if start < pos:
            continue
        out.append(html.escape(readable(text[pos:start])))
        out.append(f'<mark class="support" style="{MARK_STYLE}">{html.escape(readable(text[start:end]))}</mark>')
        pos = end
    out.append(html.escape(readable(text[pos:])))
    body = "".join(out).replace("\n", " ")
    return f'<div class="passage-text" style="line-height:1.55;font-size:0.92rem">{body}</div>'


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


def answer_html(answer: Answer) -> str:
    """The answer, HTML-escaped, with citations as small badges."""
    body = html.escape(answer.text).replace("\n", "<br>")
    body = _CITE.sub(
        r'<sup style="background:#1c6dd0;color:white;border-radius:4px;padding:0 4px;font-size:0.7rem">\1</sup>',
        body,
    )
    return f'<div class="answer-text" style="line-height:1.6">{body}</div>'


def show_answer(answer: Answer) -> None:
    st.markdown(answer_html(answer), unsafe_allow_html=True)
    if answer.dropped_citations:
        numbers = ", ".join(f"[{n}]" for n in answer.dropped_citations)
        st.warning(f"The answer cited {numbers}, which is not among the passages shown; those citations were removed.")
    kind = "extractive (no LLM)" if answer.extractive else answer.llm
    st.caption(f"{kind} · template `{answer.template}` · {len(answer.passages)} passages · {answer.seconds:.1f} s")
    st.caption("On the page: the passage is shaded blue, its supporting sentences are boxed in orange.")


def show_evidence(library: Library, answer: Answer, key: str) -> None:
    """Passage picker, marked text and the boxed page; runs as a fragment so picking
    another passage reruns only this part, never the LLM."""

    @st.fragment
    def _evidence() -> None:
        passages = answer.passages
        if not passages:
            st.info("No passages were found for this question.")
            return
        by_n = {p.n: p for p in passages}
        default = answer.cited[0] if answer.cited else passages[0].n
        choice = st.segmented_control(
            "Source passage",
            options=list(by_n),
            default=default,
            format_func=lambda n: f"[{n}] p.{','.join(map(str, by_n[n].pages))}" + (" ✓" if n in answer.cited else ""),
            key=f"src_{key}",
        )
        passage = by_n.get(choice or default)
        st.markdown(passage_header(passage), unsafe_allow_html=True)
        st.markdown(passage_html(passage), unsafe_allow_html=True)
        rects = [r for h in passage.highlights for r in h.rects]
        shown = sorted({r.page for r in rects}) or passage.pages[:1]
        path = library.file_path(passage.doc_id)
        if not path.exists():
            st.warning(f"The PDF of {passage.file_name} is no longer in the library; the page cannot be shown.")
            return
        context = passage_boxes(passage, library.pdfs, path)
        for page in shown:
            png = library.pdfs.render(path, page, rects, context=context)
            st.image(png, caption=f"{passage.file_name}, page {page}", width="stretch")

    _evidence()
