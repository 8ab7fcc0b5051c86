"""The Train page's machinery: the data it trains on, this browser session's runs, and the controls.

- Data sets are loaded on the script thread (with a download progress bar when files are missing) and
  kept once per server, read-only, for every session (:func:`load_bundle`).
- Each browser session owns one :class:`TrainingSession`, held by ``st.cache_resource(scope="session")``:
  its runs (settings, curves, trained model, test scores) live as long as the tab, and when the tab closes
  Streamlit releases it and :meth:`TrainingSession.close` stops its training within a step. Other sessions
  never see it. Trainings themselves run on the server-wide queue (``playground.jobs``), never in the script.
- Controls return a validated :class:`Plan`; the engine's ConfigError/SpecError is shown under the
  control at fault and Start stays disabled until it is fixed.

Only the ``*_controls``/``*_chooser``/``run_buttons`` functions draw; the classes are plain Python.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import streamlit as st
import torch
from torch import nn

from playground import jobs
from playground.checkpoints import CheckpointError, checkpoint_bytes
from playground.data import (DATASETS, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VAL, DataError, Dataset, find_data_dir,
                             load_dataset)
from playground.model import PRESETS, ModelSpec, SpecError, infer_shapes
from playground.train import (OPTIMIZERS, SCHEDULES, ConfigError, EvalResult, TrainConfig, Trainer, TrainSnapshot,
                              check_data, data_record, evaluate)
from playground.remote import ProcessTrainer
from playground.ui import models, state
from playground.ui.builder import current_design

PAGE = "train"
BUILD, PRESET = "The design from the Build page", "A preset"
DEFAULT_PRESET = "keras-mnist"               # trains in seconds on one core, ~98 % on MNIST
MAX_RUNS = 20                                # runs kept in a session's history (settings and curves)
KEEP_MODELS = 5                              # the newest runs also keep their trained weights
REFRESH_S = 0.5                              # the live curves' refresh interval while training
VISUAL_EVERY_S = 1.0                         # kernels and feature maps: one model copy per second at most
VALIDATIONS_PER_RUN = 6                      # validation points per run (1,000 images each, ~5 steps of work)
MAX_EPOCHS, MAX_BATCH = 100, 1024            # server bounds, tighter than the engine's
OPTIMIZER_LABELS = {"sgd": "SGD", "sgd-momentum": "SGD with momentum 0.9", "adam": "Adam", "adamw": "AdamW",
                    "rmsprop": "RMSprop"}
SCHEDULE_LABELS = {"constant": "constant", "cosine": "cosine decay to 0", "onecycle": "one-cycle"}
DROPOUT_CHOICES = ("model", 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


# ================================================================ data
@dataclass(frozen=True, eq=False)
class DataBundle:
    """The three splits of one data set: train (0-6,999), val (7,000-7,999), test (8,000-9,999, held out)."""
    name: str
    title: str
    train: Dataset
    val: Dataset
    test: Dataset


_DATA: "OrderedDict[tuple[str, str], DataBundle]" = OrderedDict()
_DATA_LOCK = threading.Lock()           # one loader at a time: two downloads into one folder would collide


def load_bundle(name: str, root: str | Path | None = None,
                progress: Callable[[int, int | None], None] | None = None) -> DataBundle:
    """The splits of data set `name` from data folder `root` (None: $PLAYGROUND_DATA_DIR or the user cache),
    downloading missing files with `progress(done, total)`. Kept once per server (4 at most); DataError."""
    folder = str(find_data_dir(root))
    held = _DATA.get((name, folder))
    if held is not None:                # loaded: no waiting behind someone else's download
        return held
    with _DATA_LOCK:
        held = _DATA.get((name, folder))
        if held is not None:
            return held
        splits = [load_dataset(name, folder, split=s, progress=progress) for s in (SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST)]
        bundle = DataBundle(name, DATASETS[name].title, *splits)
        _DATA[(name, folder)] = bundle
        while len(_DATA) > 4:
            _DATA.popitem(last=False)
        return bundle


def one_thread() -> None:
    """Put this script thread's torch on one thread before it scores or copies a model. Torch's default pool
    (one thread per core) keeps spinning after each call; on 2 cores, a page thread polling with 2 threads made
    the training worker ~20 % slower (benchmarks/train_page.py). The trainings set their own count."""
    torch.set_num_threads(models.INFERENCE_THREADS)


def validation_interval(n_train: int, batch_size: int, epochs: int) -> int | None:
    """Validate about VALIDATIONS_PER_RUN times over the run, so a short run has a validation curve too;
    None when the validation the engine does at each epoch's end already gives that many points.

    The engine validates every `every` steps and at each epoch's end; an interval whose multiples fall a
    step or two before or after an epoch's end would draw two points on top of each other, so among the
    intervals near the target the one whose multiples keep clear of epoch ends is taken."""
    per_epoch = n_train // max(1, min(batch_size, n_train))
    total = per_epoch * epochs
    if epochs >= VALIDATIONS_PER_RUN or total < 2:
        return None
    target = max(1, total // VALIDATIONS_PER_RUN)

    def score(every: int) -> tuple[bool, int, int]:
        """(enough points, steps from a mid-epoch validation to the nearest epoch end (enough at a third of
        the target; exact hits are skipped by the engine), closeness to the target)."""
        mid = [s % per_epoch for s in range(every, total, every) if s % per_epoch]
        clear = min((min(m, per_epoch - m) for m in mid), default=per_epoch)
        return len(mid) + epochs >= min(VALIDATIONS_PER_RUN, total), min(clear, target // 3), -abs(every - target)

    return max(range(max(1, target * 3 // 4), target * 5 // 4 + 1), key=score)


# ================================================================ runs
@dataclass(frozen=True)
class Plan:
    """Everything Start needs, already validated: the model, the settings and the data."""
    spec: ModelSpec
    model_label: str            # "preset keras-mnist" / "Build page design"
    config: TrainConfig
    data: DataBundle


@dataclass(eq=False)
class Run:
    """One training run of this session: its plan, its live Trainer while it lasts, then its results."""
    number: int
    plan: Plan
    spec: ModelSpec                             # as trained (the plan's, with the dropout override applied)
    trainer: ProcessTrainer | None
    ticket: jobs.Ticket | None
    pause_requested: bool = False
    final: TrainSnapshot | None = None          # the last snapshot, once the run has ended
    model: nn.Module | None = None              # the trained weights (eval mode), once ended (dropped when old)
    metadata: dict[str, Any] = field(default_factory=dict)
    evaluation: EvalResult | None = None        # on the held-out test split
    _checkpoint: bytes | str | None = None      # file bytes, or the one-sentence reason it cannot be saved
    _visual: tuple[float, int, nn.Module] | None = None

    @property
    def label(self) -> str:
        return f"Run {self.number}"

    def snapshot(self) -> TrainSnapshot:
        return self.final if self.final is not None else self.trainer.snapshot()

    @property
    def done(self) -> bool:
        return self.final is not None or self.snapshot().done

    @property
    def polling(self) -> bool:
        """Whether the page should keep refreshing: until the ended run has been wrapped up (scored, weights
        kept) by a full rerun, except while a pause holds. Stopping only when the trainer reports "done"
        left a run that ended during a rerun unscored, with nothing to rerun the page."""
        return self.final is None and not (self.pause_requested and self.snapshot().state == "paused")

    def finalize(self) -> bool:
        """On the script thread, once the run has ended: keep the snapshot, a copy of the weights and the
        test scores, and let the Trainer (and its tensors) go. True when this call did it."""
        if self.final is not None or self.trainer is None or not self.trainer.snapshot().done:
            return False
        if self.ticket is not None and not self.ticket.wait(5.0):   # run() is returning; give it a moment
            return False
        trainer = self.trainer
        self.final = trainer.snapshot()
        self.metadata = trainer.metadata()
        if self.final.step > 0:
            self.model = trainer.model_copy()
            self.evaluation = evaluate(self.model, self.plan.data.test)
        self.trainer, self.ticket, self._visual = None, None, None
        return True

    def drop_model(self) -> None:
        self.model, self._checkpoint, self._visual = None, None, None

    def visual_model(self, now: float | None = None) -> nn.Module:
        """The weights for the kernels and feature maps: a fresh copy at most every VISUAL_EVERY_S seconds."""
        if self.model is not None:
            return self.model
        now = time.monotonic() if now is None else now
        step = self.trainer.snapshot().step
        held = self._visual
        if held is None or (step != held[1] and now - held[0] >= VISUAL_EVERY_S):
            held = self._visual = (now, step, self.trainer.model_copy())
        return held[2]

    def checkpoint(self) -> bytes | str:
        """The safetensors file of the trained model (made once), or why it cannot be saved."""
        if self._checkpoint is None and self.model is not None:
            meta = dict(self.metadata)
            if self.evaluation is not None:
                meta["data"] = {**meta.get("data", {}), "test": data_record(self.plan.data.test)}
                meta["metrics"] = {**meta.get("metrics", {}), "test_acc": self.evaluation.accuracy}
            try:
                self._checkpoint = checkpoint_bytes(self.model, self.spec, meta)
            except CheckpointError as err:
                self._checkpoint = str(err)
        return self._checkpoint if self._checkpoint is not None else "This run's weights are no longer kept."

    def settings_row(self) -> dict[str, Any]:
        """One row of the run table: the settings and what came of them."""
        c, snap = self.plan.config, self.snapshot()
        val_acc = snap.val[-1][2] if snap.val else None
        # what came of the run first (a narrow table shows those), then every setting
        return {"Run": self.label, "State": snap.state,
                "Test accuracy": None if self.evaluation is None else round(100 * self.evaluation.accuracy, 2),
                "Validation accuracy": None if val_acc is None else round(100 * val_acc, 2),
                "Steps": snap.step, "Training time (s)": round(snap.elapsed_s, 1),
                "Model": self.plan.model_label, "Data": self.plan.data.title,
                "Images": c.subset, "Optimizer": OPTIMIZER_LABELS[c.optimizer], "Learning rate": c.lr,
                "Batch": c.batch_size, "Epochs": c.epochs, "Weight decay": c.weight_decay,
                "Dropout": "model's own" if c.dropout is None else c.dropout, "Augment": "yes" if c.augment else "no",
                "Schedule": c.lr_schedule, "Seed": c.seed}


class TrainingSession:
    """One browser session's runs. The newest may be training (on `queue`); older ones are history."""

    def __init__(self, queue: jobs.JobQueue):
        self.queue = queue
        self.runs: list[Run] = []
        self._numbers = 0
        self._lock = threading.Lock()
        self.closed = False

    def active(self) -> Run | None:
        run = self.runs[-1] if self.runs else None
        return run if run is not None and not run.done else None

    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def start(self, plan: Plan) -> Run:
        """Queue a new run of `plan` (Trainer creation may raise ConfigError / SpecError)."""
        with self._lock:
            if self.closed:
                raise RuntimeError("This session has ended.")
            if self.active() is not None:
                raise ConfigError("A run is still training; stop it before starting another.", "model")
            trainer = ProcessTrainer(plan.spec, plan.config, plan.data.train, plan.data.val)
            self._numbers += 1
            run = Run(self._numbers, plan, trainer.spec, trainer, None)
            self.runs.append(run)
            run.ticket = self.queue.submit(trainer)
            del self.runs[:-MAX_RUNS]
            for old in self.runs[:-KEEP_MODELS]:
                old.drop_model()
            return run

    # The controls read run.trainer / run.ticket once: close() may come from another thread while the
    # script thread's finalize() lets them go.
    def pause(self) -> None:
        run = self.active()
        trainer = run.trainer if run is not None else None
        if trainer is not None:
            run.pause_requested = True
            trainer.pause()

    def resume(self) -> None:
        run = self.active()
        trainer = run.trainer if run is not None else None
        if trainer is not None:
            run.pause_requested = False
            trainer.resume()

    def stop(self) -> None:
        run = self.active()
        trainer, ticket = (run.trainer, run.ticket) if run is not None else (None, None)
        if trainer is not None:
            run.pause_requested = False
            if ticket is not None:
                self.queue.cancel(ticket)          # leaves the queue, or stops after the current step
            trainer.stop()

    def finalize(self) -> list[Run]:
        """Wrap up every run that has ended since the last call (script thread); returns them."""
        one_thread()
        return [run for run in self.runs if run.finalize()]

    def close(self) -> None:
        """The browser session has ended: stop its training (called by Streamlit on release, any thread)."""
        self.closed = True
        self.stop()


