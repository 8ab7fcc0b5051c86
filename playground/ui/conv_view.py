"""The Convolution page's engine calls and views: one run of the engine per configuration, then the
step-by-step view, the client-side animation, the several-channels view and the im2col view.

``compute_conv`` is plain numpy (it is what the speed benchmark times); the ``show_*`` functions
draw. Every number shown comes from ``playground.ops``; this module only lays it out.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground import figures, ops
from playground.nn import export as code
from playground.ops import kernels, samples
from playground.ui import display, handoff, player, quiz, slides, state, widgets

VIEWS = ("Step by step", "Play", "Several channels", "im2col (GEMM)")


@dataclass(frozen=True, eq=False)
class ConvRun:
    """One image (H, W) convolved with one kernel (KH, KW): every array the views show."""

    x: np.ndarray  # (H, W) input
    kernel: np.ndarray  # (KH, KW) as typed (before any flip)
    controls: widgets.ConvControls
    pads: ops.Pads  # (top, bottom, left, right)
    padded: np.ndarray  # (Hp, Wp) input after padding
    steps: ops.Steps  # of ops.ConvStep, row-major, made when asked for
    output: np.ndarray  # (OH, OW) before the activation
    activated: np.ndarray | None  # (OH, OW) after it, None for "none"
    formulas: tuple[str, str]  # output height and width with the user's numbers
    same_note: str | None  # where 'same' put its padding, when 'same' is chosen
    fingerprint: str

    @property
    def applied_kernel(self) -> np.ndarray:
        """(KH, KW) the kernel as the engine applied it (rotated 180° for true convolution)."""
        return self.steps[0].kernel[0]


def fingerprint(*parts: object) -> str:
    """A short digest of arrays and settings: equal inputs give equal runs (and cached figures)."""
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str(p.shape).encode() + np.ascontiguousarray(p, dtype=np.float64).tobytes())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:16]


def compute_conv(x: np.ndarray, kernel: np.ndarray, controls: widgets.ConvControls) -> ConvRun:
    """Run the engine once for these inputs; raises ``ops.OpError`` with the user's message."""
    s = controls.settings
    pads = s.pads(kernel.shape)
    steps = ops.conv_steps(x, kernel, controls.bias, s)
    output = steps.results
    activated = None if controls.activation == "none" else ops.activate(controls.activation, output)
    formulas = ops.conv_output_formulas(x.shape, kernel.shape, s)
    note = ops.same_padding_note(kernel.shape, s.dilation) if s.padding == "same" else None
    return ConvRun(
        x,
        kernel,
        controls,
        pads,
        ops.pad(x, pads, s.padding_mode),
        steps,
        output,
        activated,
        formulas,
        note,
        fingerprint(x, kernel, controls),
    )


def _failed_formulas(x: np.ndarray, kernel: np.ndarray, controls: widgets.ConvControls) -> list[str]:
    """The output-size formula for the rejected settings, when it can be written (it shows the ≤ 0)."""
    try:
        return list(ops.conv_output_formulas(x.shape, kernel.shape, controls.settings))
    except ops.OpError:
        return []


def run_conv(
    page: str, x: np.ndarray, kernel: np.ndarray, controls: widgets.ConvControls, problems: DeltaGenerator
) -> ConvRun:
    """The engine's run for these inputs, or, when the engine refuses them, its message in
    ``problems`` (the slot under the settings) and the last valid run, still on screen."""
    try:
        run = state.memo(page, "run", fingerprint(x, kernel, controls), lambda: compute_conv(x, kernel, controls))
        state.put(page, "last_run", run)
        return run
    except ops.OpError as e:
        message = str(e)
        with problems.container():
            st.error(message)
            for axis, text in zip(("height", "width"), _failed_formulas(x, kernel, controls)):
                st.caption(f"Output {axis}: {text}")
    last = state.get(page, "last_run", None)
    if last is None:
        last = compute_conv(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2, widgets.ConvControls())
    st.warning(f"These settings cannot be used: {message} The last valid configuration is shown.")
    return last


