"""The sentences of passages that can be evidence, and what each one says and points to.

A passage is read unit by unit as the layout cut it (body text, captions, footnotes); a
unit that is a reference entry, a list of names or a fragment is no evidence. Each sentence
knows its section title, whether it lies where retrieval matched, the footnotes and
reference entries it points to, and whether it states a kind of fact a question expects.
Which of them an answer quotes and marks is decided in :mod:`assistant.answering.marks`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ..pdf.layout import ASIDES, cited_numbers, units
from ..text.facts import (
    ACKNOWLEDGEMENT,
    ACKNOWLEDGEMENT_HEADING,
    NAMED_HARDWARE,
    OWN_WORK,
    named,
    stated,
)
from ..text.injection import looks_like_instruction
from ..text.normalize import display, terms
from ..types import Cited, Guide, Passage, Region

MIN_WORDS = 5
# Units without closing punctuation are evidence only when at least this long (table rows
# and list items rarely end with a full stop).
FRAGMENT_WORDS = 20
_CLOSING = (".", "!", "?", ")", "]", "\"", "”", "’", ":", ";", "。", "！", "？")
# Share of lower-case words below which a unit is a list of names, not a statement
# (prose has about half or more; author lines and reference entries under a tenth).
PROSE_SHARE = 0.25
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")
_EDGE_PUNCTUATION = ".,;:()[]\"'\u201c\u201d\u2019"

# Groups of citations of others' work (see reports_others).
_CITATION_GROUP = re.compile(r"\[\d+(?:\s*[,\u2013-]\s*\d+)*\]|\([A-Z][^()]{0,60}\d{4}[a-z]?\)")
# "et al.": outside a citation set, others as the subject of the sentence; inside one set
# after no name, others as the source of what is said ("details are given in (Smith et al., 2010)").
_NARRATIVE_ET_AL = re.compile(r"\bet al\b")
# A sentence that goes on about what the one before it named ("Hu et al. designed a 1-D
# CNN. It mainly consists of one convolutional layer...", "..., it combines"): its subject,
# after a connective or an opening phrase, is the other's.
_CONTINUES = re.compile(
    r"^\W*(?:(?:specifically|moreover|furthermore|in addition|additionally|also|then|besides|however|thus|"
    r"therefore|hence|finally),?\s+|[^,.;]{3,80},\s+)?(?:it|its|they|their|these|such|this (?:model|method|"
    r"network|approach|architecture|algorithm|system|work|study))\b", re.IGNORECASE)
# What a field knows, as an introduction opens on it ("It is well known that...", "In recent
# years, deep learning has..."): background, not what this paper did.
_BACKGROUND = re.compile(
    r"^\W*(?:it is (?:well[- ]known|widely (?:known|accepted|believed|recogni[sz]ed)|generally (?:known|accepted|"
    r"believed)|commonly (?:known|accepted|believed))|in (?:the )?recent (?:years|decades?)|over the (?:past|last) "
    r"(?:\w+ )?(?:years|decades?)|traditionally,|historically,)\b", re.IGNORECASE)
# Citation sets written side by side ("[42], [43]") support one claim, as one set does.
_SIDE_BY_SIDE = re.compile(r"\]\s*[,;]?\s*\[")
# A name just before a citation: a word with a capital or digit inside, or an acronym ("MMLU", "ResNet", "GSM8K").
_NAME_BEFORE = re.compile(r"(?:\b[A-Z][A-Za-z]*[A-Z0-9][\w-]*|\b[A-Z]{2,}[\w-]*)\s*$")
# Words by which a question asks about a table's or figure's content: only then is a caption evidence.
_ASKS_TABLE = re.compile(r"\b(?:tables?|figures?|fig\.|captions?|plots?|charts?)\b", re.IGNORECASE)
# A reference entry, wherever it sits: a numbered start or an author list, a year, and a venue or a quoted title.
_REFERENCE_START = re.compile(
    r"^\s*(?:\[\d{1,3}\]|\(\d{1,3}\)|\d{1,3}\.)\s+\S|^\s*[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s*){1,3}[,;:]"
)
_REFERENCE_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}[a-z]?(?!\d)")
_REFERENCE_VENUE = re.compile(
    r"\b(?:In:|In Proc|Proceedings|Proc\.|Journal|J\.|Trans\.|Transactions|Conference|Conf\.|arXiv|vol\.|pp\.|"
    r"doi|ISBN|Press|Lett\.|Rev\.|Workshop|Symposium|preprint)|[\u201c\"][^\u201d\"]{10,}[,.][\u201d\"]",
    re.IGNORECASE,
)


@dataclass
class Sentence:
    passage: Passage
    start: int  # in the passage's text
    end: int
    text: str
    heading: str = ""  # the short line (section title) before it in the passage, if any
    in_focus: bool = False  # within the part of the passage that retrieval matched
    role: str = ""  # the layout's part it belongs to: "" (body), "caption", "footnote" or "title"
    gaps: tuple[tuple[int, int], ...] = ()  # footnotes and captions it runs past: not part of it
    # It goes on about others' work the sentence before it reported (see :attr:`others`).
    continues_others: bool = False

    @cached_property
    def others(self) -> bool:
        """Whether it tells of others' work (see :func:`reports_others`) or what the field
        knows ("It is well known that...") and not of this paper's, or goes on about what
        the sentence before it told ("It mainly consists of...")."""
        return self.continues_others or reports_others(self.text) or (
            bool(_BACKGROUND.match(self.text)) and not OWN_WORK.search(self.text))

    @cached_property
    def cited(self) -> list[Cited]:
        """The footnotes and linked reference entries outside its passage that it points to."""
        return [c for c in self.passage.cited if points_to(self.text, c)]

    @property
    def scored_text(self) -> str:
        """What relevance is judged on: a section title says what the sentence is about."""
        return f"{self.heading}: {self.text}" if self.heading else self.text

    @cached_property
    def terms(self) -> set[str]:
        """Its content words as the question's are matched (see :func:`terms`); stemmed
        once, though both scoring and quote selection read them."""
        return terms(self.scored_text)

    @property
    def key(self) -> tuple[str, int, int]:
        """Where it is in its document: the same sentence in two overlapping passages has one key."""
        return (self.passage.doc_id, self.passage.start + self.start, self.passage.start + self.end)


def passage_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """The sentences of passages that could be evidence, in passage order.

    Footnotes and captions are asides: a sentence that runs from one page to the next
    runs past the notes at the foot of the first (and a figure's caption set inside a
    paragraph), as a reader reads it; the asides are units of their own.
    """
    out = []
    for p in passages:
        heading = ""
        opening = True
        for s, e, text, role, gaps in passage_units(p):
            first, opening = opening and not role, opening and bool(role)
            if role == "heading":
                heading = text
                continue
            # A passage that opens in lower case opens inside a sentence (the rest of a long
            # sentence cut between chunks): the start is missing, so it is no evidence.
            if first and p.start > 0 and text[:1].islower():
                continue
            # A title and a footnote stand whole as the layout set them (a footnote may be a
            # bare link); other short units are labels, which lend their topic to what follows.
            standalone = role in ("title", "footnote") and (letter_count(text) >= 8 or has_link(text))
            if len(text.split()) < MIN_WORDS and not standalone:
                if not text.endswith((".", "!", "?")) and letter_count(text) >= 3:
                    heading = text
                continue
            # A unit with no closing punctuation is a piece (a formula's line, a sentence
            # cut by the window's edge), not a statement a reader could check.
            whole = standalone or text.endswith(_CLOSING) or len(text.split()) >= FRAGMENT_WORDS
            if not (letter_count(text) >= 8 or standalone) or not whole:
                continue
            if (not looks_like_prose(text) and not standalone) or looks_like_reference(text):
                continue
            in_focus = p.focus is not None and s < p.focus[1] and e > p.focus[0]
            out.append(Sentence(p, s, e, text, heading, in_focus, role, gaps))
        own = [x for x in out if x.passage is p]
        _anchor_notes(own)
        _follow_subjects(own)
    return out


def _follow_subjects(sentences: Sequence[Sentence]) -> None:
    """Mark the sentences that open as going on about what the one before reported
    (see :data:`_CONTINUES`) and say nothing of this paper's own work."""
    for before, sentence in zip(sentences, sentences[1:]):
        # The opening first: most sentences do not continue, and then ``before.others`` is not
        # worked out for callers that never ask it.
        if (not sentence.role and not before.role and _CONTINUES.match(sentence.text)
                and not OWN_WORK.search(sentence.text) and before.others):
            sentence.continues_others = True


