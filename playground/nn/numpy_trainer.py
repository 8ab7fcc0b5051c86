"""The from-scratch engine: a network of convolution, activation, pooling, flatten and dense layers
trained by the numpy teaching engine (``playground.ops.network``, im2col forward and col2im backward,
``playground.ops.optim``), with the PyTorch path's data, split, seeds, batches and settings.

It starts from the same initial weights as the PyTorch path (the seeded model, copied to float64) and
draws its batches from the same seeded order, so the two runs can be compared step for step. The
trained weights are copied back into the PyTorch model, so a checkpoint, ``evaluate`` and the Draw page
use it like any other.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec, Pool
from playground.nn.config import ConfigError, TrainConfig, augment_batch, evaluate, images_to_tensor
from playground.nn.run import RunSetup, TrainResult, TrainSnapshot
from playground.nn.trainer import TrainEvent
from playground.ops import network
from playground.ops.conv import ConvSettings
from playground.ops.layers import loss_and_grad
from playground.ops.optim import Optimizer, base_momentum, schedule
from playground.ops.pool import PoolSettings

EVAL_BATCH = 500
log = logging.getLogger(__name__)


class EngineError(ConfigError):
    """A model the numpy engine cannot train; str(e) says which layer and what to use instead."""


def network_of(spec: ModelSpec) -> tuple[network.Network, list[str]]:
    """The numpy network for ``spec`` and, per numpy layer, the PyTorch module name it mirrors."""
    layers, names = [], []
    channels, _, _ = spec.input_shape
    features = None
    counts: dict[str, int] = {}
    for layer in spec.layers:
        kind = type(layer).__name__.lower()
        counts[kind] = counts.get(kind, 0) + 1
        if isinstance(layer, Conv):
            settings = ConvSettings(stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
            layers.append(network.Conv(channels, layer.filters, layer.kernel, settings))
            channels, name = layer.filters, f"conv{counts[kind]}"
        elif isinstance(layer, Act):
            layers.append(network.Activation(layer.fn))
            name = f"{layer.fn}{counts[kind]}"
        elif isinstance(layer, Pool):
            layers.append(network.Pool(PoolSettings(layer.kind, layer.size, layer.stride)))
            name = f"pool{counts[kind]}"
        elif isinstance(layer, Flatten):
            layers.append(network.Flatten())
            name = "flatten"
        elif isinstance(layer, Dense):
            shape = network.Network(tuple(layers), spec.input_shape).shapes()[-1]
            features = int(np.prod(shape))
            layers.append(network.Dense(features, layer.units))
            name = f"dense{counts[kind]}"
        else:
            raise EngineError(
                f"The numpy engine trains convolution, activation, pooling, flatten and dense layers; "
                f"{spec.name} has a {kind} layer. Use the PyTorch engine for it.",
                "engine",
            )
        names.append(name)
    net = network.Network(tuple(layers), spec.input_shape)
    net.shapes()
    return net, names


def params_of(model: torch.nn.Module, net: network.Network, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The model's weights as the numpy network's float64 params ("0.w", "0.b", ...)."""
    state = model.state_dict()
    params = {}
    for i, (layer, name) in enumerate(zip(net.layers, names)):
        if isinstance(layer, (network.Conv, network.Dense)):
            params[f"{i}.w"] = state[f"{name}.weight"].detach().double().numpy().copy()
            params[f"{i}.b"] = state[f"{name}.bias"].detach().double().numpy().copy()
    return params


def load_params(model: torch.nn.Module, params: dict[str, np.ndarray], names: Sequence[str]) -> None:
    """Copy the numpy params into the model (in its own dtype)."""
    state = model.state_dict()
    with torch.no_grad():
        for key, value in params.items():
            i, which = key.split(".")
            target = state[f"{names[int(i)]}.{'weight' if which == 'w' else 'bias'}"]
            target.copy_(torch.from_numpy(value))


