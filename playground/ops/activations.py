"""Activation functions applied after a convolution, elementwise on arrays of any shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from playground.ops._common import OpError, as_float_array

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope


def identity(x: np.ndarray) -> np.ndarray:
    """No activation: the convolution's output as it is."""
    return np.array(x, dtype=np.float64)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x): negatives become 0."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def leaky_relu(x: np.ndarray) -> np.ndarray:
    """x for x > 0, 0.01·x otherwise: negatives shrink but keep a small gradient."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, LEAKY_SLOPE * x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−x), squashed into (0, 1); written to never overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x), squashed into (−1, 1) and centred on 0."""
    return np.tanh(np.asarray(x, dtype=np.float64))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": identity,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
}

ACTIVATION_LABELS: dict[str, str] = {  # names to show next to the control
    "none": "None",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "tanh",
}

ACTIVATION_FORMULAS: dict[str, str] = {  # plain-text formula for the curve's caption
    "none": "f(x) = x",
    "relu": "f(x) = max(0, x)",
    "leaky_relu": "f(x) = x if x > 0, else 0.01·x",
    "sigmoid": "f(x) = 1 / (1 + e^(−x))",
    "tanh": "f(x) = tanh(x)",
}


def activate(name: str, x: Any) -> np.ndarray:
    """Apply the activation called ``name`` (a key of ACTIVATIONS) to ``x``; OpError for unknown names."""
    if name not in ACTIVATIONS:
        raise OpError(f"Activation {name!r} is not known; choose one of {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name](as_float_array(x, "input"))