def evidence_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """The passages' sentences that may be quoted or marked: a sentence ordering an AI
    about is no evidence of anything."""
    return [s for s in passage_sentences(passages) if not looks_like_instruction(s.text)]


Unit = tuple[int, int, str, str, tuple[tuple[int, int], ...]]


def passage_units(passage: Passage) -> list[Unit]:
    """The passage's units as a reader reads them (see :func:`assistant.pdf.layout.units`): for
    each, its span, its readable text, its layout role, and the asides it runs past."""
    return list(_units_of(passage.text, tuple(passage.roles)))


# A window is read again by the next question of its paper, by each LLM's answer to it and
# by the claim check: splitting it once saves a batch cell a tenth of its CPU.
@lru_cache(maxsize=4096)
def _units_of(text: str, roles: tuple[Region, ...]) -> tuple[Unit, ...]:
    out = []
    for s, e in units(text, roles, max_chars=400, nested=True):
        gaps = tuple((r.start, r.end) for r in roles if r.role in ASIDES and s < r.start and r.end <= e)
        shown = display(_blanked(text, s, e, gaps))
        if shown:
            out.append((s, e, shown, _role_at(roles, s), gaps))
    return tuple(out)


def _anchor_notes(sentences: Sequence[Sentence]) -> None:
    """A footnote is read with the sentence that carries its mark ("our implementation2"),
    as a reader reads it: a bare link says little by itself."""
    for note in sentences:
        mark = re.match(r"\s*(\d{1,2})", note.text) if note.role == "footnote" else None
        if mark is None:
            continue
        pointer = Cited("footnote", mark.group(1), note.text, 0, 0, 0)
        anchor = next((x for x in sentences if x.role != "footnote" and points_to(x.text, pointer)), None)
        if anchor is not None:
            note.heading = anchor.text


