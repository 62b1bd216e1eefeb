"""Text as it is compared: folded for matching, made readable for showing and encoding,
reduced to content words and stems for keyword matching.

Every place that matches text (quotes against pages, questions against sentences, BM25
against chunks) reads it through this module, so two sides of a comparison are always
normalised alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_SPACE = re.compile(r"\s+")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")


# For matching, a hyphen between a word and whitespace is a line-end break, whether the
# newline is still there ("classi-\nfication") or was already folded ("classi- fication",
# as quotes of whitespace-folded text have it). Both sides fold alike, so the rare real
# suspended hyphen ("pre- and post-") costs nothing.
_FOLDED_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")


def fold(text: str) -> str:
    """NFKC, casefold, end-of-line hyphenation joined, whitespace folded: for matching only."""
    text = unicodedata.normalize("NFKC", text)
    text = _FOLDED_HYPHEN_BREAK.sub(r"\1\2", text)
    return _SPACE.sub(" ", text).strip().casefold()


# Unicode's control characters (category Cc) but line breaks and tabs: one pattern, not a
# look-up per character (this runs on every passage unit a question reads).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def readable(text: str) -> str:
    """Ligatures expanded (NFKC); control characters that math fonts leave behind become spaces."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))


# A web address broken at a line end where it cannot end ("mit.edu/" + "isbi_challenge/",
# "https:" + "//github.com/..."): the next line carries on the address.
_BROKEN_LINK = re.compile(r"((?:https?:|www\.)(?:\S*[/:_\-.=?&~#])?)[ \t]*\n\s*(?=[a-z0-9/_~#%])")


def display(text: str) -> str:
    """A passage's text made readable: as :func:`readable`, line-end hyphens joined, web
    addresses broken over two lines joined, lines unwrapped."""
    text = _BROKEN_LINK.sub(r"\1", _HYPHEN_BREAK.sub(r"\1\2", readable(text)))
    return _SPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """``text``, or its start cut at a word within ``limit`` characters with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


_HINT = re.compile(r"\(\s*e\.\s*g\.[^)]*\)", re.IGNORECASE)


def question_for_matching(question: str) -> str:
    """The question without its "(e.g., ...)" list, whose examples say what kind of fact is
    wanted, not words the paper must contain (the seed's questions all carry one)."""
    return _HINT.sub(" ", question)


@lru_cache(maxsize=32_768)  # every passage sentence's words, read again by each question and answer
def without_accents(text: str) -> str:
    """Accents taken off ("implémentés" -> "implementes"), as both sides of keyword matching read text."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def stemmer():
    """English Snowball stemming, the one BM25 and sentence terms share (loaded once)."""
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(words: Sequence[str]) -> list[str]:
    """Words reduced as BM25 reduces them ("implemented", "implementes" -> "implement")."""
    return stemmer().stemWords(list(words))


_WORD = re.compile(r"[\w][\w.\-]*\w|\w")


STOPWORDS = frozenset(
    """a an and are as at be been by can could did do does for from had has have how i in into is it its
    of on or our that the their them there these this those to under used uses using via was were what when
    where which who whom why will with within would you your paper study authors model models deep learning
    pipeline e.g kind type types setting settings detail details""".split()
)


def content_words(text: str) -> set[str]:
    """The folded words of a text that say what it is about (no stop words, no single letters)."""
    return {w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1}


def terms(text: str) -> set[str]:
    """Content words as BM25 matches them: accent-free and stemmed, so a question's
    "implemented" is found in "implémentés" and "optimizer" in "optimizers"."""
    return set(stems(sorted(content_words(without_accents(text)))))
