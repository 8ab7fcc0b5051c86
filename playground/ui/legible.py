"""Cell numbers only where they fit, at any screen width: a script-only Streamlit component
(``web/legible.js``) that hides a heatmap's numbers when its cells are too small for them.

Figures are built on the server, which does not know the screen; Plotly shrinks cells to fit a
phone but keeps the text size. The check runs in the browser after every redraw.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import streamlit as st

WEB = Path(__file__).resolve().parent / "web"


@lru_cache(maxsize=1)
def _component():
    """Registered on first use, once per server process (not at import)."""
    return st.components.v2.component(
        "cnn_playground.legible_numbers", js=(WEB / "legible.js").read_text(encoding="utf-8"), isolate_styles=False
    )


def watch() -> None:
    """Mount the check on this page (it installs one observer per browser page)."""
    _component()(key="legible-numbers", height="content")
