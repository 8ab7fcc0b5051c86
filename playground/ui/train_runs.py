"""The Train page's runs: the data they train on and this browser session's runs (no widgets here).

- Data sets are loaded on the script thread (with a download progress bar when files are missing) and
  kept once per server, read-only, for every session (:func:`load_bundle`).
- Each browser session owns one :class:`TrainingSession`, held by ``st.cache_resource(scope="session")``:
  its runs (settings, curves, trained model, test scores) live as long as the tab, and when the tab closes
  Streamlit releases it and :meth:`TrainingSession.close` stops its training within a step. Other sessions
  never see it. Trainings run in child processes (``playground.serve.process_trainer``) on the server-wide queue
  (``playground.serve.jobs``), never in the script.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
import torch
from torch import nn

from playground.data.datasets import DATASETS, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VAL, Dataset, find_data_dir, load_dataset
from playground.nn.architecture import ModelSpec
from playground.nn.checkpoints import CheckpointError, checkpoint_bytes
from playground.nn.config import ENGINE_LABELS, INIT_LABELS, LOSS_LABELS
from playground.nn.trainer import OPTIMIZERS, ConfigError, EvalResult, TrainConfig, TrainSnapshot, data_record, evaluate
from playground.serve import jobs
from playground.serve.process_trainer import ProcessTrainer
from playground.ui import models

MAX_RUNS = 20  # runs kept in a session's history (settings and curves)
KEEP_MODELS = 5  # the newest runs also keep their trained weights
REFRESH_S = 0.5  # the live curves' refresh interval while training
VISUAL_EVERY_S = 1.0  # kernels and feature maps: one model copy per second at most
VALIDATIONS_PER_RUN = 6  # validation points per run (1,000 images each, ~5 steps of work)


# ================================================================ data
@dataclass(frozen=True, eq=False)
class DataBundle:
    """The three splits of one data set: train (0-6,999), val (7,000-7,999), test (8,000-9,999, held out)."""

    name: str
    title: str
    train: Dataset
    val: Dataset
    test: Dataset


_DATA: OrderedDict[tuple[str, str], DataBundle] = OrderedDict()
_DATA_LOCK = threading.Lock()  # one loader at a time: two downloads into one folder would collide


def load_bundle(
    name: str, root: str | Path | None = None, progress: Callable[[int, int | None], None] | None = None
) -> DataBundle:
    """The splits of data set `name` from data folder `root` (None: $PLAYGROUND_DATA_DIR or the user cache),
    downloading missing files with `progress(done, total)`. Kept once per server (4 at most); DataError."""
    folder = str(find_data_dir(root))
    held = _DATA.get((name, folder))
    if held is not None:  # loaded: no waiting behind someone else's download
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
    model_label: str  # "preset keras-mnist" / "Build page design"
    config: TrainConfig
    data: DataBundle


KEEP_TIMELINES = 2  # runs of a session whose checkpoint timeline the server keeps


@dataclass(eq=False)
class Run:
    """One training run of this session: its plan, its live Trainer while it lasts, then its results."""

    number: int
    plan: Plan
    spec: ModelSpec  # as trained (the plan's, with the dropout override applied)
    trainer: ProcessTrainer | None
    ticket: jobs.Ticket | None
    pause_requested: bool = False
    final: TrainSnapshot | None = None  # the last snapshot, once the run has ended
    model: nn.Module | None = None  # the trained weights (eval mode), once ended (dropped when old)
    metadata: dict[str, Any] = field(default_factory=dict)
    evaluation: EvalResult | None = None  # on the held-out test split
    _checkpoint: bytes | str | None = None  # file bytes, or the one-sentence reason it cannot be saved
    _visual: tuple[float, int, nn.Module] | None = None
    table_state: str | None = None  # the state the runs table shows for this run (set when it is drawn)
    timeline: list[tuple[int, dict]] = field(default_factory=list)  # [(step, weights)]: the checkpoint timeline

    def timeline_so_far(self) -> list[tuple[int, dict]]:
        """The checkpoint timeline: the whole of it once the run has ended, else the snapshots taken so far."""
        if self.timeline or self.trainer is None:
            return self.timeline
        return self.trainer.timeline() if hasattr(self.trainer, "timeline") else []

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
        if self.ticket is not None and not self.ticket.wait(5.0):  # run() is returning; give it a moment
            return False
        trainer = self.trainer
        self.final = trainer.snapshot()
        self.metadata = trainer.metadata()
        self.timeline = trainer.timeline() if hasattr(trainer, "timeline") else []
        if self.final.step > 0:
            self.model = trainer.model_copy()
            self.evaluation = trainer.test_evaluation  # scored where it trained, not in this process
            if self.evaluation is None and self.final.state in ("finished", "stopped"):
                # the child's scoring was cut short (a stopped child is killed after its grace period)
                self.evaluation = evaluate(self.model, self.plan.data.test)
        self.trainer, self.ticket, self._visual = None, None, None
        return True

    def drop_model(self) -> None:
        self.model, self._checkpoint, self._visual, self.timeline = None, None, None, []

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
        val_acc = snap.val[-1][2] if snap.val and snap.done else None
        # what came of the run first (a narrow table shows those), then every setting
        return {
            "Run": self.label,
            "State": snap.state,
            "Test accuracy": None if self.evaluation is None else round(100 * self.evaluation.accuracy, 2),
            "Validation accuracy": None if val_acc is None else round(100 * val_acc, 2),
            # a run in progress counts its steps in the live progress above; the table gives the final count
            "Steps": snap.step if snap.done else None,
            "Training time (s)": round(snap.elapsed_s, 1) if snap.done else None,
            "Model": self.plan.model_label,
            "Data": self.plan.data.title,
            "Images": c.subset,
            "Optimizer": OPTIMIZERS[c.optimizer].label,
            "Learning rate": c.lr,
            "Batch": c.batch_size,
            "Epochs": c.epochs,
            "Weight decay": c.weight_decay,
            "Dropout": "model's own" if c.dropout is None else c.dropout,
            "Augment": "yes" if c.augment else "no",
            "Schedule": c.lr_schedule,
            "Seed": c.seed,
            "Engine": ENGINE_LABELS[c.engine],
            "Loss": LOSS_LABELS[c.loss],
            "Initial weights": INIT_LABELS[c.init] + (f" {c.init_std:g}" if c.init == "std" else ""),
            "L1": c.l1,
            "L2": c.l2,
        }


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
            trainer = ProcessTrainer(plan.spec, plan.config, plan.data.train, plan.data.val, plan.data.test)
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
                self.queue.cancel(ticket)  # leaves the queue, or stops after the current step
            trainer.stop()

    def finalize(self) -> list[Run]:
        """Wrap up every run that has ended since the last call (script thread); returns them."""
        one_thread()
        ended = [run for run in self.runs if run.finalize()]
        if ended:  # the server keeps the timelines of this session's newest runs only (BUDGET_BYTES each)
            for old in self.runs[:-KEEP_TIMELINES]:
                old.timeline = []
        return ended

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