def _arithmetic(step: ops.ConvStep, key: str) -> None:
    r, c = step.out_pos
    with st.container(key=key):
        st.markdown(f"**Output ({r}, {c})** = {step.arithmetic()}")


def _formulas(run: ConvRun) -> None:
    oh, ow = run.output.shape
    st.markdown(
        f"**Output size** {oh}×{ow} = ⌊(n + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1  \n"
        f"height: {run.formulas[0]}  \nwidth: {run.formulas[1]}"
    )
    if run.same_note:
        st.info(run.same_note)


def _activation(run: ConvRun, step: ops.ConvStep, index: int) -> None:
    name = run.controls.activation
    label = ops.ACTIVATION_LABELS[name]
    value = float(ops.activate(name, np.array([step.result]))[0])
    st.markdown(
        f"**After the activation:** {label}({ops.format_number(step.result)}) = "
        f"{ops.format_number(value)}  ({ops.ACTIVATION_FORMULAS[name]})"
    )
    reach = max(3.0, float(np.abs(run.output).max()) * 1.1)
    xs = np.linspace(-reach, reach, 241)
    left, right = st.columns([3, 2])
    display.chart(figures.activation_figure(xs, ops.activate(name, xs), label, (step.result, value)), name, where=left)
    display.chart(
        figures.feature_map_figure(run.activated, run.steps, index, f"After {label}"), f"after-{name}", where=right
    )


@lru_cache(maxsize=4)
def _source(fn_name: str) -> str:
    return inspect.getsource(getattr(ops, fn_name))


def _facts(run: ConvRun) -> str:
    """The settings a student needs for the output size, in words."""
    s = run.controls.settings
    top, bottom, left, right = run.pads
    pads = (
        f"padding {top}"
        if len(set(run.pads)) == 1
        else f"padding top {top}, bottom {bottom}, left {left}, right {right}"
    )
    stride = (
        f"stride {s.stride[0]}"
        if s.stride[0] == s.stride[1]
        else f"stride {s.stride[0]} (rows), {s.stride[1]} (columns)"
    )
    dilation = (
        f"dilation {s.dilation[0]}" if s.dilation[0] == s.dilation[1] else f"dilation {s.dilation[0]}×{s.dilation[1]}"
    )
    (h, w), (kh, kw) = run.x.shape, run.kernel.shape
    return f"Input {h}×{w}, kernel {kh}×{kw}, {stride}, {pads}, {dilation}."


def show_steps(page: str, run: ConvRun, quizzing: bool = False) -> None:
    """Step controls, input ∗ kernel = output at the current step, its arithmetic and the formulas. With
    the quiz on, the output size and then each cell are asked before they are shown."""
    if quizzing:
        quiz.practice_button(page)
        if not quiz.size_answered(page, run.fingerprint):
            quiz.ask_size(page, run.fingerprint, run.output.shape, _facts(run))
            return
        quiz.size_verdict(page, run.fingerprint, run.output.shape, run.formulas)
    index = widgets.step_controls(page, len(run.steps))
    step = run.steps[index]
    hidden = quizzing and not quiz.cell_answered(page, run.fingerprint, index)
    display.chart(
        figures.conv_step_figure(
            run.padded, run.pads, run.applied_kernel, run.output, run.steps, index, reveal=not hidden
        ),
        f"convolution-step-{index + 1}",
        stepping=True,
    )
    truth = float(run.output[step.out_pos])
    if hidden:
        quiz.ask_cell(page, run.fingerprint, index, step.out_pos, truth)
        return
    if quizzing:
        quiz.cell_verdict(page, run.fingerprint, index, ops.format_number(truth))
    _arithmetic(step, "conv-arithmetic")
    if run.controls.settings.flip:
        st.caption("True convolution: the kernel was rotated 180° before sliding, so the panel shows it flipped.")
    _formulas(run)
    if run.activated is not None:
        _activation(run, step, index)
    with st.expander("The code that computed this (playground/ops)"):
        st.code(_source("conv_steps"), language="python")
        st.code(_source("conv2d"), language="python")


