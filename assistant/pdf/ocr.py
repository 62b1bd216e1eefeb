"""When a page's text layer cannot be trusted, and reading the page with Tesseract instead.

OCR goes through PyMuPDF (``Page.get_textpage_ocr``), so OCR'd words come with boxes in
page coordinates like any other text, and highlights land on the page image. The script
of a page (Latin, Han, Hangul, Arabic...) is found first with Tesseract's orientation and
script detection, so that a Chinese scan is read with the Chinese model, not the English one.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

import pymupdf

log = logging.getLogger(__name__)

# Below this many visible characters a page that is mostly image counts as scanned.
MIN_PAGE_CHARS = 20
# A page showing this share of control, private-use or replacement characters has a
# font without a usable Unicode map (or one shifted by a fixed offset): its text is garbage.
MAX_BAD_SHARE = 0.05
# A picture covering this share of the page makes it a scan (or a page that is one figure).
SCAN_COVER = 0.5
# Tesseract's script confidence for Han pages sits near 1 even on clean scans; wrong guesses
# on Latin pages at 300 dpi stayed below 0.5.
OSD_MIN_CONFIDENCE = 0.5

# Tesseract's script names (orientation and script detection) -> its language models.
SCRIPT_LANGUAGES = {
    "Han": "chi_sim",
    "Hangul": "kor",
    "Japanese": "jpn",
    "Katakana": "jpn",
    "Hiragana": "jpn",
    "Arabic": "ara",
    "Cyrillic": "rus",
    "Greek": "ell",
    "Hebrew": "heb",
    "Devanagari": "hin",
}


class PageState(Enum):
    GOOD = "good"
    NO_TEXT = "no text"  # a scan, or a page that is one picture
    GARBLED = "garbled"  # characters without meaning (broken font encoding)
    OCR_LAYER = "ocr layer"  # invisible text laid over a scan by some earlier OCR


@dataclass(frozen=True)
class PageCheck:
    state: PageState
    reason: str = ""


def bad_share(text: str) -> float:
    """Share of visible characters that are control, private-use, unassigned or U+FFFD."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    bad = sum(1 for c in chars if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn", "Cs"))
    return bad / len(chars)


def image_cover(page: pymupdf.Page) -> float:
    """The share of the page covered by its largest picture."""
    area = abs(page.rect)
    if not area:
        return 0.0
    largest = 0.0
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & page.rect
        largest = max(largest, abs(box) / area)
    return largest


def check_page(page: pymupdf.Page, text: str) -> PageCheck:
    visible = sum(1 for c in text if not c.isspace())
    if visible < MIN_PAGE_CHARS:
        if image_cover(page) >= SCAN_COVER or (visible == 0 and page.get_images()):
            return PageCheck(PageState.NO_TEXT, "no text layer")
        return PageCheck(PageState.GOOD)
    share = bad_share(text)
    if share >= MAX_BAD_SHARE:
        return PageCheck(PageState.GARBLED, f"{share:.0%} of its characters are unreadable codes")
    if is_ocr_layer(page):
        return PageCheck(PageState.OCR_LAYER, "an earlier OCR's invisible text over a scan")
    return PageCheck(PageState.GOOD)


def is_ocr_layer(page: pymupdf.Page) -> bool:
    """Whether most of a page's text is invisible text laid over a picture covering it:
    an earlier OCR's reading of a scan."""
    if image_cover(page) < SCAN_COVER:
        return False
    try:
        trace = page.get_texttrace()
    except Exception:
        trace = []
    total = sum(len(s["chars"]) for s in trace)
    invisible = sum(len(s["chars"]) for s in trace if s.get("type") == 3)
    return bool(total) and invisible / total >= 0.5


_TOKEN = re.compile(r"[^\W\d_]{3,}")


def word_score(text: str) -> float | None:
    """Share of the longer Latin-script words that are common words of some European
    language; None when there are too few to judge. Used only to compare two readings
    of the same page (the page's own OCR layer against a fresh one), never as a bar."""
    from wordfreq import zipf_frequency

    words = [w.lower() for w in _TOKEN.findall(text) if w.isascii()]
    if len(words) < 20:
        return None
    best = 0.0
    for lang in ("en", "fr", "de", "es", "pt", "it", "nl"):
        known = sum(1 for w in words if zipf_frequency(w, lang) >= 2.5)
        best = max(best, known / len(words))
    return best


@functools.cache
def installed_languages() -> frozenset[str]:
    """Tesseract's language models on this machine (empty when Tesseract is missing)."""
    tessdata = tessdata_dir()
    if not tessdata:
        return frozenset()
    from pathlib import Path

    return frozenset(p.stem for p in Path(tessdata).glob("*.traineddata"))


@functools.cache
def tessdata_dir() -> str | None:
    try:
        return pymupdf.get_tessdata()
    except Exception:  # PyMuPDF raises when Tesseract is not installed
        return None


def available() -> bool:
    return bool(installed_languages())


def missing_languages(language: str) -> list[str]:
    """The parts of a Tesseract language string ("eng+fra") that are not installed."""
    return [part for part in language.split("+") if part and part not in installed_languages()]


def page_language(page: pymupdf.Page, default: str, dpi: int) -> str | None:
    """The Tesseract language(s) to read ``page`` with: ``default`` for Latin script, else
    the model of the detected script if installed; None when the script cannot be told."""
    if "osd" not in installed_languages():
        return None
    import pytesseract
    from PIL import Image

    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False, annots=False)
    image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT, config="--psm 0")
    except Exception as exc:  # too little text to tell, or Tesseract failed
        log.debug("script detection failed: %s", exc)
        return None
    if float(osd.get("script_conf", 0)) < OSD_MIN_CONFIDENCE:
        return None
    language = SCRIPT_LANGUAGES.get(osd.get("script", ""))
    return language if language in installed_languages() else default


def ocr_textpage(page: pymupdf.Page, language: str, dpi: int, flags: int) -> pymupdf.TextPage:
    """The whole page read by Tesseract, as a text page with word boxes in page coordinates."""
    return page.get_textpage_ocr(flags=flags, language=language, dpi=dpi, full=True, tessdata=tessdata_dir())
