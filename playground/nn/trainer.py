"""The training engine: one loop for the CLI and the pages; nothing in it knows about Streamlit.

`Trainer` owns the model, optimizer, step count and history. It runs in the caller's thread (`run`) or
a background thread (`start`), reports through callbacks and a lock-protected `snapshot()` that a page
can poll twice a second, and honours pause/resume/stop between optimizer steps. A non-finite loss stops
the run and restores the last weights that gave a finite loss. Every random draw (initial weights, data
order, augmentation, dropout masks) comes from generators derived from `TrainConfig.seed`.

Threads: `torch.set_num_threads(config.threads)` is called at the start of every run, in the thread that
trains. With this torch build (OpenMP) the call is process-wide in effect: it applies to the calling
thread and becomes the default for every thread that starts using torch afterwards (threads already
running keep theirs). Keep `threads=1` in a web server so training cannot starve the threads serving
pages; the CLI may use all cores.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from playground.nn.architecture import ModelSpec
from playground.nn.config import (  # noqa: F401  (re-exported: import these from playground.nn.trainer)
    AUG_ROTATE_DEG,
    AUG_SHIFT_PX,
    OPTIMIZERS,
    RECOMMENDED_CONFIG,
    SCHEDULES,
    ConfigError,
    Dataset,
    EvalResult,
    TrainConfig,
    _predict,
    augment_batch,
    check_data,
    data_loss,
    data_record,
    eval_batch_size,
    evaluate,
    images_to_tensor,
    index_ranges,
    make_optimizer,
    penalty,
    smaller_rates,
)
from playground.nn.model import SeededDropout
from playground.nn.run import (  # noqa: F401  (re-exported)
    FINAL_STATES,
    STATES,
    RunSetup,
    TrainResult,
    TrainSnapshot,
)
from playground.nn.shapes import infer_shapes, summary_totals

log = logging.getLogger(__name__)
BLOW_UP = 10  # a moving average of the loss this many times its first value (plus 10) means divergence


@dataclass(frozen=True)
class TrainEvent:
    """What callbacks receive, in the training thread: kind is "step", "val", "epoch" or "end"."""

    kind: str
    step: int
    epoch: int
    loss: float | None = None  # step: this step's loss; epoch: mean over the epoch
    val_loss: float | None = None
    val_acc: float | None = None
    message: str = ""


Callback = Callable[[TrainEvent], None]


# A run is judged "not learning" at the end of an epoch only once it has taken this many optimizer steps: an
# epoch of 5 steps (300 images in batches of 64) is too few to tell Adam's slow start from no learning at all.
JUDGED_AFTER_STEPS = 20


class Trainer:
    """One training run of `spec` on `train_data` (validated on `val_data`, if given) with `config`.

    Create it on any thread (it prepares tensors and the seeded model; state "queued"), then call run()
    or start(). A server-wide queue may hold it "queued" and call run() from its own worker; stop() on a
    queued Trainer ends it at once. `model` is the live module: use model_copy() while training.
    """

    def __init__(
        self,
        spec: ModelSpec,
        config: TrainConfig,
        train_data: Dataset,
        val_data: Dataset | None = None,
        callbacks: Sequence[Callback] = (),
        test_data: Dataset | None = None,
        start_weights: dict[str, np.ndarray] | None = None,
    ):
        self.setup = setup = RunSetup.of(spec, config, train_data, val_data, start_weights)
        self.test_data = test_data  # scored once the run ends (see run), where the run is
        self.test_evaluation: EvalResult | None = None
        self.config, self.spec, self.n_train = config, setup.spec, setup.n_train
        self._eval_batch = eval_batch_size(summary_totals(infer_shapes(setup.spec))[1])
        self.train_data, self.val_data, self.callbacks = train_data, val_data, tuple(callbacks)
        seeds = setup.seeds
        self.model = setup.initial_model()
        self._order_gen = torch.Generator().manual_seed(seeds[1])
        self._aug_gen = torch.Generator().manual_seed(seeds[2])
        drop_gen = torch.Generator().manual_seed(seeds[3])
        for m in self.model.modules():
            if isinstance(m, SeededDropout):
                m.generator = drop_gen
        images, labels = setup.training_images()
        self.n_images = len(images)
        self.x, self.y = images_to_tensor(images), torch.from_numpy(labels)
        if val_data is not None:
            self.val_x = images_to_tensor(val_data.images)
            self.val_y = torch.as_tensor(np.asarray(val_data.labels, dtype=np.int64))
        self.batch_size, self.steps_per_epoch, self.total_steps = (
            setup.batch_size,
            setup.steps_per_epoch,
            setup.total_steps,
        )
        self.log_every = config.log_every_steps or max(1, self.total_steps // 250)
        self._lock, self._weights_lock = threading.Lock(), threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._state, self._message, self._step, self._epoch = "queued", "Waiting to start.", 0, 0
        self._train_hist: list[tuple[int, float]] = []
        self._train_acc_hist: list[tuple[int, float]] = []  # in training mode: dropout and augmentation on
        self._penalty_hist: list[tuple[int, float]] = []  # the L1/L2 term inside the training loss
        self._val_hist: list[tuple[int, float, float]] = []
        self._window: deque[tuple[float, int]] = deque(maxlen=50)
        self._elapsed, self._eval_s, self._diverged = 0.0, 0.0, None
        self.result: TrainResult | None = None

    # ---- control, callable from any thread ----
    def start(self) -> None:
        """Train in a background daemon thread; returns at once."""
        with self._lock:
            if self._thread is not None or self._state != "queued":
                return
            self._thread = threading.Thread(target=self.run, name="playground-trainer", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Hold the run after the current optimizer step (state "paused")."""
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    def stop(self) -> None:
        """End the run after the current optimizer step; the history is kept. Ends a queued run at once."""
        with self._lock:
            self._stop = True
            if self._state == "queued":
                self._state, self._message = "stopped", "Stopped before it started."
        self._gate.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for a start()ed run; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self._state in FINAL_STATES

    def snapshot(self) -> TrainSnapshot:
        with self._lock:
            running = self._state == "running"
            dt = sum(t for t, _ in self._window)
            ips = sum(n for _, n in self._window) / dt if dt > 0 else 0.0
            eta = None
            if running and ips > 0:
                evals_left = self._evals_left()
                per_eval = self._eval_s / max(1, len(self._val_hist))
                eta = (self.total_steps - self._step) * self.batch_size / ips + evals_left * per_eval
            return TrainSnapshot(
                self._state,
                self._step,
                self._epoch,
                self.config.epochs,
                self.steps_per_epoch,
                self.total_steps,
                tuple(self._train_hist),
                tuple(self._val_hist),
                ips,
                eta,
                self._elapsed,
                self._message,
                self._diverged,
                tuple(self._train_acc_hist),
                tuple(self._penalty_hist),
            )

    def model_copy(self) -> nn.Module:
        """A consistent copy of the current weights in eval mode, taken between optimizer steps."""
        with self._weights_lock:
            m = copy.deepcopy(self.model)
        for mod in m.modules():
            if isinstance(mod, SeededDropout):
                mod.generator = None
        return m.eval()

    def metadata(self) -> dict[str, Any]:
        """Training config, data used and final metrics, as a checkpoint records them."""
        return self.setup.metadata(self.snapshot())

    def _evals_left(self) -> int:
        if self.val_data is None:
            return 0
        every, left = self.config.val_every_steps, self.config.epochs - self._step // self.steps_per_epoch
        return left + ((self.total_steps // every - self._step // every) if every else 0)

    # ---- the run ----
    def run(self) -> TrainResult:
        """Train in the calling thread until done, stopped or diverged; never raises for a failed run."""
        with self._lock:
            begin = self._state == "queued"
            if begin:
                self._state, self._message = "running", "Training."
        if not begin:  # already ran, running, or stopped while queued
            if self.result is None and self._state == "stopped":
                self.result = self._finish("stopped", self._message)
            return self.result if self.result is not None else self._result()
        torch.set_num_threads(self.config.threads)
        try:
            state, message = self._loop()
            if state in ("finished", "stopped") and self.test_data is not None and self._step > 0:
                self._score_test()
        except Exception as err:  # reported, never raised into a page
            log.exception("training failed")
            state, message = "failed", f"Training failed: {(str(err).strip().splitlines() or [type(err).__name__])[0]}."
        self.result = self._finish(state, message)
        return self.result

    def _score_test(self) -> None:
        """The trained model on the held-out test images, in evaluation batches; a stop() from here on
        (a second Stop, or the tab closing) abandons it between two batches, leaving no scores."""
        with self._lock:
            self._stop, self._message = False, "Scoring on the held-out test images."
        self.test_evaluation = evaluate(self.model, self.test_data, self._eval_batch, stop=lambda: self._stop)

    def _result(self) -> TrainResult:
        return TrainResult.of(self.snapshot(), self.batch_size)

    def _finish(self, state: str, message: str) -> TrainResult:
        with self._lock:
            self._state, self._message = state, message
        result = self._result()
        try:
            self._emit(TrainEvent("end", self._step, self._epoch, message=message))
        except Exception:  # the run is over; a failing listener must not hide that
            log.exception("end-of-training callback failed")
        return result

    def _emit(self, event: TrainEvent) -> None:
        for cb in self.callbacks:
            cb(event)

    def _make_optimizer(self) -> tuple[torch.optim.Optimizer, Any]:
        cfg = self.config
        opt = make_optimizer(self.model.parameters(), cfg)
        total = max(1, self.total_steps)
        if cfg.lr_schedule == "cosine":
            decay = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))  # noqa: E731
            return opt, torch.optim.lr_scheduler.LambdaLR(opt, decay)
        if cfg.lr_schedule == "onecycle":
            return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total + 1)
        return opt, None

    def _loop(self) -> tuple[str, str]:
        cfg, model, bs = self.config, self.model, self.batch_size
        opt, sched = self._make_optimizer()
        live = list(model.parameters()) + list(model.buffers())
        good = [t.detach().clone() for t in live]  # weights that last gave a finite loss
        spare = [t.detach().clone() for t in live]
        log_every, val_every = self.log_every, cfg.val_every_steps
        loss_sum, acc_sum, pen_sum, step, last_logged = 0.0, 0.0, 0.0, 0, 0
        first: float | None = None  # the first step's loss, and a moving average of the loss since
        ema: float | None = None
        stats = [b for b in model.buffers() if b.is_floating_point()]  # batch norm's running statistics
        model.train()
        for epoch in range(1, cfg.epochs + 1):
            if step >= self.total_steps:
                break
            with self._lock:
                self._epoch = epoch
            perm = torch.randperm(self.n_images, generator=self._order_gen)
            epoch_sum, epoch_steps = 0.0, 0
            for b in range(self.steps_per_epoch):
                if step >= self.total_steps:
                    break
                if not self._gate.is_set():
                    self._wait_paused()
                if self._stop:
                    return "stopped", f"Stopped at step {step:,} of {self.total_steps:,}; the curves so far are kept."
                t0 = time.perf_counter()
                idx = perm[b * bs : (b + 1) * bs]
                xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
                if cfg.augment:
                    xb = augment_batch(xb, self._aug_gen)
                with self._weights_lock:
                    with torch.no_grad():
                        torch._foreach_copy_(spare, live)
                    logits = model(xb)
                    loss = data_loss(logits, yb, cfg.loss)
                    if cfg.l1 or cfg.l2:  # the explicit penalty: the curve shows data loss + penalty
                        reg = penalty(model, cfg.l1, cfg.l2)
                        loss = loss + reg
                        pen_sum += reg.item()
                    value = loss.item()
                    hits = int((logits.detach().argmax(1) == yb).sum())
                    # batch norm updates its running statistics in the forward pass, while the loss (computed
                    # from the batch's own statistics) can stay finite: check both before keeping the step
                    stats_ok = all(bool(torch.isfinite(b).all()) for b in stats)
                    finite = math.isfinite(value) and stats_ok
                    if finite:
                        good, spare = spare, good
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        if sched is not None:
                            sched.step()
                if not finite:
                    where = "batch-norm statistics" if math.isfinite(value) else "training"
                    return self._diverged_at(step + 1, epoch, good, live, value, where)
                step += 1
                first = value if first is None else first
                ema = value if ema is None else 0.9 * ema + 0.1 * value
                if step >= 20 and ema > BLOW_UP * first + 10:
                    return self._blew_up(step, epoch, first, ema)
                dt = time.perf_counter() - t0
                loss_sum += value
                acc_sum += hits / len(yb)
                epoch_sum += value
                epoch_steps += 1
                with self._lock:
                    self._step, self._elapsed = step, self._elapsed + dt
                    self._window.append((dt, bs))
                    if step % log_every == 0 or step == self.total_steps:
                        self._train_hist.append((step, loss_sum / (step - last_logged)))
                        self._train_acc_hist.append((step, acc_sum / (step - last_logged)))
                        if cfg.l1 or cfg.l2:
                            self._penalty_hist.append((step, pen_sum / (step - last_logged)))
                        loss_sum, acc_sum, pen_sum, last_logged = 0.0, 0.0, 0.0, step
                if self.callbacks:
                    self._emit(TrainEvent("step", step, epoch, loss=value))
                if val_every and step % val_every == 0 and b + 1 < self.steps_per_epoch:
                    ended = self._validate(step, epoch, good, live)
                    if ended:
                        return ended
            ended = self._validate(step, epoch, good, live) if epoch_steps else None
            if ended:
                return ended
            if (
                epoch_steps
                and first is not None
                and step >= JUDGED_AFTER_STEPS
                and self._at_chance(epoch_sum / epoch_steps, first)
            ):
                return self._not_learning(step, epoch, first, epoch_sum / epoch_steps)
            if epoch_steps and self.callbacks:
                self._emit(TrainEvent("epoch", step, epoch, loss=epoch_sum / epoch_steps))
        if not all(torch.isfinite(t).all() for t in live if t.is_floating_point()):
            return self._diverged_at(step, self._epoch, good, live, float("nan"), "weights")
        return "finished", f"Finished {step:,} steps ({self._epoch} epoch{'s' if self._epoch != 1 else ''})."

    def _wait_paused(self) -> None:
        with self._lock:
            if self._stop:
                return
            self._state, self._message = "paused", f"Paused at step {self._step:,}."
        self._gate.wait()
        with self._lock:
            if self._state == "paused":
                self._state, self._message = "running", "Training."

    def _validate(self, step: int, epoch: int, good: list[torch.Tensor], live: list[torch.Tensor]):
        """Validation loss and accuracy at this step. None to go on; else the (state, message) the run
        ends with: stopped (honoured between two evaluation batches) or diverged (a loss not finite)."""
        if self.val_data is None:
            return None
        t0 = time.perf_counter()
        scored = _predict(
            self.model, self.val_x, self.val_y, self._eval_batch, stop=lambda: self._stop, loss=self.config.loss
        )
        if scored is None:
            return "stopped", f"Stopped at step {step:,} of {self.total_steps:,}; the curves so far are kept."
        preds, loss = scored
        acc = float((preds == self.val_y).double().mean())
        with self._lock:
            self._eval_s += time.perf_counter() - t0
            self._elapsed += time.perf_counter() - t0
            if math.isfinite(loss):
                self._val_hist.append((step, loss, acc))
        if not math.isfinite(loss):
            return self._diverged_at(step, epoch, good, live, float("nan"), "validation")
        if self.callbacks:
            self._emit(TrainEvent("val", step, epoch, val_loss=loss, val_acc=acc))
        return None

    def _diverged_at(
        self,
        step: int,
        epoch: int,
        good: list[torch.Tensor],
        live: list[torch.Tensor],
        value: float,
        where: str = "training",
    ) -> tuple[str, str]:
        """NaN guard: put back the last weights that gave a finite loss, and say what to change."""
        with self._weights_lock, torch.no_grad():
            torch._foreach_copy_(live, good)
        with self._lock:
            self._diverged = step
        what = "NaN" if math.isnan(value) else "infinite"
        subject = {
            "weights": "weights became NaN or infinite",
            "batch-norm statistics": "batch-norm statistics became NaN or infinite",
        }.get(where, f"{where} loss became {what}")
        return "failed", (
            f"The {subject} at step {step:,} (epoch {epoch}), so training stopped and the last good "
            f"weights were restored. {self._rate_advice()}"
        )

    def _rate_advice(self) -> str:
        c = self.config
        return f"The learning rate {c.lr:g} is too large for {OPTIMIZERS[c.optimizer].label}: {smaller_rates(c.lr, c.optimizer)}."

    def _blew_up(self, step: int, epoch: int, first: float, now: float) -> tuple[str, str]:
        """The loss grew far above where it started: the run has diverged though every number is finite."""
        with self._lock:
            self._diverged = step
        return "failed", (
            f"The training loss rose to {now:,.4g} by step {step:,} (epoch {epoch}), far above the {first:.3g} it "
            f"started at: the run diverged, so training stopped. {self._rate_advice()}"
        )

    def _at_chance(self, epoch_loss: float, first: float) -> bool:
        """After an epoch: validation accuracy no better than guessing and a loss that has not gone down."""
        with self._lock:
            acc = self._val_hist[-1][2] if self._val_hist else None
        k = self.spec.num_classes
        return acc is not None and acc <= 1.5 / k and epoch_loss >= 0.95 * first

    def _not_learning(self, step: int, epoch: int, first: float, epoch_loss: float) -> tuple[str, str]:
        with self._lock:
            self._diverged = step
            acc = self._val_hist[-1][2]
        c = self.config
        low, high = OPTIMIZERS[c.optimizer].usual
        if c.lr > high:
            advice = self._rate_advice()
        elif c.lr < low:
            advice = f"The learning rate {c.lr:g} is very small for {OPTIMIZERS[c.optimizer].label}: try {c.lr * 10:g} or {c.lr * 100:g}."
        else:
            advice = "Try another learning rate or optimizer, or check the design."
        return "failed", (
            f"After epoch {epoch} the model is no better than guessing ({acc:.1%} on the validation images) and "
            f"the training loss has not gone down ({epoch_loss:.3g}, from {first:.3g}), so training stopped. {advice}"
        )
