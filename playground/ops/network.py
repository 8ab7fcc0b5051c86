"""A small sequential network in numpy, forward and backward, built from the engine's ops: what the
Backpropagation page steps through and what the from-scratch SimpleConvNet trains with.

Layers are plain descriptions; their numbers live in a ``params`` dict keyed "<layer>.<name>" ("0.w",
"0.b", "4.w", ...), so a training step is a pure function of (params, batch) and every array can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.ops._common import OpError
from playground.ops.activations import ACTIVATIONS, activate
from playground.ops.backward import activation_backward, conv2d_backward, pool2d_backward
from playground.ops.conv import ConvSettings, conv2d_gemm, conv_output_shape
from playground.ops.layers import dense, dense_backward, loss_and_grad
from playground.ops.pool import PoolSettings, pool2d, pool_output_shape

INITS = ("std", "xavier", "he")  # normal(0, std); Xavier/Glorot; He/Kaiming (both normal)
INIT_LABELS = {"std": "Normal, fixed std", "xavier": "Xavier / Glorot", "he": "He / Kaiming"}


@dataclass(frozen=True)
class Conv:
    """Convolution with ``filters`` kernels of ``size``×``size`` over ``channels`` input channels."""

    channels: int
    filters: int
    size: int
    settings: ConvSettings = ConvSettings()
    kind: str = field(default="conv", init=False)


@dataclass(frozen=True)
class Activation:
    name: str = "relu"  # a key of ops.ACTIVATIONS
    kind: str = field(default="act", init=False)


@dataclass(frozen=True)
class Pool:
    settings: PoolSettings = PoolSettings()
    kind: str = field(default="pool", init=False)


@dataclass(frozen=True)
class Flatten:
    """(N, C, H, W) -> (N, C·H·W), channel-major like torch.flatten: only a reshape."""

    kind: str = field(default="flatten", init=False)


@dataclass(frozen=True)
class Dense:
    inputs: int
    outputs: int
    kind: str = field(default="dense", init=False)


Layer = Conv | Activation | Pool | Flatten | Dense


@dataclass(frozen=True)
class Network:
    """Layers in order; ``shapes`` checks that they fit an input of ``input_shape`` (C, H, W)."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int]

    def shapes(self) -> list[tuple[int, ...]]:
        """The shape of one image's values before the first layer and after each (without the batch)."""
        shape: tuple[int, ...] = tuple(self.input_shape)
        out = [shape]
        for i, layer in enumerate(self.layers):
            shape = _next_shape(i, layer, shape)
            out.append(shape)
        return out

    def init(self, seed: int = 0, scheme: str = "std", std: float = 0.01) -> dict[str, np.ndarray]:
        """Weights drawn from N(0, σ²) (σ = ``std``, or Xavier √(2/(fan_in+fan_out)), or He √(2/fan_in)),
        biases zero, from one seed."""
        if scheme not in INITS:
            raise OpError(f"Initialisation {scheme!r} is not known; choose one of {', '.join(INITS)}.")
        self.shapes()  # refuse a network that does not fit before drawing anything
        rng = np.random.default_rng(seed)
        params: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Conv):
                shape = (layer.filters, layer.channels, layer.size, layer.size)
                fan_in, fan_out = layer.channels * layer.size**2, layer.filters * layer.size**2
            elif isinstance(layer, Dense):
                shape, fan_in, fan_out = (layer.outputs, layer.inputs), layer.inputs, layer.outputs
            else:
                continue
            sigma = {"std": std, "xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}[scheme]
            params[f"{i}.w"] = rng.normal(0.0, sigma, shape)
            params[f"{i}.b"] = np.zeros(shape[0])
        return params

    def forward(self, params: dict[str, np.ndarray], x: np.ndarray) -> list[np.ndarray]:
        """Values for a batch x (N, C, H, W): [x, after layer 0, after layer 1, ...]."""
        values = [np.asarray(x, dtype=np.float64)]
        for i, layer in enumerate(self.layers):
            v = values[-1]
            if isinstance(layer, Conv):
                v = conv2d_gemm(v, params[f"{i}.w"], params[f"{i}.b"], layer.settings)
            elif isinstance(layer, Activation):
                v = activate(layer.name, v)
            elif isinstance(layer, Pool):
                v = pool2d(v, layer.settings)
            elif isinstance(layer, Flatten):
                v = v.reshape(v.shape[0], -1)
            else:
                v = dense(v, params[f"{i}.w"], params[f"{i}.b"])
            values.append(v)
        return values

    def backward(
        self, params: dict[str, np.ndarray], values: list[np.ndarray], grad_last: np.ndarray
    ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        """From dL/d(last values): dL/d(every value) (same list layout as ``forward``) and dL/d(every param)."""
        grads: list[np.ndarray] = [np.empty(0)] * len(values)
        grads[-1] = grad_last
        pgrads: dict[str, np.ndarray] = {}
        for i in reversed(range(len(self.layers))):
            layer, x, g = self.layers[i], values[i], grads[i + 1]
            if isinstance(layer, Conv):
                cg = conv2d_backward(x, params[f"{i}.w"], g, layer.settings)
                grads[i], pgrads[f"{i}.w"], pgrads[f"{i}.b"] = cg.grad_input, cg.grad_kernel, cg.grad_bias
            elif isinstance(layer, Activation):
                grads[i] = activation_backward(layer.name, x, g)
            elif isinstance(layer, Pool):
                grads[i] = pool2d_backward(x, g, layer.settings)
            elif isinstance(layer, Flatten):
                grads[i] = g.reshape(x.shape)
            else:
                dg = dense_backward(x, params[f"{i}.w"], g)
                grads[i], pgrads[f"{i}.w"], pgrads[f"{i}.b"] = dg.grad_input, dg.grad_weight, dg.grad_bias
        return grads, pgrads


@dataclass(frozen=True)
class Penalty:
    """Explicit regularisation terms added to the data loss: λ₁·Σ|w| + (λ₂/2)·Σw² over the weights (not biases)."""

    l1: float = 0.0
    l2: float = 0.0

    def value(self, params: dict[str, np.ndarray]) -> float:
        weights = [v for k, v in params.items() if k.endswith(".w")]
        return float(sum(self.l1 * np.abs(w).sum() + 0.5 * self.l2 * (w**2).sum() for w in weights))

    def grad(self, name: str, w: np.ndarray) -> np.ndarray:
        if not name.endswith(".w"):
            return np.zeros_like(w)
        return self.l1 * np.sign(w) + self.l2 * w


@dataclass(frozen=True, eq=False)
class Step:
    """One training step on one batch: everything before, the gradients, and the result of the update."""

    values: list[np.ndarray]  # forward values, [x, after layer 0, ...]
    data_loss: float
    penalty: float
    probs: np.ndarray  # (N, K)
    grads: list[np.ndarray]  # dL/d(each value), same layout as values
    param_grads: dict[str, np.ndarray]  # dL/d(each parameter), penalty included
    params_after: dict[str, np.ndarray]  # θ − α·∇θ
    loss_after: float  # data loss + penalty with params_after, on the same batch

    @property
    def loss(self) -> float:
        return self.data_loss + self.penalty


def total_loss(
    net: Network, params: dict[str, np.ndarray], x: np.ndarray, labels: Any, loss: str, penalty: Penalty = Penalty()
) -> float:
    """Data loss + penalty of ``params`` on the batch: what a gradient check differentiates numerically."""
    logits = net.forward(params, x)[-1]
    return loss_and_grad(loss, logits, labels).loss + penalty.value(params)


def train_step(
    net: Network,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    labels: Any,
    loss: str = "cross_entropy",
    lr: float = 0.1,
    penalty: Penalty = Penalty(),
) -> Step:
    """Forward, loss, backward and one plain gradient-descent update θ ← θ − α·∇θ; ``params`` is not changed."""
    values = net.forward(params, x)
    result = loss_and_grad(loss, values[-1], labels)
    grads, pgrads = net.backward(params, values, result.grad_logits)
    if penalty.l1 or penalty.l2:
        pgrads = {k: g + penalty.grad(k, params[k]) for k, g in pgrads.items()}
    after = {k: params[k] - lr * pgrads[k] for k in params}
    return Step(
        values=values,
        data_loss=result.loss,
        penalty=penalty.value(params),
        probs=result.probs,
        grads=grads,
        param_grads=pgrads,
        params_after=after,
        loss_after=total_loss(net, after, x, labels, loss, penalty),
    )


def _next_shape(i: int, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape after ``layer`` for one image of ``shape``, or OpError naming layer i + 1 and the fix."""
    where = f"Layer {i + 1}"
    if isinstance(layer, Conv):
        if len(shape) != 3 or shape[0] != layer.channels:
            raise OpError(f"{where} (convolution) expects {layer.channels} channel(s) of images; it gets {shape}.")
        try:
            oh, ow = conv_output_shape(shape[1:], (layer.size, layer.size), layer.settings)
        except OpError as e:
            raise OpError(f"{where} (convolution): {e}") from None
        return (layer.filters, oh, ow)
    if isinstance(layer, Activation):
        if layer.name not in ACTIVATIONS:
            raise OpError(f"{where}: activation {layer.name!r} is not known; choose one of {', '.join(ACTIVATIONS)}.")
        return shape
    if isinstance(layer, Pool):
        if len(shape) != 3:
            raise OpError(f"{where} (pooling) needs images; put it before the flatten.")
        try:
            return (shape[0], *pool_output_shape(shape[1:], layer.settings))
        except OpError as e:
            raise OpError(f"{where} (pooling): {e}") from None
    if isinstance(layer, Flatten):
        return (int(np.prod(shape)),)
    if len(shape) != 1 or shape[0] != layer.inputs:
        raise OpError(f"{where} (dense) expects {layer.inputs} features; it gets {shape}.")
    return (layer.outputs,)


def small_network(
    input_hw: tuple[int, int],
    filters: int = 2,
    size: int = 3,
    stride: int = 1,
    padding: int = 0,
    activation: str = "relu",
    pool_kind: str = "max",
    pool_size: int = 2,
    classes: int = 10,
) -> Network:
    """The Backpropagation page's network: conv → activation → pool → flatten → dense → (loss)."""
    conv = Conv(1, filters, size, ConvSettings(stride=stride, padding=padding))
    pool = Pool(PoolSettings(pool_kind, pool_size))
    head = Network((conv, Activation(activation), pool, Flatten()), (1, *input_hw))
    features = head.shapes()[-1][0]
    return Network((*head.layers, Dense(features, classes)), (1, *input_hw))


def simple_convnet(input_hw: tuple[int, int] = (28, 28), filters: int = 30, size: int = 5, hidden: int = 100):
    """The course's SimpleConvNet: Convolution (30 filters 5×5, stride 1, no padding) → ReLU → max pool 2×2 →
    Affine (hidden 100) → ReLU → Affine (10) → SoftmaxWithLoss."""
    conv = Network(
        (Conv(1, filters, size), Activation("relu"), Pool(PoolSettings("max", 2)), Flatten()), (1, *input_hw)
    )
    features = conv.shapes()[-1][0]
    layers = (*conv.layers, Dense(features, hidden), Activation("relu"), Dense(hidden, 10))
    return Network(layers, (1, *input_hw))
