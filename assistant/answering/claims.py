"""Every sentence of an LLM's answer, checked against the passages it was given.

An answer is split into its claims (sentences, list items). For each, the passages'
sentences are scored by closeness of meaning (the embedding model the library already
has) and by how many of the claim's words they hold; the words that make a claim
checkable count most: numbers, names, identifiers, links ("a learning rate of 0.01" is not
supported by "a learning rate of 0.001"; a number no passage holds is never supported).
A claim is supported when one source sentence, or the few closest to it read together,
says what it says. A claim that says the
passages lack something ("the context does not mention...") asserts nothing about the
paper and is not checked. A citation [n] whose passage holds none of its claim's support is
reported too. Every weight is named below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry import text_page_spans
from ..library.embeddings import TextEncoder, unit_rows
from ..text.injection import looks_like_instruction
from ..text.normalize import content_words, terms
from ..text.sentences import sentence_spans
from ..types import NO_CLAIM, NOT_FOUND, SUPPORTED, Claim, ClaimSupport, Passage
from .evidence import Sentence, has_link, letter_count, looks_like_reference, passage_units

# A claim is supported when its best source reaches SUPPORT_FLOOR: closeness of meaning plus
# TERM_WEIGHT times the share of its content words the source holds, less MISSING_WEIGHT
# times the share of its checkable tokens (numbers, names, links) the source lacks.
SUPPORT_FLOOR = 0.6
TERM_WEIGHT = 0.35
MISSING_WEIGHT = 0.35
# Unless the best source is this close in meaning (a paraphrase in other words), it must
# hold at least MIN_HELD of the claim's content words.
MIN_HELD = 0.3
CLOSE_MEANING = 0.75
# A claim with fewer content words than this says too little to check ("In summary:").
MIN_CLAIM_WORDS = 3
# Source units shorter than this (in words) are labels, not statements.
MIN_SOURCE_WORDS = 3
# At most this many sources are kept per claim (its best, and those close to it).
MAX_SUPPORT = 2
SUPPORT_WINDOW = 0.05
# The sentences closest to a claim read together as one more source.
GATHERED = 3
# The sentences closest to a claim are shown together as its support only when together
# they support it this much better than the best of them alone.
GATHERED_GAIN = 0.05

_CITATION = re.compile(r"\s*\[(\d+(?:\s*[,\u2013-]\s*\d+)*)\]")
_MARKDOWN = re.compile(r"\*\*|__|`|^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+|^#+\s*", re.MULTILINE)
# Saying the passages lack something is no claim about the paper.
_ABSENCE = re.compile(
    r"\b(?:(?:does|do|did)\s*(?:n['\u2019]t|not)\s+(?:mention|provide|specify|state|say|describe|include|contain|"
    r"give|discuss|report|detail|indicate|address|reference)|(?:is|are|was|were)\s*(?:n['\u2019]t|not)\s+"
    r"(?:mentioned|provided|specified|stated|given|described|discussed|reported|included|available|clear|"
    r"explicitly)|no\s+(?:explicit\s+|specific\s+|direct\s+|further\s+)?(?:information|mention|details?|data)\b|"
    r"i\s+(?:don['\u2019]t|do\s+not)\s+know|cannot\s+be\s+determined|unable\s+to\s+(?:determine|find|answer))",
    re.IGNORECASE,
)
# Tokens a claim is checked by: numbers, words with a capital or a digit inside (names,
# acronyms, identifiers: ResNet50, PyTorch, U-Net), links.
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e-?\d+)?%?")
_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|io|net|edu)/\S*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_][\w\-]*[^\W_]|[^\W_]")


def claim_spans(answer: str) -> list[tuple[int, int]]:
    """Spans of the answer's sentences: each line (a list item) split into sentences. A
    citation written after the full stop ("... was used. [2] Then...") belongs to the
    sentence before it."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in answer.split("\n"):
        first = len(out)
        for s, e in sentence_spans(line, max_chars=600):
            lead = _LEADING_CITATIONS.match(line, s, e)
            if lead and len(out) > first:
                out[-1] = (out[-1][0], pos + len(line[: lead.end()].rstrip()))
                s = lead.end()
                while s < e and line[s].isspace():
                    s += 1
            if s < e:
                out.append((pos + s, pos + e))
        pos += len(line) + 1
    return out


_LEADING_CITATIONS = re.compile(r"(?:\[\d+(?:\s*[,\u2013-]\s*\d+)*\][.,;]?\s*)+")


