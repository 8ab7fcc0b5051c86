"""The Train page's controls: the model, the data set and the settings, Start / Pause / Resume / Stop.

Controls return a validated :class:`~playground.ui.train_runs.Plan`; the engine's ConfigError/SpecError is
shown under the control at fault and Start stays disabled until it is fixed. The runs themselves (data,
this session's runs, the training processes' queue) live in :mod:`playground.ui.train_runs`.
"""

from __future__ import annotations

import inspect
import math
from functools import lru_cache
from typing import Any

import streamlit as st

from playground.data.datasets import DATASETS, DataError
from playground.errors import PlaygroundError
from playground.nn.architecture import ModelSpec, SpecError
from playground.nn.config import (
    ENGINE_LABELS,
    ENGINES,
    INIT_LABELS,
    INITS,
    LOSS_FORMULAS,
    LOSS_LABELS,
    LOSSES,
    rate_warning,
)
from playground.nn.numpy_trainer import NumpyTrainer, network_of
from playground.nn.presets import PRESETS
from playground.nn.shapes import infer_shapes
from playground.nn.trainer import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig, TrainSnapshot, check_data
from playground.ops import backward, network, optim
from playground.ui import state
from playground.ui.builder import current_design
from playground.ui.train_runs import (
    DataBundle,
    Plan,
    TrainingSession,
    load_bundle,
    validation_interval,
)

PAGE = "train"
BUILD, PRESET = "The design from the Build page", "A preset"
DEFAULT_PRESET = "keras-mnist"  # trains in seconds on one core, ~98 % on MNIST
MAX_EPOCHS, MAX_BATCH = 100, 1024  # server bounds, tighter than the engine's
SCHEDULE_LABELS = {"constant": "constant", "cosine": "cosine decay to 0", "onecycle": "one-cycle"}
# what the numpy engine runs for one step, in order
ENGINE_CODE = (
    NumpyTrainer._loop,
    network.Network.forward,
    network.Network.backward,
    backward.conv2d_backward,
    backward.col2im,
    optim.Optimizer.step,
)
DROPOUT_CHOICES = ("model", 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


# ================================================================ text helpers
def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60:02d} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60:02d} min"


def queue_text(position: int | None, cap: int) -> str:
    """What a waiting user reads: their place and why there is a queue."""
    if not position:
        return "Starting…"
    place = "next in the queue" if position == 1 else f"{ordinal(position)} in the queue"
    return (
        f"You are {place}: this server trains {cap} model{'s' if cap != 1 else ''} at a time, and your run "
        "starts by itself when a place is free."
    )


def progress_text(snap: TrainSnapshot) -> str:
    """Epoch, step, images/s and the time left, as the engine measured them."""
    parts = [f"Epoch {max(snap.epoch, 1)} of {snap.epochs}", f"step {snap.step:,} of {snap.total_steps:,}"]
    if snap.images_per_s > 0:
        parts.append(f"{snap.images_per_s:,.0f} images/s")
    if snap.eta_s is not None and math.isfinite(snap.eta_s):
        parts.append(f"about {duration(snap.eta_s)} left")
    elif snap.done:
        parts.append(f"{duration(snap.elapsed_s)} of training")
    return " · ".join(parts)


# ================================================================ controls
def model_chooser(page: str, error_slot: dict[str, Any]) -> tuple[ModelSpec | None, str]:
    """The Build page's design or a preset; (spec or None when unusable, label). The error slot under it
    receives what is wrong with the design, or data that does not fit the model."""
    source = st.radio("Model", (BUILD, PRESET), **state.keep(page, "model_source"))
    if source == PRESET:
        name = st.selectbox(
            "Preset", list(PRESETS), index=list(PRESETS).index(DEFAULT_PRESET), **state.keep(page, "preset")
        )
        error_slot["model"] = st.empty()
        return PRESETS[name], f"preset {name}"
    spec, problem = current_design()
    error_slot["model"] = st.empty()
    if problem:
        error_slot["model"].error(
            f"The Build page's design cannot be trained: {problem} Fix it on the Build page, or choose a preset."
        )
        return None, "Build page design"
    st.caption(f"“{spec.name}” as designed on the Build page ({len(spec.layers)} layers).")
    return spec, f"Build page design ({spec.name})"