def _release(session_: TrainingSession) -> None:
    session_.close()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session() -> TrainingSession:
    """This browser session's runs (one object per session, released when the tab closes)."""
    return TrainingSession(jobs.default_queue())


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
    return (f"You are {place}: this server trains {cap} model{'s' if cap != 1 else ''} at a time, and your run "
            "starts by itself when a place is free.")


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
        name = st.selectbox("Preset", list(PRESETS), index=list(PRESETS).index(DEFAULT_PRESET),
                            **state.keep(page, "preset"))
        error_slot["model"] = st.empty()
        return PRESETS[name], f"preset {name}"
    spec, problem = current_design()
    error_slot["model"] = st.empty()
    if problem:
        error_slot["model"].error(f"The Build page's design cannot be trained: {problem} Fix it on the Build page, "
                                  "or choose a preset.")
        return None, "Build page design"
    st.caption(f"“{spec.name}” as designed on the Build page ({len(spec.layers)} layers).")
    return spec, f"Build page design ({spec.name})"


def _switch_to_synthetic(page: str) -> None:
    state.put(page, "dataset", "synthetic")


def _retry(page: str, name: str) -> None:
    failed = dict(state.get(page, "data_failed", {}))
    failed.pop(name, None)
    state.put(page, "data_failed", failed)