def _says_enough(plain: str) -> bool:
    """Long enough to check: MIN_CLAIM_WORDS content words, or fewer with a number ("The
    learning rate was 0.01." states a fact, and an invented one is what most needs catching)."""
    words = content_words(plain)
    return len(words) >= MIN_CLAIM_WORDS or (len(words) >= MIN_CLAIM_WORDS - 1
                                             and any(ch.isdigit() for w in words for ch in w))


def bare(text: str) -> str:
    """A claim as it is matched: without its citations and markdown."""
    return " ".join(_MARKDOWN.sub(" ", _CITATION.sub("", text)).split())


def says_absence(text: str) -> bool:
    return bool(_ABSENCE.search(text))


def _normal_number(token: str) -> str:
    token = token.rstrip("%")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        token = token.replace(",", "")
    try:
        value = float(token.replace(",", "."))
    except ValueError:
        return token
    return f"{value:g}"


def checkable(text: str) -> set[str]:
    """The tokens a claim stands or falls by, normalised: numbers (``1,000`` = ``1000``,
    ``0.0010`` = ``0.001``), links (without their scheme), and names: words with a capital
    after the first letter or a digit (ResNet50, LSTM, U-Net), and capitalised words
    that do not start the sentence."""
    found: set[str] = set()
    for m in _LINK.finditer(text):
        found.add(re.sub(r"^(?:https?://)?(?:www\.)?", "", m.group(0).casefold()).rstrip("/.,;)"))
    text = _LINK.sub(" ", text)
    for m in _NUMBER.finditer(text):
        found.add(_normal_number(m.group(0)))
    words = _WORD.findall(text)
    for i, w in enumerate(words):
        if _NUMBER.fullmatch(w):
            continue  # read above ("1e-5")
        if any(ch.isdigit() for ch in w) and any(ch.isalpha() for ch in w):
            found.add(w.casefold())
        elif any(ch.isupper() for ch in w[1:]) or (i > 0 and w[:1].isupper() and len(w) > 2):
            found.add(w.casefold())
    return {t for t in found if t}


def _present(token: str, compact: str, numbers: set[str]) -> bool:
    # Against the source without blanks: PDF text breaks links and hyphenated names ("https: //github.com/ x").
    return token in numbers or token.replace(" ", "") in compact


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"[\d.e-]+", token)) and any(ch.isdigit() for ch in token)


def _source_numbers(text: str) -> set[str]:
    return {_normal_number(m.group(0)) for m in _NUMBER.finditer(text)}


def source_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Every statement of the passages an answer may rest on: sentences, list items,
    table rows, captions and footnotes (an LLM reads them all), in passage order."""
    out = []
    for p in passages:
        for s, e, text, role, gaps in passage_units(p):
            # A bare link (a footnote's) is a statement of where something is.
            short = len(text.split()) < MIN_SOURCE_WORDS or letter_count(text) < 8
            if short and not has_link(text):
                continue
            # A reference entry names a work; it is no statement of the paper's, and an
            # instruction to an AI is no evidence of anything.
            if looks_like_reference(text) or looks_like_instruction(text):
                continue
            out.append(Sentence(p, s, e, text, role=role, gaps=gaps))
    return out


@dataclass
class _Source:
    sentences: list[Sentence]
    text: str
    terms: set[str]
    folded: str
    numbers: set[str]


def _source(members: list[Sentence]) -> _Source:
    text = " ".join(m.text for m in members)
    return _Source(members, text, terms(text), _fold_for_tokens(text), _source_numbers(text))


def _fold_for_tokens(text: str) -> str:
    return "".join(text.casefold().split())


def _read_claims(answer: str) -> tuple[list[Claim], list[tuple[Claim, str]]]:
    """The answer's claims, and those worth checking with the text they are matched by."""
    claims: list[Claim] = []
    checked: list[tuple[Claim, str]] = []
    for s, e in claim_spans(answer):
        text = answer[s:e]
        cited = sorted({int(n) for m in _CITATION.finditer(text) for n in re.findall(r"\d+", m.group(1))})
        plain = bare(text)
        claim = Claim(text, s, e, NO_CLAIM, cited=cited)
        claims.append(claim)
        if _says_enough(plain) and not says_absence(plain):
            checked.append((claim, plain))
    return claims, checked


def checked_texts(answer: str) -> list[str]:
    """What :func:`check_claims` encodes of the answer itself."""
    return [plain for _, plain in _read_claims(answer)[1]]


