"""One training step of the Backpropagation page's network on one image, with every stage's records.

``compute`` is plain numpy (the benchmark times it): the page only chooses a stage and a cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.ops._common import OpError, as_float_array
from playground.ops.activations import ACTIVATIONS
from playground.ops.backprop import (
    BackStep,
    activation_grad_steps,
    conv_bias_grad_steps,
    conv_input_grad_steps,
    conv_weight_grad_steps,
    dense_grad_steps,
    loss_grad_steps,
    pool_grad_steps,
    update_steps,
)
from playground.ops.backward import pool2d_backward
from playground.ops.layers import LOSSES, GradientCheck, gradient_check
from playground.ops.network import INITS, Network, Step, small_network, total_loss, train_step
from playground.ops.padding import pad
from playground.ops.pool import POOL_KINDS

MAX_INPUT = 16  # rows or columns: every cell of every stage stays a step a student can take
MAX_FILTERS = 4
KERNEL_SIZES = (2, 3, 4, 5)
MAX_LR = 10.0
CHECK_EPS = 1e-5  # ε of the central differences

# (key, label) of each stage, in the order the backward pass runs; the steppable ones have records
STAGES = (
    ("forward", "Forward"),
    ("loss", "Loss → dz2"),
    ("dense_w", "Dense: dW2"),
    ("dense_b", "Dense: db2"),
    ("dense_x", "Dense: df"),
    ("flatten", "Flatten"),
    ("pool", "Pooling: dp1 → da1"),
    ("act", "Activation: dz1"),
    ("conv_w", "Convolution: dW1"),
    ("conv_b", "Convolution: db1"),
    ("conv_x", "Convolution: dx"),
    ("update", "Update"),
    ("check", "Gradient check"),
)
STAGE_LABELS = dict(STAGES)


@dataclass(frozen=True)
class BackpropSettings:
    """The page's choices; every field has the default the page opens with (checked by ``check``)."""

    filters: int = 2  # convolution filters
    size: int = 3  # kernel side
    stride: int = 1
    padding: int = 0  # zeros on every side
    activation: str = "relu"
    pool_kind: str = "max"  # 2×2 pooling, stride 2
    loss: str = "cross_entropy"  # or "mse" (on the softmax outputs)
    label: int = 3  # the class this image should be
    lr: float = 0.1  # α in θ ← θ − α·∇θ
    init: str = "he"
    seed: int = 0

    def check(self) -> None:
        """OpError naming the first setting out of range."""
        if not 1 <= self.filters <= MAX_FILTERS:
            raise OpError(f"Filters must be between 1 and {MAX_FILTERS}; got {self.filters}.")
        if self.size not in KERNEL_SIZES:
            raise OpError(f"Kernel size must be one of {', '.join(map(str, KERNEL_SIZES))}; got {self.size}.")
        if self.activation not in ACTIVATIONS:
            raise OpError(f"Activation {self.activation!r} is not known; choose one of {', '.join(ACTIVATIONS)}.")
        if self.pool_kind not in POOL_KINDS:
            raise OpError(f"Pooling kind {self.pool_kind!r} is not known; choose 'max' or 'avg'.")
        if self.loss not in LOSSES:
            raise OpError(f"Loss {self.loss!r} is not known; choose one of {', '.join(LOSSES)}.")
        if self.init not in INITS:
            raise OpError(f"Initialisation {self.init!r} is not known; choose one of {', '.join(INITS)}.")
        if not 0 <= self.label <= 9:
            raise OpError(f"The target class must be a digit 0–9; got {self.label}.")
        if not 0 < self.lr <= MAX_LR or not np.isfinite(self.lr):
            raise OpError(f"The learning rate must be above 0 and at most {MAX_LR:g}; got {self.lr}.")


@dataclass(frozen=True)
class Check:
    """A gradient check of one weight, and whether θ ± ε crosses a kink of the loss (a ReLU input changing
    sign or another cell winning a max-pool window), where central differences need not agree."""

    name: str  # "W1[0,1,2]"
    result: GradientCheck
    kink: bool


@dataclass(frozen=True, eq=False)
class BackpropRun:
    """The network, its weights, the step and each stage's records."""

    settings: BackpropSettings
    net: Network
    params: dict[str, np.ndarray]
    step: Step
    arrays: dict[str, np.ndarray]  # every named array of one image, batch axis dropped
    stages: dict[str, list[BackStep]]


def check_names(run: BackpropRun) -> list[str]:
    """Every weight a gradient check can pick, as "W1[0,1,2]" text, in parameter order."""
    names = []
    for key in run.params:
        symbol = _PARAM_SYMBOLS[key]
        names += [f"{symbol}[{','.join(map(str, cell))}]" for cell in np.ndindex(*_squeeze(key, run.params).shape)]
    return names


def default_checks(label: int, filters: int) -> tuple[str, ...]:
    """A few weights from every layer: a kernel weight of the first and the last filter, a bias, and the
    dense weight and bias of the target class."""
    return ("W1[0,0,0]", f"W1[{filters - 1},1,1]", "b1[0]", f"W2[{label},0]", f"b2[{label}]")


_PARAM_SYMBOLS = {"0.w": "W1", "0.b": "b1", "4.w": "W2", "4.b": "b2"}
_SYMBOL_PARAMS = {v: k for k, v in _PARAM_SYMBOLS.items()}