MAX_PLAY_FRAMES = 2_500  # a 28×28 hand-over has 784 steps, 50×50 with padding 2,500; each is sent to the browser


def show_export(page: str, run: ConvRun) -> None:
    """The run as a GIF and as code, under the stepping and Play views."""
    s, bias = run.controls.settings, run.controls.bias
    slides.slide_export(
        page,
        len(run.steps),
        lambda: figures.conv_player_data(
            run.padded, run.pads, run.applied_kernel, run.output, run.steps, palette=display.palette()
        ),
        f"{run.fingerprint}:{display.palette().key}",
        "convolution",
        lambda: (code.conv_numpy(run.x, run.kernel, s, bias), code.conv_torch(run.x, run.kernel, s, bias)),
    )


def show_play(page: str, run: ConvRun) -> None:
    """The whole run played in the browser: play / pause, step back and forth, jump with the slider,
    the arithmetic of every cell as it is computed; no server round trip per step."""
    if len(run.steps) > MAX_PLAY_FRAMES:
        st.warning(
            f"This convolution has {len(run.steps):,} steps; Play holds at most {MAX_PLAY_FRAMES:,} "
            "(each one is sent to your browser). Use Step by step to walk through it, or a larger stride or "
            "less padding to play it."
        )
        return
    data = figures.conv_player_data(
        run.padded,
        run.pads,
        run.applied_kernel,
        run.output,
        run.steps,
        start=state.step_index(page, len(run.steps)),
        palette=display.palette(),
    )
    player.show(page, data, f"{run.fingerprint}:{display.palette().key}")
    st.caption(
        "Playback runs in your browser, so it stays smooth on a slow network. Where you stop is where "
        "Step by step carries on."
    )


CHANNEL_DEFAULTS = ("Sobel x", "Sobel y", "Box blur")


def _three_by_three() -> list[str]:
    return [name for name, p in kernels.PRESETS.items() if p.array.shape == (3, 3)]


def _channel_filter(
    page: str, rgb: np.ndarray | None, bias: float, settings: ops.ConvSettings
) -> tuple[np.ndarray, np.ndarray, float]:
    """The colour input (3, H, W), one filter's kernels (3, KH, KW) and its bias: a colour network's own when
    its layer was handed over from Draw & Predict (and is the input), else presets on the page's input."""
    given = handoff.held() if page == handoff.PAGE else None
    if given is not None and given.channels is not None and rgb is given.channels:
        k = given.kernels.shape[1:]
        own = (
            settings.pads(k) == given.settings.pads(k)
            and (tuple(settings.stride), tuple(settings.dilation)) == (given.stride, given.dilation)
            and (settings.padding_mode, settings.flip) == ("zeros", False)
        )
        st.caption(
            f"Input: the three channels of {given.label.split(',')[0]}'s input as the network computed them "
            f"(red, green and blue, normalised), with the filter's three learned {k[0]}×{k[1]} kernels and its "
            f"bias {given.full_bias:.4g}: "
            + (
                "the output is the network's own map."
                if own
                else "the stride, padding or dilation differ from the layer's, so the output is not the network's map."
            )
        )
        return given.channels, given.kernels, given.full_bias
    options = _three_by_three()
    cols = st.columns(4)
    names = [
        cols[c].selectbox(
            f"{ch} kernel",
            options,
            index=options.index(CHANNEL_DEFAULTS[c]),
            **state.keep(page, f"channel_kernel.{ch}"),
        )
        for c, ch in enumerate("RGB")
    ]
    size = cols[3].select_slider(
        "RGB sample size", options=(6, 8, 10, 12, 16), value=8, **state.keep(page, "rgb_size"), disabled=rgb is not None
    )
    st.caption(
        "Input: your uploaded image in colour."
        if rgb is not None
        else "Input: a red disc, a green bar and a blue bar, one shape per channel."
    )
    image = rgb if rgb is not None else samples.rgb_sample(size)
    return image, np.stack([kernels.PRESETS[n].array for n in names]), bias  # (3, 3, 3)


