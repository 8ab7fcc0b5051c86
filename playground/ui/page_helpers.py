"""What every page needs in the browser itself, as one script-only Streamlit component (``web/page.js``):

- cell numbers only where they fit: figures are built on the server, which does not know the screen,
  and Plotly shrinks cells to fit a phone but keeps the text size, so a heatmap's numbers are hidden
  when its cells are too small for them (checked after every redraw);
- a presentation clicker's keys: Page Down / Page Up press a stepping view's Next / Previous (its
  buttons answer → ← Home End themselves), without clicking into the page first.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import streamlit as st

WEB = Path(__file__).resolve().parent / "web"
KEY = "page-helpers"


@lru_cache(maxsize=1)
def _component():
    """Registered on first use, once per server process (not at import)."""
    return st.components.v2.component(
        "cnn_playground.page_helpers", js=(WEB / "page.js").read_text(encoding="utf-8"), isolate_styles=False
    )


def mount() -> None:
    """Mount the helpers on this page (they install themselves once per browser page)."""
    _component()(key=KEY, height="content")
