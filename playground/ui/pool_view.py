"""The Pooling page's engine calls and views: pooling step by step with the chosen maximum, and the
"shift the input by one pixel" comparison. Every number comes from ``playground.ops``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground import figures, ops
from playground.nn import export as code
from playground.ops import samples
from playground.ui import display, quiz, slides, state, widgets
from playground.ui.conv_view import fingerprint

SHIFTS = {"right": (0, 1), "down": (1, 0), "left": (0, -1), "up": (-1, 0)}


@dataclass(frozen=True, eq=False)
class PoolRun:
    """One (H, W) image pooled: the arrays and records the views show."""

    x: np.ndarray  # (H, W)
    settings: ops.PoolSettings
    pads: ops.Pads  # (top, bottom, left, right), symmetric per axis
    padded: np.ndarray  # (Hp, Wp) input with zero padding, for display (max pooling treats it as −∞)
    steps: ops.Steps  # of ops.PoolStep, row-major, made when asked for
    output: np.ndarray  # (OH, OW)
    formulas: tuple[str, str]


def compute_pool(x: np.ndarray, settings: ops.PoolSettings) -> PoolRun:
    """Run the engine once; raises ``ops.OpError`` with the user's message."""
    _, _, (ph, pw) = settings.resolved()
    steps = ops.pool_steps(x, settings)
    pads = (ph, ph, pw, pw)
    formulas = ops.pool_output_formulas(x.shape, settings)
    return PoolRun(x, settings, pads, ops.pad(x, pads, "zeros"), steps, steps.results, formulas)


def run_pool(page: str, x: np.ndarray, settings: ops.PoolSettings, problems: DeltaGenerator) -> PoolRun:
    """The engine's run, or its message in ``problems`` and the last valid run, still on screen."""
    return widgets.engine_run(
        page,
        fingerprint(x, settings),
        lambda: compute_pool(x, settings),
        lambda: compute_pool(samples.WORKED_4X4, ops.PoolSettings()),
        problems,
    )


def _facts(run: PoolRun) -> str:
    (kh, kw), (sh, sw), (ph, pw) = run.settings.resolved()
    h, w = run.x.shape
    return f"Input {h}×{w}, window {kh}×{kw}, stride {sh}" + (f"×{sw}" if sw != sh else "") + f", padding {ph}."


def show_steps(page: str, run: PoolRun, quizzing: bool = False) -> None:
    """Step controls, the window with the chosen maximum, the pooled map filling in, the arithmetic. With
    the quiz on, the output size and then each cell are asked before they are shown."""
    run_key = fingerprint(run.x, run.settings)
    if quizzing:
        quiz.practice_button(page)
        if not quiz.size_answered(page, run_key):
            quiz.ask_size(page, run_key, run.output.shape, _facts(run))
            return
        quiz.size_verdict(page, run_key, run.output.shape, run.formulas)
    index = widgets.step_controls(page, len(run.steps))
    step = run.steps[index]
    hidden = quizzing and not quiz.cell_answered(page, run_key, index)
    display.chart(
        figures.pool_step_figure(
            run.padded, run.pads, run.output, run.steps, index, kind=run.settings.kind, reveal=not hidden
        ),
        f"pooling-step-{index + 1}",
        stepping=True,
    )
    truth = float(run.output[step.out_pos])
    if hidden:
        quiz.ask_cell(page, run_key, index, step.out_pos, truth)
        return
    if quizzing:
        quiz.cell_verdict(page, run_key, index, ops.format_number(truth))
    r, c = step.out_pos
    with st.container(key="pool-arithmetic"):
        st.markdown(f"**Output ({r}, {c})** = {step.arithmetic()}")
    if step.argmax is not None:
        ar, ac = step.argmax
        st.caption(
            f"The blue ring marks the chosen maximum at row {ar - run.pads[0]}, column {ac - run.pads[2]} "
            "of the input; padding cells count as −∞, so they never win."
        )
    oh, ow = run.output.shape
    st.markdown(f"**Output size** {oh}×{ow}  \nheight: {run.formulas[0]}  \nwidth: {run.formulas[1]}")


def show_export(page: str, run: PoolRun) -> None:
    """The run as a GIF and as code, under the stepping view."""
    slides.slide_export(
        page,
        len(run.steps),
        lambda: figures.pool_player_data(
            run.padded, run.pads, run.output, run.steps, run.settings.kind, palette=display.palette()
        ),
        f"{fingerprint(run.x, run.settings)}:{display.palette().key}",
        "pooling",
        lambda: (code.pool_numpy(run.x, run.settings), code.pool_torch(run.x, run.settings)),
    )


SHIFT_DIGIT = "A digit (14×14)"


def show_shift(page: str, run: PoolRun) -> None:
    """Pool the input and the input moved by one pixel; show both maps and the fraction unchanged."""
    st.subheader("Shift the image by one pixel")
    a, b = st.columns(2)
    which = a.radio("Image", (SHIFT_DIGIT, "The input above"), horizontal=True, **state.keep(page, "shift_image"))
    direction = b.radio("Direction", tuple(SHIFTS), horizontal=True, **state.keep(page, "shift"))
    shift = SHIFTS[direction]
    x = samples.digit(3, 14) if which == SHIFT_DIGIT else run.x
    try:
        cmp = ops.shift_comparison(x, run.settings, shift)
    except ops.OpError as e:
        st.error(str(e))
        return
    with st.container(key="pool-overlap"):
        st.markdown(
            f"**{cmp.unchanged:.0%} of the pooled cells are unchanged** after moving the image one pixel "
            f"{direction} (edge pixels repeated into the gap). Changed cells have a dotted purple outline."
        )
        st.markdown(
            f"The move changed the pooled map by **{cmp.pooled_change:.0%}** and the image itself by "
            f"**{cmp.input_change:.0%}** (the sum of the differences over the sum of the values)."
        )
        if cmp.pooled_change < 0.9 * cmp.input_change:
            st.caption(
                "Pooling made the shift matter less: a window's maximum stays where it was as long as the "
                "strong pixel stays inside the window."
            )
        else:
            st.caption(
                "Here pooling did not make the shift matter less: when the values change smoothly (like a "
                "ramp) or the window is small, every window's result moves with the image. Pooling helps "
                "where strong features are sparse, like the strokes of a digit."
            )
    display.chart(figures.shift_figure(x, cmp.shifted, cmp.pooled, cmp.pooled_shifted, shift), "pooling-shift")
