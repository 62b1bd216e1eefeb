"""The paper viewer scrolls itself, never the page around it.

streamlit-pdf-viewer brings its target sentence into view with the browser's
``scrollIntoView``, which scrolls every scrollable ancestor, across the viewer's frame:
so each viewer that loaded also scrolled the app's page to it. A chat reopened landed
wherever the last viewer to load was, the Batch page opened at its bottom, and the
Review page's move to the next answer's start was undone. This script, added once to the
app's page, gives each viewer frame (same origin) a ``scrollIntoView`` that scrolls only
the frame's own scrolling boxes, so the sentence is brought into the viewer and the page
stays where the reader, or the app, put it.
"""

from __future__ import annotations

import streamlit as st

VIEWER_FRAME = 'iframe[title="streamlit_pdf_viewer.streamlit_pdf_viewer"]'

_SCRIPT = """
<script>
(() => {
  const top = window;
  if (top.__viewerScrollInside) return;
  top.__viewerScrollInside = true;
  const inside = function (options) {
    const doc = this.ownerDocument, win = doc.defaultView;
    const centre = options && typeof options === "object" && options.block === "center";
    for (let node = this.parentElement; node; node = node.parentElement) {
      const root = node === doc.scrollingElement;
      const overflow = win.getComputedStyle(node).overflowY;
      if (!root && !(/(auto|scroll)/.test(overflow) && node.scrollHeight > node.clientHeight)) continue;
      const box = this.getBoundingClientRect();
      const frame = root ? {top: 0, height: win.innerHeight} : node.getBoundingClientRect();
      node.scrollTop += box.top - frame.top - (centre ? (frame.height - box.height) / 2 : 0);
      if (root) break;
    }
  };
  const patch = (frame) => {
    try {
      const win = frame.contentWindow;
      if (win && win.Element && win.Element.prototype.scrollIntoView !== inside) {
        win.Element.prototype.scrollIntoView = inside;
      }
    } catch (e) { /* another origin: left as it is */ }
  };
  const watch = (frame) => {
    if (frame.__watched) return;
    frame.__watched = true;
    patch(frame);
    frame.addEventListener("load", () => patch(frame));
  };
  const all = () => top.document.querySelectorAll('%s').forEach(watch);
  new MutationObserver(all).observe(top.document.body, {childList: true, subtree: true});
  all();
})();
</script>
""" % VIEWER_FRAME


def keep_viewer_scroll_inside() -> None:
    """Add the script to this page (it installs itself once per browser tab)."""
    st.html(_SCRIPT, unsafe_allow_javascript=True)
