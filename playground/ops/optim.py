"""Optimizers and learning-rate schedules in numpy, written out the way PyTorch computes them, so the
from-scratch network trains step for step like the PyTorch path (tested against torch.optim).

An optimizer updates a ``params`` dict in place from a ``grads`` dict with the same keys; ``lr`` and
``momentum`` are given per step, because a schedule (one-cycle) moves both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from playground.ops._common import OpError

OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "cosine", "onecycle")
ADAM_BETA2, ADAM_EPS, RMS_ALPHA, RMS_EPS = 0.999, 1e-8, 0.99, 1e-8  # PyTorch's defaults
# one-cycle as torch.optim.lr_scheduler.OneCycleLR's defaults: warm up over 30 % of the steps from
# max_lr/25 to max_lr, then anneal to max_lr/25/1e4; momentum (Adam's β1) moves 0.95 → 0.85 → 0.95
ONECYCLE_PCT, ONECYCLE_DIV, ONECYCLE_FINAL_DIV, MOMENTUM_LOW, MOMENTUM_HIGH = 0.3, 25.0, 1e4, 0.85, 0.95


@dataclass
class Optimizer:
    """One of OPTIMIZERS with PyTorch's update rule; ``weight_decay`` is added to the gradient (L2),
    decoupled for AdamW. Its running state (momentum buffers, Adam's moments) lives in ``state``."""

    name: str
    weight_decay: float = 0.0
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    steps: int = 0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise OpError(f"Optimizer {self.name!r} is not known; choose one of {', '.join(OPTIMIZERS)}.")

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float, momentum: float) -> None:
        """One update of every parameter, in place. ``momentum`` is SGD's/RMSprop's momentum or Adam's β1."""
        self.steps += 1
        t, wd = self.steps, self.weight_decay
        for key, p in params.items():
            g = grads[key]
            s = self.state.setdefault(key, {})
            if self.name == "adamw":
                p *= 1.0 - lr * wd  # decoupled weight decay
            elif wd:
                g = g + wd * p
            if self.name in ("sgd", "sgd-momentum"):
                if momentum:
                    s["buf"] = g.copy() if "buf" not in s else momentum * s["buf"] + g
                    g = s["buf"]
                p -= lr * g
            elif self.name in ("adam", "adamw"):
                s["m"] = momentum * s.get("m", 0.0) + (1.0 - momentum) * g
                s["v"] = ADAM_BETA2 * s.get("v", 0.0) + (1.0 - ADAM_BETA2) * g * g
                bias1, bias2 = 1.0 - momentum**t, 1.0 - ADAM_BETA2**t
                denom = np.sqrt(s["v"]) / math.sqrt(bias2) + ADAM_EPS
                p -= (lr / bias1) * s["m"] / denom
            else:  # rmsprop
                s["sq"] = RMS_ALPHA * s.get("sq", 0.0) + (1.0 - RMS_ALPHA) * g * g
                scaled = g / (np.sqrt(s["sq"]) + RMS_EPS)
                if momentum:
                    s["buf"] = momentum * s.get("buf", 0.0) + scaled
                    scaled = s["buf"]
                p -= lr * scaled


def base_momentum(name: str, momentum: float = 0.9) -> float:
    """The momentum term an optimizer uses without a schedule: SGD none, SGD-momentum ``momentum``,
    Adam/AdamW β1 = 0.9, RMSprop none."""
    return {"sgd": 0.0, "sgd-momentum": momentum, "adam": 0.9, "adamw": 0.9, "rmsprop": 0.0}[name]


def _anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def schedule(kind: str, step: int, total: int, lr: float, momentum: float) -> tuple[float, float]:
    """(learning rate, momentum) for optimizer step ``step`` (0-based) of ``total``.

    constant: as given; cosine: lr·½(1 + cos(π·step/total)); onecycle: PyTorch's OneCycleLR over
    ``total + 1`` scheduler steps, which also cycles the momentum (so plain SGD gains momentum, as in PyTorch).
    """
    if kind == "constant":
        return lr, momentum
    if kind == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total)), momentum
    if kind != "onecycle":
        raise OpError(f"Learning-rate schedule {kind!r} is not known; choose one of {', '.join(SCHEDULES)}.")
    steps = total + 1
    initial = lr / ONECYCLE_DIV
    phases = (
        (float(ONECYCLE_PCT * steps) - 1, initial, lr, MOMENTUM_HIGH, MOMENTUM_LOW),
        (steps - 1, lr, initial / ONECYCLE_FINAL_DIV, MOMENTUM_LOW, MOMENTUM_HIGH),
    )
    start = 0.0
    for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            pct = (step - start) / (end - start)
            return _anneal(lr0, lr1, pct), _anneal(m0, m1, pct)
        start = end
    raise AssertionError("unreachable")
