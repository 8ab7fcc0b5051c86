"""What a training run is, apart from its loop: the validated setup (`RunSetup`), the progress snapshots a
page polls (`TrainSnapshot`) and the end result (`TrainResult`). No tensors are made here: a run waiting
in the queue is a `RunSetup` and costs next to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from playground.imaging.canvas_style import canvas_style_digits
from playground.nn.architecture import ModelSpec
from playground.nn.config import (
    CANVAS_ELASTIC_PX,
    ConfigError,
    Dataset,
    TrainConfig,
    check_data,
    data_record,
    initialise,
)
from playground.nn.model import build
from playground.nn.shapes import infer_shapes

STATES = ("queued", "running", "paused", "stopped", "finished", "failed")
FINAL_STATES = ("stopped", "finished", "failed")


@dataclass(frozen=True)
class TrainSnapshot:
    """A consistent copy of the run's progress, safe to read from any thread."""

    state: str  # one of STATES
    step: int  # optimizer steps done
    epoch: int  # current epoch, 1-based (0 while queued)
    epochs: int
    steps_per_epoch: int
    total_steps: int
    train_loss: tuple[tuple[int, float], ...]  # (step, mean loss over the last log_every_steps steps)
    val: tuple[tuple[int, float, float], ...]  # (step, validation loss, validation accuracy 0..1)
    images_per_s: float  # over the last 50 steps, excluding pauses and validation
    eta_s: float | None  # None until measurable or when not running
    elapsed_s: float  # training and validation time, excluding pauses
    message: str  # one sentence for the user
    diverged_at: int | None = None  # step whose loss was not finite (NaN guard), else None
    train_acc: tuple[tuple[int, float], ...] = ()  # (step, accuracy 0..1 on the training batches since the last)
    train_penalty: tuple[tuple[int, float], ...] = ()  # (step, mean L1/L2 penalty inside train_loss since the last)

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class TrainResult:
    """The end of a run: final state, history, and the last validation scores (None without val data)."""

    state: str
    message: str
    steps: int
    train_loss: tuple[tuple[int, float], ...]
    val: tuple[tuple[int, float, float], ...]
    elapsed_s: float
    images_per_s: float  # mean over the whole run
    diverged_at: int | None = None
    train_acc: tuple[tuple[int, float], ...] = ()

    @property
    def val_loss(self) -> float | None:
        return self.val[-1][1] if self.val else None

    @property
    def val_acc(self) -> float | None:
        return self.val[-1][2] if self.val else None

    @classmethod
    def of(cls, snap: TrainSnapshot, batch_size: int) -> TrainResult:
        """The result a run with this last snapshot ends with."""
        images = snap.step * batch_size
        return cls(
            snap.state,
            snap.message,
            snap.step,
            snap.train_loss,
            snap.val,
            snap.elapsed_s,
            images / snap.elapsed_s if snap.elapsed_s > 0 else 0.0,
            snap.diverged_at,
            snap.train_acc,
        )


def run_seeds(seed: int) -> tuple[int, int, int, int]:
    """Seeds for the initial weights, the data order, augmentation and dropout, from one seed."""
    return tuple(int(s) for s in np.random.SeedSequence(seed).generate_state(4))


