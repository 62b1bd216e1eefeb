"""Every sentence of every evaluation paper can be boxed exactly (skipped without ../shared/eval).

Highlights are sentence spans turned into boxes, so checking every sentence checks every
highlight the app can show: two-column layouts, ligatures, hyphenation, CJK, a 155-page guideline.
"""

from __future__ import annotations

import pymupdf
import pytest
from conftest import PAPERS, comparable_page_text, plain_fold, readback

from assistant.pdf.reader import page_geometry
from assistant.text.normalize import fold
from assistant.text.sentences import sentence_spans

PDFS = sorted(PAPERS.glob("*.pdf")) if PAPERS.is_dir() else []


@pytest.mark.skipif(not PDFS, reason="evaluation papers not available")
@pytest.mark.parametrize("path", PDFS, ids=[p.stem[:40] for p in PDFS])
def test_every_sentence_is_boxed_exactly(path):
    checked = 0
    with pymupdf.open(path) as doc:
        for index in range(doc.page_count):
            page = doc[index]
            geometry = page_geometry(doc, index)
            assert comparable_page_text(geometry.text) == comparable_page_text(page.get_text()), (
                f"page {index + 1}: text differs from get_text()"
            )
            for start, end in sentence_spans(geometry.text, max_chars=400):
                sentence = geometry.text[start:end]
                rects = geometry.rects(start, end)
                if not sentence.strip():
                    continue
                assert rects, f"page {index + 1}: no box for {sentence!r}"
                for r in rects:
                    assert r.page == index + 1
                    assert 0 <= r.x0 < r.x1 <= page.rect.width + 0.01, (r, page.rect)
                    assert 0 <= r.y0 < r.y1 <= page.rect.height + 0.01, (r, page.rect)
                    back = readback(page, r)
                    assert plain_fold(r.text) in plain_fold(back), (index + 1, r.text, back)
                joined = fold("\n".join(r.text for r in rects)).replace(" ", "")
                assert joined == fold(sentence).replace(" ", ""), (index + 1, sentence)
                checked += 1
    assert checked > 0
