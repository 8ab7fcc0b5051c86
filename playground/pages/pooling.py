"""Pooling: shrink a feature map by keeping the largest (or the average) value of each window."""

import streamlit as st

from playground.ui import display, inputs, links, pool_view, quiz, widgets

PAGE = "pool"

INTRO = (
    "Pooling slides a window over the image like a convolution, but instead of weights it keeps one "
    "number per window: the **maximum** or the **average**. The map gets smaller and a small shift of "
    "the input changes less of it. With a 2×2 window and stride 2, the 4×4 example 1 … 16 pools to "
    "6, 8, 14, 16. Step through the windows below, then shift the input by one pixel."
)
head = display.header("Pooling", INTRO)

links.restore(PAGE)  # an opened link sets the widgets below
with head.controls:
    st.header("Input")
    source = inputs.input_chooser(PAGE, default=inputs.WORKED_4X4)
    st.header("Pooling")
    settings = widgets.pool_controls(PAGE)
    problems = st.empty()  # the engine's message about the settings appears here

run = pool_view.run_pool(PAGE, source.array, settings, problems)
head.note(f"Input: {source.label}.")
with st.container(horizontal=True, wrap=True, vertical_alignment="center", key="pool-view-bar"):
    links.publish(PAGE)  # the address follows every setting
    quizzing = quiz.switch(PAGE)  # predict first

pool_view.show_steps(PAGE, run, quizzing)
pool_view.show_export(PAGE, run)
pool_view.show_shift(PAGE, run)
