"""The Backpropagation page's controls and views: the network's settings, one engine run per
configuration, then a stage of the training step at a time, cell by cell.

Every number comes from ``playground.ops.backprop_run``; this module only lays it out.
"""

from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground import ops
from playground.figures import backprop as figures
from playground.figures import draw
from playground.ops import backprop_run, backward, layers, network, samples
from playground.ops.backprop_run import STAGE_LABELS, STAGES, BackpropRun, BackpropSettings
from playground.ops.layers import LOSS_FORMULAS, LOSS_LABELS, LOSSES
from playground.ops.network import INIT_LABELS, INITS
from playground.ui import display, state, widgets
from playground.ui.conv_view import fingerprint

MAX_CHECKS = 12
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)

# what each stage's rule is, in one sentence, shown above its figure
RULES = {
    "forward": "The forward pass: each filter's map z1 = x ∗ W1 + b1, the activation a1, pooling p1, then the "
    "dense layer's logits z2 and their softmax p.",
    "loss": "With cross-entropy the gradient of the logits is simply softmax − one-hot: dz2 = p − t.",
    "dense_w": "Each weight's gradient is the product of the gradient arriving at its output and the input it "
    "multiplied: dW2 = dz2 · fᵀ, an outer product.",
    "dense_b": "A bias is added once to its output, so its gradient is that output's gradient: db2 = dz2.",
    "dense_x": "The gradient flowing back into the features is W2ᵀ · dz2: each feature collects the gradients of "
    "every output it fed, weighted by the weight that carried it.",
    "flatten": "Flatten only reshapes, so its gradient is the same numbers reshaped back into maps.",
    "pool": "Max pooling passes each gradient to the one cell that won its window (the first maximum in "
    "row-major order, as PyTorch does); the others get 0. Average pooling shares it equally.",
    "act": "The activation's gradient multiplies by its slope: ReLU passes the gradient where its input was "
    "positive and stops it elsewhere.",
    "conv_w": "A kernel weight's gradient is the input cross-correlated with dz1: the weight touched one input "
    "pixel per output cell, so it sums input × output gradient over all of them.",
    "conv_b": "A filter's bias was added to each of its output cells, so its gradient is the sum of dz1 over them.",
    "conv_x": "An input pixel's gradient sums dz1 × weight over every window that covered it: with stride 1 this "
    "is a full convolution of dz1 with the kernel rotated by 180°.",
    "update": "Gradient descent moves every weight a step against its gradient: θ ← θ − α·∇θ.",
    "check": "Central differences nudge one weight by ±ε and measure the loss: (L(θ+ε) − L(θ−ε)) / 2ε "
    "should match backpropagation's gradient to about 1e-7 in relative terms.",
}


def network_controls(page: str) -> BackpropSettings:
    """The network's shape, its loss and the step's settings. Values are checked by the engine, not here."""
    filters = int(st.number_input("Filters", value=2, step=1, **state.keep(page, "filters")))
    size = int(st.selectbox("Kernel size", backprop_run.KERNEL_SIZES, index=1, **state.keep(page, "kernel_size")))
    a, b = st.columns(2)
    stride = int(a.number_input("Stride", value=1, step=1, **state.keep(page, "stride")))
    padding = int(b.number_input("Padding", value=0, step=1, **state.keep(page, "padding")))
    activation = st.selectbox(
        "Activation",
        list(ops.ACTIVATIONS),
        index=1,
        format_func=ops.ACTIVATION_LABELS.get,
        **state.keep(page, "activation"),
    )
    pool = st.radio(
        "Pooling 2×2",
        ops.POOL_KINDS,
        horizontal=True,
        format_func={"max": "Max", "avg": "Average"}.get,
        **state.keep(page, "pool"),
    )
    loss = st.radio("Loss", LOSSES, horizontal=True, format_func=LOSS_LABELS.get, **state.keep(page, "loss"))
    st.caption(LOSS_FORMULAS[loss])
    label = int(st.selectbox("Target class (the right answer)", range(10), index=3, **state.keep(page, "label")))
    lr = float(st.select_slider("Learning rate α", LEARNING_RATES, value=0.1, **state.keep(page, "lr")))
    init = st.selectbox("Initial weights", INITS, index=2, format_func=INIT_LABELS.get, **state.keep(page, "init"))
    seed = int(st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, **state.keep(page, "seed")))
    return BackpropSettings(filters, size, stride, padding, activation, pool, loss, label, lr, init, seed)


