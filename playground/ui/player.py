"""The Play view's player: a Streamlit component (``st.components.v2``, no iframe) that paints the
data of ``figures.player`` and steps through it in the browser.

Steps, playback and keys (Space, ←/→, Page Up/Down, Home/End: a presentation clicker's keys) cost no
server round trip; when the player comes to rest it reports its step, so the stepping view carries
on from there. Its script and style are ``web/player.js`` and ``web/player.css``.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path

import streamlit as st

from playground.ui import display, state

WEB = Path(__file__).resolve().parent / "web"


@lru_cache(maxsize=1)
def _component():
    """Registered on first use, once per server process (not at import)."""
    return st.components.v2.component(
        "cnn_playground.conv_player",
        js=(WEB / "player.js").read_text(encoding="utf-8"),
        css=(WEB / "player.css").read_text(encoding="utf-8"),
    )


def _rested(page: str, n_steps: int) -> None:
    value = state.peek(page, "player")
    position = value.get("position") if hasattr(value, "get") else None
    if isinstance(position, int) and not isinstance(position, bool):  # whatever else arrives is ignored
        state.set_step_index(page, position, n_steps)


def show(page: str, data: dict, signature: str) -> None:
    """Mount the player for ``data`` (``figures.player.conv_player_data``) on ``page``; ``signature``
    names the run, so the player keeps its place across reruns of the same run."""
    n_steps = len(data["steps"])
    _component()(
        key=state.key(page, "player"),
        data={**data, "signature": signature, "style": {**data["style"], "present": display.presenting()}},
        on_position_change=partial(_rested, page, n_steps),
    )