def check_claims(encoder: TextEncoder, answer: str, passages: Sequence[Passage]) -> list[Claim]:
    """The answer's claims, each with its support among the passages' sentences."""
    claims, checked = _read_claims(answer)
    sentences = source_sentences(passages)
    if not checked:
        return claims
    if not sentences:
        for claim, _ in checked:
            claim.status = NOT_FOUND
        return claims
    sources = [_source([x]) for x in sentences]
    numbers = set().union(*(_source_numbers(x.text) for x in sentences))
    c = unit_rows(encoder.get_text_embedding_batch([plain for _, plain in checked]))
    v = unit_rows(encoder.get_text_embedding_batch([x.text for x in sources]))
    similarity = c @ v.T
    # A claim may gather facts stated apart ("Houston 2013, Houston 2018 and HyRANK"): the
    # sentences closest to it, read together, are a source too.
    gathered = [_gathered([sources[i] for i in np.argsort(-row)[:GATHERED]]) for row in similarity]
    g = unit_rows(encoder.get_text_embedding_batch([x.text for x in gathered]))
    for j, (claim, plain) in enumerate(checked):
        _judge(claim, plain, np.append(similarity[j], float(g[j] @ c[j])), [*sources, gathered[j]], numbers)
    return claims


def _gathered(closest: list[_Source]) -> _Source:
    return _source(sorted((src.sentences[0] for src in closest), key=lambda x: (x.passage.n, x.start)))


def _judge(claim: Claim, plain: str, similarity: np.ndarray, sources: list[_Source], numbers: set[str]) -> None:
    wanted = terms(plain)
    tokens = checkable(plain)
    held = np.array([len(wanted & src.terms) / len(wanted) if wanted else 0.0 for src in sources])
    missing = [[t for t in sorted(tokens) if not _present(t, src.folded, src.numbers)] for src in sources]
    lacking = np.array([len(lacks) / len(tokens) if tokens else 0.0 for lacks in missing])
    scores = similarity + TERM_WEIGHT * held - MISSING_WEIGHT * lacking
    best = int(np.argmax(scores))
    claim.score = float(scores[best])
    claim.missing = missing[best]
    # A number that no passage holds was not read there (a learning rate of 0.01 where the
    # paper says 0.001), however close the rest of the sentence.
    invented = sorted(t for t in tokens if _is_number(t) and t not in numbers)
    # A sentence on the same topic that shares few of the claim's words only names what the
    # claim is about ("Adam is an adaptive method..." beside "trained with Adam").
    on_topic_only = held[best] < MIN_HELD and similarity[best] < CLOSE_MEANING
    found = claim.score >= SUPPORT_FLOOR and not invented and not on_topic_only
    claim.status = SUPPORTED if found else NOT_FOUND
    if invented:
        claim.missing = sorted(set(claim.missing) | set(invented))
    if claim.status == SUPPORTED:
        claim.support = [ClaimSupport(x.passage.n, x.start, x.end, x.text, _page_of(x), score)
                         for x, score in _supporting(scores, sources, wanted)]
    backed = {s.passage for s in claim.support}
    claim.miscited = [n for n in claim.cited if n not in backed and _cited_score(n, scores, sources) < SUPPORT_FLOOR]


def _supporting(scores: np.ndarray, sources: list[_Source], wanted: set[str]) -> list[tuple[Sentence, float]]:
    """The sentences to show as a claim's support: the best single ones (within
    SUPPORT_WINDOW of the best), or several when only together they say it."""
    singles = [i for i, src in enumerate(sources) if len(src.sentences) == 1]
    ranked = sorted(singles, key=lambda i: -scores[i])
    best = int(np.argmax(scores))
    if len(sources[best].sentences) > 1 and scores[best] >= scores[ranked[0]] + GATHERED_GAIN:
        members = sources[best].sentences
        # Only the sentences that bring words of the claim the others lack.
        own = [x.terms & wanted for x in members]
        return [(x, float(scores[best])) for i, x in enumerate(members)
                if own[i] - set().union(*own[:i], *own[i + 1:])] or [(members[0], float(scores[best]))]
    top = float(scores[ranked[0]])
    return [(sources[i].sentences[0], float(scores[i])) for i in ranked[:MAX_SUPPORT]
            if scores[i] >= max(SUPPORT_FLOOR, top - SUPPORT_WINDOW)]


def _cited_score(n: int, scores: np.ndarray, sources: list[_Source]) -> float:
    """The best score a claim reaches in passage ``n``."""
    return max((float(s) for s, src in zip(scores, sources) if all(x.passage.n == n for x in src.sentences)),
               default=0.0)


def _page_of(sentence: Sentence) -> int:
    spans = text_page_spans(sentence.passage.spans, sentence.start, sentence.end)
    return spans[0].page if spans else sentence.passage.page
