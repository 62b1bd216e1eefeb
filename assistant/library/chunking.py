"""Chunks made of whole sentences, each knowing its exact character span and pages; and
the text of a chunk that the encoder reads."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, NodeRelationship, TextNode
from pydantic import Field

from ..geometry import page_spans
from ..pdf import layout
from ..text.injection import looks_like_instruction
from ..text.normalize import display, stemmer, without_accents
from ..text.sentences import sentence_spans
from ..types import PageSpan, ParsedDocument, Region


def chunk_spans(text: str, size: int, overlap: int, method: str = "sentences",
                regions: Sequence[Region] = ()) -> list[tuple[int, int]]:
    """Spans of at most ``size`` characters covering ``text``, cut between units.

    Units are sentences (``method="sentences"``; read past footnotes and captions, see
    :func:`assistant.pdf.layout.units`) or words (``"characters"``: cut at the last space
    before ``size``, as character splitters do). With ``overlap`` > 0 each chunk starts
    with the last unit of the one before (if shorter than half a chunk), and with more
    whole units while they total at most ``overlap`` characters.
    """
    if method == "characters":
        units = [m.span() for m in _WORD.finditer(text)]
    else:
        units = layout.units(text, regions, max_chars=max(50, size // 2))
    return _pack(units, size, overlap)


_WORD = re.compile(r"\S+")


def _pack(units: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        start = units[i][0]
        while j + 1 < len(units) and units[j + 1][1] - start <= size:
            j += 1
        chunks.append((start, units[j][1]))
        if j + 1 >= len(units):
            break
        # The next chunk repeats the last unit (a sentence cut by this chunk's edge is
        # then whole in the next one), and more whole units while they fit in the overlap;
        # never back to i itself, so every chunk moves forward.
        k = j + 1
        if overlap and k - 1 > i and units[j][1] - units[j][0] <= size // 2:
            k -= 1
        while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap:
            k -= 1
        i = k
    return chunks


def asides(regions: Sequence[Region]) -> list[Region]:
    """The regions chunking reads past (footnotes, captions; see :func:`assistant.pdf.layout.units`)."""
    return [r for r in regions if r.role in layout.ASIDES]


def spans_to_json(spans: Sequence[PageSpan]) -> str:
    return json.dumps([[s.page, s.start, s.end] for s in spans])


def spans_from_json(value: str) -> list[PageSpan]:
    return [PageSpan(int(p), int(s), int(e)) for p, s, e in json.loads(value or "[]")]


class SentenceSpanParser(NodeParser):
    """LlamaIndex node parser over a document whose ``metadata['page_starts']`` and
    ``metadata['page_lengths']`` (JSON lists) say where each page's text begins.

    Unlike the stock splitters it never searches for a chunk's text afterwards: every
    node carries the span it was cut from, so highlights cannot drift with overlap.
    """

    chunk_size: int = Field(default=1000)
    chunk_overlap: int = Field(default=100)
    method: str = Field(default="sentences")

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for node in nodes:
            text = node.get_content()
            starts = json.loads(node.metadata.get("page_starts", "[0]"))
            lengths = json.loads(node.metadata.get("page_lengths", json.dumps([len(text)])))
            regions = [Region(int(a), int(b), str(r)) for a, b, r in json.loads(node.metadata.get("regions", "[]"))]
            base = {k: v for k, v in node.metadata.items() if k not in ("page_starts", "page_lengths", "regions")}
            spans = chunk_spans(text, self.chunk_size, self.chunk_overlap, self.method, regions)
            for n, (s, e) in enumerate(spans):
                spans = page_spans(starts, lengths, s, e)
                meta = {
                    **base,
                    "chunk": n,
                    "char_start": s,
                    "char_end": e,
                    "page_start": spans[0].page if spans else 0,
                    "page_end": spans[-1].page if spans else 0,
                    "spans": spans_to_json(spans),
                }
                child = TextNode(
                    id_=f"{node.id_}:{n}",
                    text=text[s:e],
                    start_char_idx=s,
                    end_char_idx=e,
                    metadata=meta,
                    excluded_embed_metadata_keys=list(meta),
                    excluded_llm_metadata_keys=list(meta),
                )
                child.relationships[NodeRelationship.SOURCE] = node.as_related_node_info()
                out.append(child)
        return out

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict[str, Document]) -> list[BaseNode]:
        # The stock post-processing re-locates chunks with str.find; ours already know their spans.
        return nodes


def document_for_parsing(doc: ParsedDocument, extra: dict[str, Any], text: str | None = None) -> Document:
    """The document as LlamaIndex's parser takes it: ``text`` (default: the parsed text; it
    must have the same length, so that every offset still points at the same page)."""
    return Document(
        id_=doc.doc_id,
        text=doc.text if text is None else text,
        metadata={
            **extra,
            "page_starts": json.dumps(list(doc.page_starts)),
            "page_lengths": json.dumps([len(p) for p in doc.pages]),
            "regions": json.dumps([[r.start, r.end, r.role] for r in asides(doc.regions)]),
        },
    )


# Names the form of chunk text given to the encoder; part of a library's chunk key, so a
# change re-embeds a document when it is added again.
EMBEDDED_TEXT = "display (links joined), no instructions"


def embedding_text(text: str) -> str:
    """What the encoder reads for a chunk: ligatures expanded, line-end hyphens joined,
    lines unwrapped (a word cut as "pa-\\npers" is otherwise two unknown pieces), and
    without sentences that address an AI: an instruction planted in a paper, worded like
    the question, must not pull the search towards itself."""
    if looks_like_instruction(text):
        text = " ".join(text[s:e] for s, e in sentence_spans(text) if not looks_like_instruction(text[s:e]))
    return display(text)


_HYPHENATED = re.compile(r"\b([^\W\d_]+)-([^\W\d_]+)\b")


def keyword_text(text: str) -> str:
    """What keyword matching (BM25) reads: the encoder's text with accents removed, so
    "implémentés" meets "implemented" after stemming, and each hyphenated word also written
    solid, so "drop-out" meets "dropout" and "pre-trained" "pretrained"."""
    return _HYPHENATED.sub(r"\1-\2 \1\2", without_accents(embedding_text(text)))


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """The words keyword matching counts in each text, in order: its :func:`keyword_text`
    in lower case, English stop words left out, Snowball stems (bm25s's tokenizer; both
    keyword indexes, in memory and persisted, read texts through this)."""
    import bm25s

    tokens = bm25s.tokenize([keyword_text(t) for t in texts], stopwords="en", stemmer=stemmer(), return_ids=False,
                            show_progress=False)
    return [list(words) for words in tokens]