def _blanked(text: str, start: int, end: int, gaps: Sequence[tuple[int, int]]) -> str:
    """``text[start:end]`` without the asides it runs past."""
    if not gaps:
        return text[start:end]
    chars = list(text[start:end])
    for g0, g1 in gaps:
        chars[g0 - start : g1 - start] = " " * (g1 - g0)
    return "".join(chars)


def _role_at(roles: Sequence[Region], offset: int) -> str:
    for region in roles:
        if region.start <= offset < region.end:
            return region.role
    return ""


def has_link(text: str) -> bool:
    return bool(stated(["link"], text))


# The same units are read for every question of a paper and every answer to them: their
# verdicts are remembered (they depend on the text alone).
@lru_cache(maxsize=32_768)
def letter_count(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


@lru_cache(maxsize=32_768)
def looks_like_reference(text: str) -> bool:
    """Whether a unit reads as an entry of a reference list (found outside the list: a
    footnote citation, a list the layout missed): it starts like one or reads like one,
    with a year and a venue or a quoted title."""
    if not _REFERENCE_YEAR.search(text):
        return False
    venue = bool(_REFERENCE_VENUE.search(text))
    return (bool(_REFERENCE_START.match(text)) and venue) or (venue and not looks_like_prose(text))


@lru_cache(maxsize=32_768)
def looks_like_prose(text: str) -> bool:
    """Whether a unit reads as a statement rather than a list of names: an author line,
    an affiliation, a reference entry or a venue has few lower-case words. Text in other
    scripts (no case, or few Latin letters) is taken as prose."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isascii() for ch in letters) < 0.5 * len(letters):
        return True
    words = [w.strip(_EDGE_PUNCTUATION) for w in text.split()]
    lower = sum(1 for w in words if _PLAIN_WORD.fullmatch(w) and w[0].islower())
    return lower >= PROSE_SHARE * len(words)


def reports_others(text: str) -> bool:
    """Whether a sentence reports other people's work and not this paper's: it has no
    "we", "our" or "this paper", and tells what others did ("Smith et al. [7] trained...")
    or cites two works or more for what it says ("models include autoencoders [11]-[13],
    recurrent networks [14]..."). A citation set right after a name cites the thing named
    ("MMLU (Hendrycks et al., 2021)", "ResNet [12]"): a list of the datasets or tools a
    paper uses is cited so, and is no report of others' work."""
    if OWN_WORK.search(text):
        return False
    narrative = _NARRATIVE_ET_AL.search(_CITATION_GROUP.sub(" ", text))
    text = _SIDE_BY_SIDE.sub(", ", text)
    unattached = [m for m in _CITATION_GROUP.finditer(text) if not _NAME_BEFORE.search(text[: m.start()])]
    return bool(narrative) or len(unattached) >= 2 or any(_NARRATIVE_ET_AL.search(m.group()) for m in unattached)


def usable(sentences: Sequence[Sentence], question: str) -> list[Sentence]:
    """The sentences that may be evidence for this question: a caption only when the
    question asks about a table or figure."""
    tables = bool(_ASKS_TABLE.search(question))
    return [x for x in sentences if x.role != "caption" or tables]


def is_acknowledgement(sentence: Sentence) -> bool:
    """Whether a sentence thanks or names funders: under an acknowledgements heading, or
    opening like such a sentence."""
    return bool(ACKNOWLEDGEMENT_HEADING.match(sentence.heading) or ACKNOWLEDGEMENT.match(sentence.text))


def states_expected(sentence: Sentence, guide: Guide) -> bool:
    """Whether a sentence (read with its section title, and the footnotes and linked
    references it points to) states a kind of fact the guide expects. Thanks state only
    a named piece of hardware ("Thanks to the lab for GPU resources" names none)."""
    if is_acknowledgement(sentence):
        return "hardware" in guide.expects and bool(NAMED_HARDWARE.search(sentence.text))
    return bool(stated(guide.expects, _with_pointed(sentence)))


def _with_pointed(sentence: Sentence) -> str:
    """A sentence with its section title and the footnotes and reference entries it points to."""
    pointed = " ".join(ENTRY_NUMBER.sub("", c.text) for c in sentence.cited)
    return f"{sentence.scored_text} {pointed}" if pointed else sentence.scored_text


def facts_of(sentence: Sentence, guide: Guide) -> frozenset[str]:
    """The distinct facts of the expected kinds a sentence that states one of them (see
    :func:`states_expected`, which the caller has asked) names, read with its section
    title and what it points to; none when it states them only by the kind's own name, as
    in "we note that augmentation slows data loading"."""
    return named(guide.expects, _with_pointed(sentence))


# The number that opens a footnote or a reference entry: no figure of the paper's.
ENTRY_NUMBER = re.compile(r"^\s*(?:\[\d{1,3}\]|\(\d{1,3}\)|\d{1,3}\.?)\s*")


def points_to(text: str, cited: Cited) -> bool:
    """Whether a sentence carries the mark of a footnote or the number of a reference entry."""
    if cited.kind == "footnote":
        return bool(re.search(rf"(?<=[^\W\d_]){re.escape(cited.number)}(?=[\s.,;:)]|$)", text))
    for m in re.finditer(r"\[(\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*)\]", text):
        if int(cited.number) in cited_numbers(m.group(1)):
            return True
    return False