def _switch_to_synthetic(page: str, name: str = "synthetic") -> None:
    state.put(page, "dataset", name)


def _retry(page: str, name: str) -> None:
    failed = dict(state.get(page, "data_failed", {}))
    failed.pop(name, None)
    state.put(page, "data_failed", failed)


def data_chooser(page: str) -> DataBundle | None:
    """Pick a data set (MNIST, Fashion-MNIST, CIFAR-10 or a synthetic one); load it (downloading with progress
    if needed)."""
    name = st.selectbox(
        "Data set", list(DATASETS), format_func=lambda n: DATASETS[n].title, **state.keep(page, "dataset")
    )
    failed = state.get(page, "data_failed", {})
    if name in failed:
        _data_problem(page, name, failed[name])
        return None
    slot = st.empty()

    def progress(done: int, total: int | None) -> None:
        size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        slot.progress(min(1.0, done / total) if total else 0.0, text=f"Downloading {DATASETS[name].title}: {size}")

    try:
        with st.spinner(f"Loading {DATASETS[name].title}…", show_time=True):
            bundle = load_bundle(name, progress=progress)
    except DataError as err:
        slot.empty()
        state.put(page, "data_failed", {**failed, name: str(err)})
        _data_problem(page, name, str(err))
        return None
    slot.empty()
    st.caption(
        f"{bundle.train.source}: {len(bundle.train):,} training images; validation on "
        f"{len(bundle.val):,}, test on {len(bundle.test):,} held-out images."
    )
    return bundle


def _data_problem(page: str, name: str, message: str) -> None:
    st.error(message)
    a, b = st.columns(2)
    if not DATASETS[name].synthetic:
        colour = DATASETS[name].colour
        a.button(
            "Use colour shapes" if colour else "Use synthetic digits",
            key=state.key(page, "switch_synthetic"),
            on_click=_switch_to_synthetic,
            args=(page, "shapes" if colour else "synthetic"),
            help=("Colour shapes" if colour else "Digits") + " drawn by the playground itself: no download needed.",
        )
    b.button("Try again", key=state.key(page, "retry_data"), on_click=_retry, args=(page, name))


def _clamp_widget(page: str, name: str, low: float, high: float) -> None:
    """Keep a stored widget value inside bounds that just changed (another data set has fewer images)."""
    if state.has(page, name):
        value = state.get(page, name, low)
        if isinstance(value, (int, float)) and not low <= value <= high:
            state.seed_widget(page, name, min(max(value, low), high))