def run_step(page: str, x: np.ndarray, settings: BackpropSettings, problems: DeltaGenerator) -> BackpropRun:
    """The engine's run for these inputs, or, when the engine refuses them, its message in ``problems`` and
    the last valid run, still on screen."""
    return widgets.engine_run(
        page,
        fingerprint(x, settings),
        lambda: backprop_run.compute(x, settings),
        lambda: backprop_run.compute(samples.digit(3, 8)),
        problems,
        kept="step",
    )


def _reset_step(page: str) -> None:
    state.set_step_index(page, 0, 1)


def stage_chooser(page: str) -> str:
    """Which stage of the step to show, in the order the backward pass runs (a new stage starts at its first cell)."""
    return st.radio(
        "Stage",
        [key for key, _ in STAGES],
        format_func=STAGE_LABELS.get,
        horizontal=True,
        on_change=_reset_step,
        args=(page,),
        **state.keep(page, "stage"),
    )


def checks_chooser(page: str, run: BackpropRun) -> tuple[str, ...]:
    """The weights the gradient check nudges: a few from every layer until the user picks others (a
    choice this network no longer has, after a change of its shape, is dropped)."""
    names = backprop_run.check_names(run)
    held = state.peek(page, "checks")
    if held is None or not set(held) <= set(names):
        start = held if held is not None else backprop_run.default_checks(run.settings.label, run.settings.filters)
        state.put(page, "checks", [n for n in start if n in names])
    chosen = st.multiselect("Weights to check", names, max_selections=MAX_CHECKS, **state.keep(page, "checks"))
    return tuple(chosen)


def describe(run: BackpropRun) -> str:
    """ "conv 2 filters 3×3 → ReLU → max pool 2×2 → dense 18 → 10, cross-entropy"."""
    s = run.settings
    conv = f"conv {s.filters} filter{'s' if s.filters > 1 else ''} {s.size}×{s.size}"
    if s.stride > 1:
        conv += f" stride {s.stride}"
    if s.padding:
        conv += f" padding {s.padding}"
    features = run.arrays["f"].size
    pool = {"max": "max", "avg": "average"}[s.pool_kind]
    return (
        f"{conv} → {ops.ACTIVATION_LABELS[s.activation]} → {pool} pool 2×2 → dense {features} → 10, "
        f"{LOSS_LABELS[s.loss].lower()}"
    )


def loss_summary(run: BackpropRun) -> None:
    """The loss before and after this one step, on the same image."""
    step = run.step
    with st.container(horizontal=True, key="backprop-loss"):
        st.metric("Loss before the step", ops.format_number(step.loss))
        st.metric(
            f"Loss after one step (α = {ops.format_number(run.settings.lr)})",
            ops.format_number(step.loss_after),
            delta=float(f"{step.loss_after - step.loss:.3g}"),  # a number: Streamlit picks the arrow from its sign
            delta_color="inverse",  # a lower loss is the good direction
        )
        p = run.arrays["p"]
        st.metric(
            f"p[{run.settings.label}], the right class",
            ops.format_number(p[run.settings.label]),
            help="The softmax probability the network gives the target class before the step.",
        )