def parse_check(name: str, params: dict[str, np.ndarray]) -> tuple[str, tuple[int, ...]]:
    """ "W1[0,1,2]" -> ("0.w", (0, 0, 1, 2)) (the one input channel added back); OpError for a weight this network does not have."""
    symbol, _, rest = name.partition("[")
    key = _SYMBOL_PARAMS.get(symbol.strip())
    try:
        cell = tuple(int(v) for v in rest.rstrip("]").split(","))
    except ValueError:
        key = None
    if key is None or key not in params or len(cell) != _squeeze(key, params).ndim:
        raise OpError(f"{name!r} is not a weight of this network; pick one from the list.")
    shape = _squeeze(key, params).shape
    if any(not 0 <= c < n for c, n in zip(cell, shape)):
        raise OpError(f"{name!r} is outside {symbol}'s shape {shape}; pick one from the list.")
    return key, (cell[0], 0, *cell[1:]) if key == "0.w" else cell


def compute(x: np.ndarray, settings: BackpropSettings = BackpropSettings()) -> BackpropRun:
    """Forward, loss, backward and the update for one (H, W) image; raises OpError with the user's message."""
    settings.check()
    x = as_float_array(x, "input")
    if x.ndim != 2 or not (1 <= x.shape[0] <= MAX_INPUT and 1 <= x.shape[1] <= MAX_INPUT):
        raise OpError(f"The input must be one image of at most {MAX_INPUT}×{MAX_INPUT} pixels; got {x.shape}.")
    s = settings
    net = small_network(x.shape, s.filters, s.size, s.stride, s.padding, s.activation, s.pool_kind)
    params = net.init(s.seed, s.init)
    step = train_step(net, params, x[None, None], [s.label], s.loss, s.lr)
    conv, pool = net.layers[0].settings, net.layers[2].settings
    v, g = [a[0] for a in step.values], [a[0] for a in step.grads]
    t = np.eye(10)[s.label]
    arrays = {
        "x": v[0][0],
        "xp": pad(v[0], conv.pads((s.size, s.size)))[0],
        "W1": params["0.w"][:, 0],
        "b1": params["0.b"],
        "z1": v[1],
        "a1": v[2],
        "p1": v[3],
        "f": v[4],
        "W2": params["4.w"],
        "b2": params["4.b"],
        "z2": v[5],
        "p": step.probs[0],
        "t": t,
        "dz2": g[5],
        "dW2": step.param_grads["4.w"],
        "db2": step.param_grads["4.b"],
        "df": g[4],
        "dp1": g[3],
        "da1": g[2],
        "dz1": g[1],
        "dW1": step.param_grads["0.w"][:, 0],
        "db1": step.param_grads["0.b"],
        "dx": g[0][0],
    }
    dense = dense_grad_steps(arrays["f"], arrays["W2"], arrays["dz2"])
    stages = {
        "loss": loss_grad_steps(arrays["p"], s.label, s.loss),
        "dense_w": dense["dW2"],
        "dense_b": dense["db2"],
        "dense_x": dense["df"],
        "pool": pool_grad_steps(arrays["a1"], arrays["dp1"], pool),
        "act": activation_grad_steps(arrays["z1"], arrays["da1"], s.activation),
        "conv_w": conv_weight_grad_steps(arrays["xp"][None], arrays["dz1"], conv, (s.size, s.size)),
        "conv_b": conv_bias_grad_steps(arrays["dz1"]),
        "conv_x": conv_input_grad_steps(params["0.w"], arrays["dz1"], conv, x.shape),
        "update": [
            st
            for key in params
            for st in update_steps(
                _PARAM_SYMBOLS[key],
                _squeeze(key, params),
                _squeeze(key, step.param_grads),
                s.lr,
                _squeeze(key, step.params_after),
            )
        ],
    }
    for i, record in enumerate(stages["update"]):
        object.__setattr__(record, "index", i)
    return BackpropRun(settings, net, params, step, arrays, stages)


def gradient_checks(run: BackpropRun, names: tuple[str, ...] = ()) -> list[Check]:
    """Central differences for the weights called ``names`` ("W1[0,1,2]"; a few of every layer when
    empty) beside backpropagation's gradient; OpError for a name this network does not have."""
    s, params, x = run.settings, run.params, run.step.values[0]
    checks = []
    for name in names or default_checks(s.label, s.filters):
        key, cell = parse_check(name, params)
        theta = {k: a.copy() for k, a in params.items()}

        def loss_at(values: np.ndarray, key: str = key, theta: dict = theta) -> float:
            return total_loss(run.net, {**theta, key: values}, x, [s.label], s.loss)

        [result] = gradient_check(loss_at, theta[key], run.step.param_grads[key], [cell], CHECK_EPS)
        checks.append(Check(name, result, _crosses_kink(run.net, params, key, cell, x)))
    return checks


def _crosses_kink(net: Network, params: dict, key: str, cell: tuple[int, ...], x: np.ndarray) -> bool:
    """True when moving the weight by ±CHECK_EPS flips a ReLU's side or a max-pool window's winner."""

    def pattern(delta: float) -> tuple[bytes, bytes]:
        moved = {**params, key: params[key].copy()}
        moved[key][cell] += delta
        values = net.forward(moved, x)
        sides = (values[1] > 0).tobytes() if net.layers[1].name in ("relu", "leaky_relu") else b""
        pool = net.layers[2].settings
        winners = pool2d_backward(values[2], np.ones_like(values[3]), pool) if pool.kind == "max" else np.zeros(0)
        return sides, winners.tobytes()

    here = pattern(0.0)
    return pattern(CHECK_EPS) != here or pattern(-CHECK_EPS) != here


def _squeeze(key: str, params: dict[str, np.ndarray]) -> np.ndarray:
    """The first layer's kernels without their single input channel (F, KH, KW), as the page names them."""
    return params[key][:, 0] if key == "0.w" else params[key]