def data_chooser(page: str) -> DataBundle | None:
    """Pick MNIST, Fashion-MNIST or synthetic digits; load (downloading with progress if needed)."""
    name = st.selectbox("Data set", list(DATASETS), format_func=lambda n: DATASETS[n].title,
                        **state.keep(page, "dataset"))
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
    st.caption(f"{bundle.train.source}: {len(bundle.train):,} training images; validation on "
               f"{len(bundle.val):,}, test on {len(bundle.test):,} held-out images.")
    return bundle


def _data_problem(page: str, name: str, message: str) -> None:
    st.error(message)
    a, b = st.columns(2)
    if name != "synthetic":
        a.button("Use synthetic digits", key=state.key(page, "switch_synthetic"), on_click=_switch_to_synthetic,
                 args=(page,), help="Digits drawn by the playground itself: no download needed.")
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
    subset = st.number_input("Training images", min_value=2, max_value=n_images, value=n_images, step=500,
                             help="Train on the first N images of the training split.", **state.keep(page, "subset"))
    slots["subset"] = st.empty()
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index("adam"),
                             format_func=OPTIMIZER_LABELS.get, **state.keep(page, "optimizer"))
    slots["optimizer"] = st.empty()
    lr = st.number_input("Learning rate", min_value=0.0, max_value=1e6, value=1e-3, step=1e-4, format="%g",
                         help="Adam: about 0.001; SGD: about 0.05. Too large and the loss explodes.",
                         **state.keep(page, "lr"))
    slots["lr"] = st.empty()
    a, b = st.columns(2)
    batch = a.number_input("Batch size", min_value=1, max_value=MAX_BATCH, value=64, step=16,
                           **state.keep(page, "batch_size"))
    epochs = b.number_input("Epochs", min_value=1, max_value=MAX_EPOCHS, value=3, step=1, **state.keep(page, "epochs"))
    slots["batch_size"], slots["epochs"] = st.empty(), st.empty()
    wd = st.number_input("Weight decay", min_value=0.0, max_value=1.0, value=0.0, step=1e-4, format="%g",
                         **state.keep(page, "weight_decay"))
    slots["weight_decay"] = st.empty()
    dropout = st.select_slider("Dropout", DROPOUT_CHOICES, value="model",
                               format_func=lambda p: "model's own" if p == "model" else f"{p:.1f}",
                               help="Overrides the probability of every Dropout layer of the model.",
                               **state.keep(page, "dropout"))
    slots["dropout"] = st.empty()
    augment = st.toggle("Augmentation (shift ±2 px, rotate ±10°)", value=False, **state.keep(page, "augment"))
    schedule = st.selectbox("Learning-rate schedule", SCHEDULES, format_func=SCHEDULE_LABELS.get,
                            **state.keep(page, "lr_schedule"))
    seed = st.number_input("Seed", min_value=0, max_value=2**32 - 1, value=0, step=1, **state.keep(page, "seed"))
    for name in ("augment", "lr_schedule", "seed"):
        slots[name] = st.empty()
    kwargs = dict(subset=int(subset), optimizer=optimizer, lr=float(lr), batch_size=int(batch), epochs=int(epochs),
                  weight_decay=float(wd), dropout=None if dropout == "model" else float(dropout), augment=bool(augment),
                  lr_schedule=schedule, seed=int(seed), threads=1,
                  val_every_steps=validation_interval(int(subset), int(batch), int(epochs)))
    return kwargs, slots


