"""'On a slide': the current convolution or pooling as an animated GIF (a cell range, a frame rate) and
as numpy and PyTorch code that reproduces its output. Every picture and line comes from the engine
through ``figures.gif`` and ``nn.export``; this module lays out the controls."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from playground.figures import gif
from playground.ui import state

FPS = (1, 2, 5, 10, 20)
DEFAULT_CELLS = 100  # the first hundred cells: a GIF of a few seconds and ~1 MB


def _make_gif(data: dict, first: int, last: int, fps: int) -> bytes:
    return gif.gif_bytes(gif.frames(data, first - 1, last - 1, max_frames=gif.WEB_MAX_FRAMES), fps)


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e6 else f"{max(1, round(nbytes / 1e3))} KB"


def slide_export(
    page: str,
    n: int,
    make_data: Callable[[], dict],
    fingerprint: str,
    name: str,
    make_code: Callable[[], tuple[str, str]],
) -> None:
    """An expander with the GIF controls and download, and the two snippets. ``n`` is the run's number of
    steps; ``make_data()`` builds its stepping data (``figures.player``), only when a GIF is asked for
    (not on every step of the page); ``make_code()`` gives the numpy and PyTorch snippets, written only
    while "Show the code" is on (a 28×28 input's are ~10 KB, which every step would resend);
    ``fingerprint`` names the run, ``name`` the file."""
    with st.expander("On a slide: an animated GIF and the code"):
        row = st.container(horizontal=True, wrap=True, vertical_alignment="bottom", key=f"{page}-gif-controls")
        # no max_value: a bound that follows the settings would make a new widget and lose the number
        first = int(
            row.number_input("From cell", min_value=1, value=1, step=1, width=130, **state.keep(page, "gif_from"))
        )
        last = int(
            row.number_input(
                "To cell", min_value=1, value=min(n, DEFAULT_CELLS), step=1, width=130, **state.keep(page, "gif_to")
            )
        )
        fps = row.select_slider("Frames a second", FPS, value=5, width=220, **state.keep(page, "gif_fps"))
        made_key = f"{fingerprint}:{first}:{last}:{fps}"
        if row.button("Make the GIF", key=state.key(page, "gif_make")):
            try:
                blob = _make_gif(make_data(), first, last, fps)
                state.put(page, "gif", (made_key, blob))
            except gif.GifError as e:
                st.error(str(e))
        held = state.get(page, "gif", None)
        if held is not None and held[0] == made_key:
            st.download_button(
                f"⬇ Download the GIF ({_size(len(held[1]))}, cells {first}–{last} of {n})",
                held[1],
                file_name=f"{name}-cells-{first}-{last}.gif",
                mime="image/gif",
                key=state.key(page, "gif_download"),
            )
        else:
            st.caption(
                f"{n} cells in all; a GIF holds up to {gif.WEB_MAX_FRAMES} (the command line makes longer ones), 1280 px wide, one frame per cell."
            )
        if st.toggle("Show the code (numpy and PyTorch)", **state.keep(page, "show_code")):
            numpy_code, torch_code = make_code()
            numpy_tab, torch_tab = st.tabs(["numpy", "PyTorch"])
            numpy_tab.code(numpy_code, language="python")
            torch_tab.code(torch_code, language="python")
            st.caption("Each snippet prints the output map shown above (before any activation).")