def show_stage(page: str, run: BackpropRun, stage: str) -> None:
    """One stage: its rule, then its figure and arithmetic at the current step (or its table)."""
    st.markdown(RULES[stage])
    if stage == "check":
        _show_checks(page, run)
        return
    if stage == "forward":
        f = widgets.step_controls(page, run.settings.filters)
        display.chart(figures.forward_figure(run.arrays, f, run.step.loss), f"forward-filter-{f + 1}", stepping=True)
        _forward_text(run, f)
        loss_summary(run)
        return
    if stage == "flatten":
        display.chart(figures.flatten_figure(run.arrays), "flatten")
        return
    records = run.stages[stage]
    index = widgets.step_controls(page, len(records))
    record = records[index]
    display.chart(figures.stage_figure(run.arrays, stage, records, index), f"{stage}-step-{index + 1}", stepping=True)
    with st.container(key="backprop-arithmetic"):
        st.markdown(f"**{record.formula}**  \n{record.numbers}")
    if stage == "update":
        loss_summary(run)


def _forward_text(run: BackpropRun, f: int) -> None:
    s, a = run.settings, run.arrays
    label = ops.ACTIVATION_LABELS[s.activation]
    p = a["p"][s.label]
    loss = (
        f"L = −log p[{s.label}] = −log {ops.format_number(p)} = {ops.format_number(run.step.data_loss)}"
        if s.loss == "cross_entropy"
        else f"L = mean of (p − t)² over the 10 classes = {ops.format_number(run.step.data_loss)}"
    )
    text, bars = st.columns([3, 2], vertical_alignment="center")
    with text.container(key="backprop-arithmetic"):
        st.markdown(
            f"**z1[{f}] = x ∗ W1[{f}] + b1[{f}]**, then a1 = {label}(z1) and p1 = {s.pool_kind} pooling 2×2.  \n"
            f"The network predicts **{int(np.argmax(a['p']))}**; the target is {s.label}. {loss}"
        )
    display.chart(draw.probability_figure(a["p"], s.label), "softmax", where=bars)
    bars.caption(f"p = softmax(z2), the target class {s.label} highlighted.")


def _show_checks(page: str, run: BackpropRun) -> None:
    chosen = checks_chooser(page, run)
    if not chosen:
        st.info("Pick at least one weight to check.")
        return
    rows = []
    for check in backprop_run.gradient_checks(run, chosen):
        r = check.result
        verdict = "agree" if r.relative_error < 1e-7 else ("a kink lies within ±ε" if check.kink else "differ")
        rows.append(
            {
                "weight": check.name,
                "backpropagation": r.analytic,
                "central differences": r.numeric,
                "relative error": r.relative_error,
                "": verdict,
            }
        )
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "backpropagation": st.column_config.NumberColumn(format="%.10f"),
            "central differences": st.column_config.NumberColumn(format="%.10f"),
            "relative error": st.column_config.NumberColumn(format="%.1e"),
        },
        key="backprop-checks",
    )
    st.caption(
        f"ε = {backprop_run.CHECK_EPS:g}. Relative error |a − n| / max(|a|, |n|). Where a ReLU input or a max-pool "
        "tie lies within ε, the loss has a corner there and the two may differ; a smaller ε or other weights avoid it."
    )


# the engine function whose numbers each stage shows (the records are checked equal to them)
ENGINE = {
    "forward": network.Network.forward,
    "loss": layers.loss_and_grad,
    "dense_w": layers.dense_backward,
    "dense_b": layers.dense_backward,
    "dense_x": layers.dense_backward,
    "flatten": network.Network.backward,
    "pool": backward.pool2d_backward,
    "act": backward.activation_backward,
    "conv_w": backward.conv2d_backward,
    "conv_b": backward.conv2d_backward,
    "conv_x": backward.conv2d_backward,
    "update": network.train_step,
    "check": layers.gradient_check,
}


@lru_cache(maxsize=16)
def source(stage: str) -> str:
    """The source of the engine function a stage shows, as a student can read it on the page."""
    return inspect.getsource(ENGINE[stage])


def show_source(stage: str) -> None:
    fn = ENGINE[stage]
    with st.expander(f"The engine's code: {fn.__qualname__}", expanded=False):
        st.code(source(stage), language="python")
        if stage.startswith("conv"):
            st.code(inspect.getsource(backward.col2im), language="python")