class NumpyTrainer:
    """One run of ``spec`` trained by the numpy engine; the same interface as ``Trainer`` for the CLI
    (``run``, ``total_steps``, ``n_train``, ``spec``, ``model``, ``metadata``)."""

    def __init__(
        self,
        spec: ModelSpec,
        config: TrainConfig,
        train_data: Any,
        val_data: Any = None,
        callbacks: Sequence[Callable[[TrainEvent], None]] = (),
        test_data: Any = None,
        start_weights: dict[str, np.ndarray] | None = None,
    ):
        self.setup = setup = RunSetup.of(spec, config, train_data, val_data, start_weights)
        self.test_data, self.test_evaluation = test_data, None  # scored once the run ends
        self.spec, self.config, self.n_train = setup.spec, config, setup.n_train
        self.net, self.names = network_of(setup.spec)
        self._model = setup.initial_model()  # PyTorch's seeded initial weights: both engines start here
        self.params = params_of(self._model, self.net, self.names)
        seeds = setup.seeds
        self._order_gen = torch.Generator().manual_seed(seeds[1])
        self._aug_gen = torch.Generator().manual_seed(seeds[2])
        images, labels = setup.training_images()
        self.x, self.y = images_to_tensor(images), np.asarray(labels, dtype=np.int64)
        self.val_x = images_to_tensor(val_data.images).double().numpy() if val_data is not None else None
        self.val_y = np.asarray(val_data.labels, dtype=np.int64) if val_data is not None else None
        self.batch_size, self.steps_per_epoch, self.total_steps = (
            setup.batch_size,
            setup.steps_per_epoch,
            setup.total_steps,
        )
        self.callbacks = tuple(callbacks)
        self.optimizer = Optimizer(config.optimizer, config.weight_decay)
        self._step, self._epoch, self._elapsed = 0, 0, 0.0
        self._train_hist: list[tuple[int, float]] = []
        self._penalty_hist: list[tuple[int, float]] = []
        self._val_hist: list[tuple[int, float, float]] = []
        self._state, self._message = "queued", "Waiting to start."
        self._lock = threading.Lock()  # params, step and history are read from other threads
        self._gate = threading.Event()
        self._gate.set()
        self._stop = False
        self.result: TrainResult | None = None

    # ---- control, callable from any thread ----
    def stop(self) -> None:
        self._stop = True
        self._gate.set()

    def pause(self) -> None:
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    def model_copy(self) -> torch.nn.Module:
        """A PyTorch model with the weights as they are now (safe while training)."""
        with self._lock:
            params = {k: v.copy() for k, v in self.params.items()}
        model = copy.deepcopy(self._model)
        load_params(model, params, self.names)
        return model.eval()

    @property
    def model(self) -> torch.nn.Module:
        """The PyTorch model holding the numpy engine's current weights (for saving and scoring)."""
        return self.model_copy()

    def run(self) -> TrainResult:
        """Train in the calling thread until done, stopped or diverged; never raises for a failed run."""
        with self._lock:
            if self._state != "queued":
                return self.result or TrainResult.of(self.snapshot(), self.batch_size)
            self._state, self._message = ("stopped", "Stopped before it started.") if self._stop else ("running", "")
        if self._state == "running":
            try:
                state, message = self._loop()
            except Exception as err:  # reported, never raised into a page
                log.exception("numpy training failed")
                state, message = (
                    "failed",
                    f"Training failed: {(str(err).strip().splitlines() or [type(err).__name__])[0]}.",
                )
            if state in ("finished", "stopped") and self.test_data is not None and self._step > 0:
                self.test_evaluation = evaluate(self.model_copy(), self.test_data)
            with self._lock:
                self._state, self._message = state, message
        self.result = TrainResult.of(self.snapshot(), self.batch_size)
        self._emit(TrainEvent("end", self._step, self._epoch, message=self._message))
        return self.result

    def snapshot(self) -> TrainSnapshot:
        with self._lock:
            step, elapsed = self._step, self._elapsed
            rate = step * self.batch_size / elapsed if elapsed > 0 else 0.0
            running = self._state == "running" and step > 0
            return TrainSnapshot(
                "paused" if running and not self._gate.is_set() else self._state,
                step,
                self._epoch,
                self.config.epochs,
                self.steps_per_epoch,
                self.total_steps,
                tuple(self._train_hist),
                tuple(self._val_hist),
                rate,
                (self.total_steps - step) * elapsed / step if running else None,
                elapsed,
                self._message or f"Step {step:,} of {self.total_steps:,} with the numpy engine.",
                None,
                (),
                tuple(self._penalty_hist),
            )

    def metadata(self) -> dict[str, Any]:
        meta = self.setup.metadata(self.snapshot())
        meta["engine"] = "numpy"
        return meta

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Logits (N, classes) of normalised images x (N, 1, H, W), in evaluation batches."""
        return np.concatenate(
            [self.net.forward(self.params, x[i : i + EVAL_BATCH])[-1] for i in range(0, len(x), EVAL_BATCH)]
        )

    def _emit(self, event: TrainEvent) -> None:
        for cb in self.callbacks:
            cb(event)

    def _loop(self) -> tuple[str, str]:
        cfg, bs = self.config, self.batch_size
        momentum = base_momentum(cfg.optimizer, cfg.momentum)
        log_every = cfg.log_every_steps or max(1, self.total_steps // 250)  # as the PyTorch path: ~250 points
        logged_sum, logged_n, logged_pen = 0.0, 0, 0.0
        reg_terms = network.Penalty(cfg.l1, cfg.l2)
        for epoch in range(1, cfg.epochs + 1):
            if self._step >= self.total_steps:
                break
            self._epoch = epoch
            perm = torch.randperm(len(self.x), generator=self._order_gen)
            epoch_sum, epoch_steps = 0.0, 0
            for b in range(self.steps_per_epoch):
                if self._step >= self.total_steps:
                    break
                self._gate.wait()
                if self._stop:
                    return (
                        "stopped",
                        f"Stopped at step {self._step:,} of {self.total_steps:,}; the curves so far are kept.",
                    )
                t0 = time.perf_counter()
                idx = perm[b * bs : (b + 1) * bs]
                xb = self.x.index_select(0, idx)
                if cfg.augment:
                    xb = augment_batch(xb, self._aug_gen)
                x, y = xb.double().numpy(), self.y[idx.numpy()]
                values = self.net.forward(self.params, x)
                result = loss_and_grad(cfg.loss, values[-1], y)
                reg = reg_terms.value(self.params) if reg_terms.l1 or reg_terms.l2 else 0.0
                total = result.loss + reg
                if not math.isfinite(total):
                    return "failed", f"The loss became {total} at step {self._step + 1}; lower the learning rate."
                _, grads = self.net.backward(self.params, values, result.grad_logits)
                if reg_terms.l1 or reg_terms.l2:
                    grads = {k: g + reg_terms.grad(k, self.params[k]) for k, g in grads.items()}
                lr, m = schedule(cfg.lr_schedule, self._step, self.total_steps, cfg.lr, momentum)
                with self._lock:
                    self.optimizer.step(self.params, grads, lr, m)
                    self._step += 1
                    self._elapsed += time.perf_counter() - t0
                epoch_sum, epoch_steps = epoch_sum + total, epoch_steps + 1
                logged_sum, logged_n, logged_pen = logged_sum + total, logged_n + 1, logged_pen + reg
                if self._step % log_every == 0 or self._step == self.total_steps:
                    with self._lock:
                        self._train_hist.append((self._step, logged_sum / logged_n))
                        if reg_terms.l1 or reg_terms.l2:
                            self._penalty_hist.append((self._step, logged_pen / logged_n))
                    logged_sum, logged_n, logged_pen = 0.0, 0, 0.0
                self._emit(TrainEvent("step", self._step, epoch, loss=total))
                if cfg.val_every_steps and self._step % cfg.val_every_steps == 0 and b + 1 < self.steps_per_epoch:
                    self._validate(epoch)
            self._validate(epoch)
            self._emit(TrainEvent("epoch", self._step, epoch, loss=epoch_sum / max(epoch_steps, 1)))
        return "finished", f"Finished {self._step:,} steps with the numpy engine."

    def _validate(self, epoch: int) -> None:
        if self.val_x is None:
            return
        t0 = time.perf_counter()
        logits = self.predict(self.val_x)
        loss = loss_and_grad(self.config.loss, logits, self.val_y).loss
        acc = float((logits.argmax(1) == self.val_y).mean())
        with self._lock:
            self._elapsed += time.perf_counter() - t0
            self._val_hist.append((self._step, loss, acc))
        self._emit(TrainEvent("val", self._step, epoch, val_loss=loss, val_acc=acc))