def _check_start_weights(spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
    """ConfigError unless ``weights`` are a full state dict of ``spec``'s model (same names and shapes)."""
    wanted = {k: tuple(v.shape) for k, v in build(spec, seed=0).state_dict().items()}
    given = {k: tuple(np.shape(v)) for k, v in weights.items()}
    if given != wanted:
        odd = sorted(set(wanted) ^ set(given)) or sorted(k for k in wanted if wanted[k] != given[k])
        raise ConfigError(
            f"The weights to fine-tune do not fit this design (look at {', '.join(odd[:3])}).", "start_weights"
        )


def initial_model(spec: ModelSpec, config: TrainConfig) -> nn.Sequential:
    """The weights a run of ``spec`` with ``config`` starts from (its seed, its initialisation)."""
    seed = run_seeds(config.seed)[0]
    return initialise(build(spec, seed=seed), config.init, config.init_std, seed)


@dataclass(frozen=True)
class RunSetup:
    """A run before it trains: the validated model spec, settings and data sizes. It holds no tensors and
    no model (only references to the data sets), so a run waiting in the queue costs next to nothing."""

    spec: ModelSpec  # as trained: the config's dropout override applied
    config: TrainConfig
    train_data: Dataset
    val_data: Dataset | None
    n_train: int  # training images used (the subset)
    n_images: int  # images per epoch: the subset and its canvas-style copies
    batch_size: int
    steps_per_epoch: int  # the last partial batch is left out
    total_steps: int
    start_weights: dict[str, np.ndarray] | None = None  # fine-tuning: the weights to start from, not the seed's

    @classmethod
    def of(
        cls,
        spec: ModelSpec,
        config: TrainConfig,
        train_data: Dataset,
        val_data: Dataset | None = None,
        start_weights: dict[str, np.ndarray] | None = None,
    ) -> RunSetup:
        """Validate everything a run needs: ConfigError / SpecError name the setting or layer at fault.
        ``start_weights`` (a state dict as arrays) makes the run fine-tune those weights."""
        if not isinstance(config, TrainConfig):
            raise ConfigError("The training settings must be a TrainConfig.")
        spec = spec.with_dropout(config.dropout) if config.dropout is not None else spec
        infer_shapes(spec)
        n_train = check_data(spec, config, train_data, val_data)
        n_images = n_train * (1 + config.canvas_copies)
        batch_size = min(config.batch_size, n_images)
        steps_per_epoch = n_images // batch_size
        total_steps = steps_per_epoch * config.epochs
        if config.max_steps is not None:
            total_steps = min(total_steps, config.max_steps)
        if start_weights is not None:
            _check_start_weights(spec, start_weights)
        return cls(
            spec,
            config,
            train_data,
            val_data,
            n_train,
            n_images,
            batch_size,
            steps_per_epoch,
            total_steps,
            start_weights,
        )

    def training_images(self) -> tuple[np.ndarray, np.ndarray]:
        """The images (N, H, W) uint8 and labels (N,) of one epoch: the subset, then its canvas-style copies
        (each copy seeded from ``config.seed`` and its number; drawn here, which takes a few ms an image)."""
        images = np.asarray(self.train_data.images[: self.n_train])
        labels = np.asarray(self.train_data.labels[: self.n_train], dtype=np.int64)
        copies = [
            canvas_style_digits(images, seed=self.seeds[2] + k + 1, elastic_px=CANVAS_ELASTIC_PX)
            for k in range(self.config.canvas_copies)
        ]
        return np.concatenate([images, *copies]), np.tile(labels, 1 + len(copies))

    @property
    def seeds(self) -> tuple[int, int, int, int]:
        """Seeds for the initial weights, the data order, augmentation and dropout, from `config.seed`."""
        return run_seeds(self.config.seed)

    def initial_model(self) -> nn.Sequential:
        """The model the run starts from: seeded and initialised as the config says, or the start weights."""
        model = initial_model(self.spec, self.config)
        if self.start_weights is not None:
            try:
                model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in self.start_weights.items()})
            except (RuntimeError, TypeError, ValueError) as err:
                raise ConfigError(
                    f"The weights to fine-tune do not fit this design: {str(err).splitlines()[0]}", "start_weights"
                ) from None
        return model

    def queued(self) -> TrainSnapshot:
        """The snapshot of a run that has not started."""
        return TrainSnapshot(
            "queued",
            0,
            0,
            self.config.epochs,
            self.steps_per_epoch,
            self.total_steps,
            (),
            (),
            0.0,
            None,
            0.0,
            "Waiting to start.",
        )

    def metadata(self, snap: TrainSnapshot) -> dict[str, Any]:
        """Training config, data used and metrics as of `snap`, as a checkpoint records them."""
        data = {"train": data_record(self.train_data, self.n_train)}
        if self.val_data is not None:
            data["val"] = data_record(self.val_data)
        metrics = {
            "steps": snap.step,
            "state": snap.state,
            "train_loss": snap.train_loss[-1][1] if snap.train_loss else None,
            "val_loss": snap.val[-1][1] if snap.val else None,
            "val_acc": snap.val[-1][2] if snap.val else None,
            "elapsed_s": round(snap.elapsed_s, 3),
        }
        return {"config": self.config.to_dict(), "data": data, "metrics": metrics}