def settings_controls(page: str, n_images: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The training settings as TrainConfig keyword arguments, and a slot under each control for its error."""
    slots: dict[str, Any] = {}
    _clamp_widget(page, "subset", 2, n_images)
    subset = st.number_input(
        "Training images",
        min_value=2,
        max_value=n_images,
        value=n_images,
        step=500,
        help="Train on the first N images of the training split.",
        **state.keep(page, "subset"),
    )
    slots["subset"] = st.empty()
    optimizer = st.selectbox(
        "Optimizer",
        list(OPTIMIZERS),
        index=list(OPTIMIZERS).index("adam"),
        format_func=lambda name: OPTIMIZERS[name].label,
        **state.keep(page, "optimizer"),
    )
    slots["optimizer"] = st.empty()
    lr = st.number_input(
        "Learning rate",
        min_value=0.0,
        max_value=1e6,
        value=1e-3,
        step=1e-4,
        format="%g",
        help="Adam: about 0.001; SGD: about 0.05. Too large and the loss explodes.",
        **state.keep(page, "lr"),
    )
    slots["lr"] = st.empty()
    warning = rate_warning(float(lr), optimizer) if optimizer in OPTIMIZERS else None
    if warning:
        slots["lr"].warning(warning)
    a, b = st.columns(2)
    batch = a.number_input(
        "Batch size", min_value=1, max_value=MAX_BATCH, value=64, step=16, **state.keep(page, "batch_size")
    )
    epochs = b.number_input("Epochs", min_value=1, max_value=MAX_EPOCHS, value=3, step=1, **state.keep(page, "epochs"))
    slots["batch_size"], slots["epochs"] = st.empty(), st.empty()
    wd = st.number_input(
        "Weight decay",
        min_value=0.0,
        max_value=1.0,
        value=0.0,
        step=1e-4,
        format="%g",
        **state.keep(page, "weight_decay"),
    )
    slots["weight_decay"] = st.empty()
    dropout = st.select_slider(
        "Dropout",
        DROPOUT_CHOICES,
        value="model",
        format_func=lambda p: "model's own" if p == "model" else f"{p:.1f}",
        help="Overrides the probability of every Dropout layer of the model.",
        **state.keep(page, "dropout"),
    )
    slots["dropout"] = st.empty()
    l1_box, l2_box = st.columns(2)
    l1 = l1_box.number_input(
        "L1 penalty λ₁", min_value=0.0, max_value=1.0, value=0.0, step=1e-4, format="%g",
        help="Adds λ₁·Σ|w| over the weights to the loss: pushes weights to exactly 0 (sparse).",
        **state.keep(page, "l1"),
    )  # fmt: skip
    l2 = l2_box.number_input(
        "L2 penalty λ₂", min_value=0.0, max_value=1.0, value=0.0, step=1e-4, format="%g",
        help="Adds (λ₂/2)·Σw² over the weights to the loss, shown on the curve as its own line; weight decay "
        "does the same inside the optimizer (and, for AdamW, apart from the gradient).",
        **state.keep(page, "l2"),
    )  # fmt: skip
    slots["l1"], slots["l2"] = st.empty(), st.empty()
    loss = st.radio("Loss", LOSSES, format_func=LOSS_LABELS.get, horizontal=True, **state.keep(page, "loss"))
    st.caption(LOSS_FORMULAS[loss])
    slots["loss"] = st.empty()
    init = st.selectbox(
        "Initial weights",
        INITS,
        format_func=INIT_LABELS.get,
        help="How the weights are drawn before training. Fixed std 0.01 is the course's SimpleConvNet; Xavier "
        "suits tanh and sigmoid, He suits ReLU. See the activations at initialisation below.",
        **state.keep(page, "init"),
    )
    init_std = 0.01
    if init == "std":
        init_std = st.number_input(
            "σ of the initial weights", min_value=1e-6, max_value=10.0, value=0.01, step=0.01, format="%g",
            **state.keep(page, "init_std"),
        )  # fmt: skip
    slots["init"], slots["init_std"] = st.empty(), st.empty()
    augment = st.toggle("Augmentation (shift ±2 px, rotate ±10°)", value=False, **state.keep(page, "augment"))
    schedule = st.selectbox(
        "Learning-rate schedule", SCHEDULES, format_func=SCHEDULE_LABELS.get, **state.keep(page, "lr_schedule")
    )
    seed = st.number_input("Seed", min_value=0, max_value=2**32 - 1, value=0, step=1, **state.keep(page, "seed"))
    for name in ("augment", "lr_schedule", "seed"):
        slots[name] = st.empty()
    engine = st.radio(
        "Engine",
        ENGINES,
        format_func=ENGINE_LABELS.get,
        help="PyTorch, or the numpy teaching engine written out from scratch: im2col forward, col2im backward "
        "and the optimizer's update by hand, for conv, activation, pooling, flatten and dense layers "
        "(e.g. the simple-convnet preset). It starts from the same weights and batches, and is slower.",
        **state.keep(page, "engine"),
    )
    slots["engine"] = st.empty()
    kwargs = dict(
        subset=int(subset),
        optimizer=optimizer,
        lr=float(lr),
        batch_size=int(batch),
        epochs=int(epochs),
        weight_decay=float(wd),
        dropout=None if dropout == "model" else float(dropout),
        augment=bool(augment),
        lr_schedule=schedule,
        seed=int(seed),
        threads=1,
        engine=engine,
        init=init,
        init_std=float(init_std),
        loss=loss,
        l1=float(l1),
        l2=float(l2),
        val_every_steps=validation_interval(int(subset), int(batch), int(epochs)),
    )
    return kwargs, slots


def make_plan(spec: ModelSpec, model_label: str, kwargs: dict[str, Any], data: DataBundle) -> Plan:
    """Validate everything Start will need, as the engine does; ConfigError (with .field) or SpecError."""
    config = TrainConfig(**kwargs)
    trained = spec.with_dropout(config.dropout) if config.dropout is not None else spec
    infer_shapes(trained)
    if config.engine == "numpy":
        network_of(trained)  # EngineError under the Engine control: a layer it cannot train
    check_data(trained, config, data.train, data.val)
    return Plan(spec, model_label, config, data)


def plan_or_errors(
    spec: ModelSpec | None, model_label: str, kwargs: dict[str, Any], data: DataBundle | None, slots: dict[str, Any]
) -> Plan | None:
    """The plan, or None with the engine's sentence shown under the control at fault."""
    if spec is None or data is None:
        return None
    try:
        return make_plan(spec, model_label, kwargs, data)
    except ConfigError as err:
        field_ = err.field if err.field in slots else "model"
        slots[field_].error(str(err))
    except SpecError as err:
        slots["model"].error(f"This model cannot be built: {err}")
    return None


@lru_cache(maxsize=1)
def _engine_code() -> tuple[tuple[str, str], ...]:
    return tuple((fn.__qualname__, inspect.getsource(fn)) for fn in ENGINE_CODE)


def engine_source() -> None:
    """The numpy engine's own code: the loop, the forward and backward pass, the optimizer's update."""
    with st.expander("The from-scratch engine's code (numpy)", expanded=False, key="train-engine-code"):
        st.caption(
            "This is the code that trains the run: one forward pass through the engine's layers (convolution "
            "as im2col and one matrix product), the loss, the backward pass (col2im) and the update."
        )
        for name, code in _engine_code():
            st.markdown(f"`{name}`")
            st.code(code, language="python")


# ================================================================ start / pause / resume / stop
def _ask_start(page: str) -> None:
    state.put(page, "start_requested", True)


def start_if_asked(page: str, sess: TrainingSession, plan: Plan | None) -> None:
    """Start a run for a Start click, with the settings as they are in this run of the script (a value typed
    just before clicking counts)."""
    if not state.get(page, "start_requested", False):
        return
    state.put(page, "start_requested", False)
    if plan is None or sess.active() is not None:
        return
    try:
        sess.start(plan)
        state.drop(page, "start_error")
    except PlaygroundError as err:
        state.put(page, "start_error", str(err))


def run_buttons(page: str, sess: TrainingSession, plan: Plan | None) -> None:
    """Start, Pause, Resume, Stop (on_click callbacks); the state of the current run decides which work."""
    run = sess.active()
    paused = run is not None and run.pause_requested
    cells = st.columns(4)
    cells[0].button(
        "Start",
        key=state.key(page, "start"),
        type="primary",
        on_click=_ask_start,
        args=(page,),
        disabled=plan is None or run is not None,
        width="stretch",
        help="Train the chosen model with these settings.",
    )
    cells[1].button(
        "Pause", key=state.key(page, "pause"), on_click=sess.pause, disabled=run is None or paused, width="stretch"
    )
    cells[2].button("Resume", key=state.key(page, "resume"), on_click=sess.resume, disabled=not paused, width="stretch")
    cells[3].button(
        "Stop",
        key=state.key(page, "stop"),
        on_click=sess.stop,
        disabled=run is None,
        width="stretch",
        help="End the run after the current step; its curves and weights are kept.",
    )
    problem = state.get(page, "start_error", None)
    if problem:
        st.error(problem)
    elif plan is None and run is None:
        st.caption("Start is available once the model, the data and every setting are valid.")
