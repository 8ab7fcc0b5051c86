"""The last layers of a classifier and their gradients: dense (affine), softmax, the two losses, and a
gradient check by central differences.

Shapes follow PyTorch: a dense layer's weight is (outputs, inputs) and y = x·Wᵀ + b; losses average over
the batch (cross-entropy) or over every number (mean squared error, like nn.MSELoss).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.ops._common import OpError, as_float_array, check_finite_result

LOSSES = ("cross_entropy", "mse")
LOSS_LABELS = {"cross_entropy": "Cross-entropy", "mse": "Mean squared error"}
LOSS_FORMULAS = {
    "cross_entropy": "L = −(1/N) Σₙ log pₙ,yₙ   with p = softmax(z)",
    "mse": "L = (1/(N·K)) Σₙ Σₖ (pₙ,ₖ − tₙ,ₖ)²   with p = softmax(z), t one-hot",
}


@dataclass(frozen=True, eq=False)
class DenseGrads:
    """dL/dx (N, D), dL/dW (O, D) and dL/db (O,) of one dense layer."""

    grad_input: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray


@dataclass(frozen=True, eq=False)
class LossResult:
    """A loss and what its backward step needs: the softmax of the logits and dL/dlogits."""

    loss: float
    probs: np.ndarray  # (N, K) softmax of the logits
    grad_logits: np.ndarray  # (N, K)


def dense(x: Any, w: Any, b: Any = None) -> np.ndarray:
    """x (N, D), w (O, D), b (O,) -> x·Wᵀ + b (N, O)."""
    x, w, b = _dense_inputs(x, w, b)
    out = x @ w.T
    return check_finite_result(out if b is None else out + b)


def dense_backward(x: Any, w: Any, grad_out: Any) -> DenseGrads:
    """Gradients of :func:`dense`: dL/dx = g·W, dL/dW = gᵀ·x, dL/db = Σₙ g."""
    x, w, _ = _dense_inputs(x, w, None)
    g = as_float_array(grad_out, "output gradient")
    if g.shape != (x.shape[0], w.shape[0]):
        raise OpError(f"The output gradient must have shape {x.shape[0]}×{w.shape[0]}; got {g.shape}.")
    return DenseGrads(check_finite_result(g @ w), check_finite_result(g.T @ x), check_finite_result(g.sum(axis=0)))


def softmax(z: Any) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, shifted by each row's maximum so it never overflows."""
    z = as_float_array(z, "logits")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def loss_and_grad(name: str, logits: Any, labels: Any) -> LossResult:
    """The loss ``name`` ("cross_entropy" or "mse") of (N, K) logits against N class labels, with dL/dlogits.

    Cross-entropy: dL/dz = (softmax − one-hot) / N. Mean squared error on the softmax outputs:
    dL/dp = 2(p − t)/(N·K), then through the softmax's Jacobian, dL/dz = p ⊙ (dL/dp − Σₖ pₖ·dL/dpₖ).
    """
    if name not in LOSSES:
        raise OpError(f"Loss {name!r} is not known; choose one of {', '.join(LOSSES)}.")
    z = as_float_array(logits, "logits")
    if z.ndim != 2 or z.size == 0:
        raise OpError(f"The logits must be a non-empty (images, classes) table; got shape {z.shape}.")
    y = np.asarray(labels).reshape(-1)
    if y.shape != (z.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= z.shape[1]:
        raise OpError(f"Give one class label between 0 and {z.shape[1] - 1} per image ({z.shape[0]}).")
    n, k = z.shape
    p = softmax(z)
    onehot = np.eye(k)[y]
    if name == "cross_entropy":
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = float(-log_p[np.arange(n), y].mean())
        grad = (p - onehot) / n
    else:
        loss = float(((p - onehot) ** 2).mean())
        grad_p = 2.0 * (p - onehot) / (n * k)
        grad = p * (grad_p - (grad_p * p).sum(axis=1, keepdims=True))
    return LossResult(loss, p, grad)


@dataclass(frozen=True)
class GradientCheck:
    """One weight's analytic gradient beside its central-difference estimate."""

    index: tuple[int, ...]
    analytic: float
    numeric: float  # (L(θ + ε) − L(θ − ε)) / 2ε
    relative_error: float  # |a − n| / max(|a|, |n|, tiny); below 1e-7 means they agree


def gradient_check(
    loss: Callable[[np.ndarray], float],
    theta: np.ndarray,
    analytic: np.ndarray,
    indices: Iterable[tuple[int, ...]],
    eps: float = 1e-5,
) -> list[GradientCheck]:
    """Central differences of ``loss`` at ``theta`` for each index, beside ``analytic`` (same shape as theta).

    ``theta`` is changed in place during each estimate and restored afterwards.
    """
    checks = []
    for index in indices:
        index = tuple(int(i) for i in index)
        original = theta[index]
        theta[index] = original + eps
        up = loss(theta)
        theta[index] = original - eps
        down = loss(theta)
        theta[index] = original
        numeric = (up - down) / (2 * eps)
        a = float(analytic[index])
        scale = max(abs(a), abs(numeric), 1e-12)
        checks.append(GradientCheck(index, a, float(numeric), abs(a - numeric) / scale))
    return checks


def _dense_inputs(x: Any, w: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    x, w = as_float_array(x, "input"), as_float_array(w, "weights")
    if x.ndim != 2 or w.ndim != 2:
        raise OpError("A dense layer takes an (images, features) input and an (outputs, features) weight matrix.")
    if x.shape[1] != w.shape[1]:
        raise OpError(f"The input has {x.shape[1]} features but the weights expect {w.shape[1]}.")
    if b is not None:
        b = as_float_array(b, "bias").reshape(-1)
        if b.shape != (w.shape[0],):
            raise OpError(f"The bias needs one value per output ({w.shape[0]}); got {b.size}.")
    return x, w, b
