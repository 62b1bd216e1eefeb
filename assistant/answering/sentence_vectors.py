"""The sentences evidence is read from, encoded once and kept (see
:mod:`assistant.library.vector_memory`): a whole paper's as it is added (unless
``imports.sentence_vectors`` is off), and those of the passages a question reads. A
question then encodes only itself (once) and the answer's own sentences.

Evidence is read sentence by sentence from passages, which are windows of chunks: a
window's sentences are the paper's sentences (windows hold whole chunks, chunks whole
sentences). So the sentences are read here from one passage over the whole paper, the
way :mod:`.evidence` and :mod:`.claims` read a passage, each as it is matched: alone, and
under its section's title. A sentence a window reads otherwise (cut by its edge, or
under no title because the window opens below it) is encoded when first asked, and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ..library.library import Library
from ..pdf.layout import cited_in, roles_in
from ..types import DocumentText, Passage
from .claims import source_sentences
from .evidence import passage_sentences


def paper_sentences(text: DocumentText, start: int, end: int) -> list[str]:
    """The texts the evidence of a passage over ``text[start:end]`` is matched by."""
    whole = Passage(n=1, doc_id=text.doc_id, file_name="", title="", text=text.reading[start:end], score=0.0,
                    start=start, end=end, spans=[], roles=roles_in(text.regions, start, end),
                    cited=cited_in(text, start, end))
    return passages_sentences([whole])


def keep_sentence_vectors(library: Library, doc_id: str) -> int:
    """Encode and keep the sentences of a stored paper; how many were new."""
    units = library.units(doc_id)
    if not units:
        return 0
    texts = paper_sentences(library.document_text(doc_id), units[0].start, units[-1].end)
    return library.encoder.remember(texts)


def passages_sentences(passages: Sequence[Passage]) -> list[str]:
    """The texts the evidence of these passages is matched by (see :func:`paper_sentences`)."""
    texts = [form for s in passage_sentences(passages) for form in (s.text, s.scored_text)]
    texts += [s.text for s in source_sentences(passages)]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def encode_sentences_when_added(library: Library) -> Library:
    """Have ``library`` keep each paper's sentence vectors as the paper is added, unless the
    settings leave that to the first question (call once per library)."""
    if library.settings.imports.sentence_vectors:
        library.after_adding.append(partial(keep_sentence_vectors, library))
    return library