def show_channels(page: str, run: ConvRun, rgb: np.ndarray | None) -> None:
    """An RGB input (3, H, W) with a 3-channel filter: per-channel partial sums plus bias; then
    several filters giving a stack of output maps. Uses the page's stride/padding/dilation (and bias, unless
    a colour network's filter was handed over with its own)."""
    s = run.controls.settings
    image, w, bias = _channel_filter(page, rgb, run.controls.bias, s)
    k = w.shape[1:]
    try:
        steps = ops.conv_steps(image, w, bias, s)
        out = steps.results
        partials = np.stack([ops.conv2d(image[None, c : c + 1], w[None, c : c + 1], None, s)[0, 0] for c in range(3)])
        pads = s.pads(k)
        padded = ops.pad(image, pads, s.padding_mode)
    except ops.OpError as e:
        st.error(f"{e} (for the {image.shape[1]}×{image.shape[2]} colour input and its {k[0]}×{k[1]} kernels)")
        return
    index = widgets.step_controls(page, len(steps))
    step = steps[index]
    display.chart(
        figures.channels_figure(padded, pads, w, partials, out, steps, index),
        f"channels-step-{index + 1}",
        stepping=True,
    )
    _arithmetic(step, "channels-arithmetic")
    for c, ch in enumerate("RGB"):
        st.caption(f"{ch}: {step.channel_arithmetic(c)}")
    st.subheader("Several filters: a stack of output maps")
    chosen = st.multiselect(
        "Filters (each applied to all three channels)",
        _three_by_three(),
        default=["Sobel x", "Sobel y", "Laplacian (4-neighbour)"],
        **state.keep(page, "filters"),
        max_selections=6,
    )
    if chosen:
        stack = np.stack([np.repeat(kernels.PRESETS[n].array[None], 3, axis=0) for n in chosen])  # (F, 3, 3, 3)
        maps = ops.conv2d(image[None], stack, np.full(len(chosen), run.controls.bias), s)[0]  # (F, OH, OW)
        display.chart(figures.filter_stack_figure(maps, chosen), "filter-stack")
        st.caption(
            f"{len(chosen)} filters of shape 3×3×3 turn the 3-channel input into {len(chosen)} output "
            f"maps of {maps.shape[1]}×{maps.shape[2]}: the next layer sees {len(chosen)} channels."
        )


def show_im2col(page: str, run: ConvRun) -> None:
    """The unfolded matrix, the GEMM, the identical result, and how much larger the matrix is."""
    s = run.controls.settings
    kh, kw = run.kernel.shape
    cmp = ops.im2col_comparison(run.x, run.kernel, run.controls.bias, s)
    cols, gemm = cmp.cols, cmp.gemm  # (KH*KW, OH*OW), (OH, OW)
    index = widgets.step_controls(page, len(run.steps))
    labels = [f"({i},{j})" for i in range(kh) for j in range(kw)]
    display.chart(
        figures.im2col_figure(
            run.applied_kernel.reshape(1, -1), cols, gemm.reshape(1, -1), index, labels, bias=bool(run.controls.bias)
        ),
        f"im2col-step-{index + 1}",
    )
    h, w = run.x.shape
    st.markdown(
        f"**Unfolded matrix** {cols.shape[0]}×{cols.shape[1]} = {cols.size:,} numbers for a {h}×{w} = "
        f"{run.x.size:,}-pixel input: **{cmp.size_ratio:.2f}×** as many (every pixel is copied into each window that covers it).  \n"
        f"**Identical result:** the GEMM output reshaped to {gemm.shape[0]}×{gemm.shape[1]} differs from the "
        f"direct sliding window by at most **{cmp.max_abs_diff:.1e}**"
        + (f" (bias {ops.format_number(run.controls.bias)} added to every cell)." if run.controls.bias else ".")
    )
    _arithmetic(run.steps[index], "im2col-arithmetic")
    with st.expander("The code that computed this (playground/ops)"):
        st.code(_source("im2col"), language="python")
        st.code(_source("conv2d_gemm"), language="python")