def make_plan(spec: ModelSpec, model_label: str, kwargs: dict[str, Any], data: DataBundle) -> Plan:
    """Validate everything Start will need, as the engine does; ConfigError (with .field) or SpecError."""
    config = TrainConfig(**kwargs)
    trained = spec.with_dropout(config.dropout) if config.dropout is not None else spec
    infer_shapes(trained)
    check_data(trained, config, data.train, data.val)
    return Plan(spec, model_label, config, data)


def plan_or_errors(spec: ModelSpec | None, model_label: str, kwargs: dict[str, Any], data: DataBundle | None,
                   slots: dict[str, Any]) -> Plan | None:
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
    except (ConfigError, SpecError) as err:
        state.put(page, "start_error", str(err))


def run_buttons(page: str, sess: TrainingSession, plan: Plan | None) -> None:
    """Start, Pause, Resume, Stop (on_click callbacks); the state of the current run decides which work."""
    run = sess.active()
    paused = run is not None and run.pause_requested
    cells = st.columns(4)
    cells[0].button("Start", key=state.key(page, "start"), type="primary", on_click=_ask_start, args=(page,),
                    disabled=plan is None or run is not None, width="stretch",
                    help="Train the chosen model with these settings.")
    cells[1].button("Pause", key=state.key(page, "pause"), on_click=sess.pause, disabled=run is None or paused,
                    width="stretch")
    cells[2].button("Resume", key=state.key(page, "resume"), on_click=sess.resume, disabled=not paused,
                    width="stretch")
    cells[3].button("Stop", key=state.key(page, "stop"), on_click=sess.stop, disabled=run is None, width="stretch",
                    help="End the run after the current step; its curves and weights are kept.")
    problem = state.get(page, "start_error", None)
    if problem:
        st.error(problem)
    elif plan is None and run is None:
        st.caption("Start is available once the model, the data and every setting are valid.")
