"""Architectures as data: frozen layer specs, shape inference, presets, and the nn.Module built from them.

`infer_shapes` walks a `ModelSpec` without running torch (output shape, parameters, multiply-accumulates
per layer) or raises a `SpecError` naming the layer at fault. `build` gives an `nn.Sequential` with one
named child per layer, so `forward_all` returns every activation by name and exported source shares keys.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from playground import ops
from playground.errors import PlaygroundError
from playground.untrusted import load_json


class SpecError(PlaygroundError):
    """An architecture that cannot be built; str(e) is one sentence naming the layer at fault.
    `layer_index` (0-based, None for whole-model problems) and `layer_name` ("conv2") locate it."""

    def __init__(self, message: str, layer_index: int | None = None, layer_name: str | None = None):
        super().__init__(message, layer_name)
        self.layer_index, self.layer_name = layer_index, layer_name


ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")
MAX_WIDTH = 4096  # most filters / units one layer may have (keeps a shared server alive)
MAX_PARAMS = 50_000_000  # most parameters a whole model may have (200 MB of float32 weights)
MAX_LAYERS = 40  # most layers a design or a model file may have (the presets have 5 to 19)
MAX_MACS = 100_000_000  # multiply-accumulates per image (the playground preset: 4.8 M; 20× that trains slowly)
MAX_ACTIVATIONS = 1_000_000  # values all layers output per image (4 MB; a batch of 64 trains in about 1 GB)
MAX_SPEC_CHARS = 64_000  # an architecture is a few hundred characters; far longer text is not one


@dataclass(frozen=True)
class Conv:
    """2-D convolution: `filters` output channels, square `kernel`; padding is pixels per side or "same"."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: int | str = 0
    dilation: int = 1


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over `size`×`size` windows; stride defaults to the window size."""

    kind: str = "max"
    size: int = 2
    stride: int | None = None


@dataclass(frozen=True)
class Act:
    """Element-wise activation: one of ACTIVATIONS (leaky ReLU uses slope 0.01)."""

    fn: str = "relu"


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation over channels (after a conv) or features (after flatten)."""


LRN_ALPHA, LRN_BETA, LRN_K = 1e-4, 0.75, 2.0  # AlexNet's constants


@dataclass(frozen=True)
class LRN:
    """Local response normalisation across channels (AlexNet, 2012): each value divided by
    (k + α/n · Σ x² over the n channels around it)^β, with AlexNet's α = 1e-4, β = 0.75, k = 2."""

    size: int = 5  # n, the neighbouring channels (AlexNet: 5)


@dataclass(frozen=True)
class Dropout:
    """Zeroes each value with probability p while training (0 <= p < 1)."""

    p: float = 0.5


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C·H·W,): the bridge from feature maps to dense layers."""


@dataclass(frozen=True)
class Dense:
    """Fully connected layer with `units` outputs (weights + bias)."""

    units: int


Layer = Conv | Pool | Act | BatchNorm | LRN | Dropout | Flatten | Dense
KINDS: dict[str, type] = {
    "conv": Conv,
    "pool": Pool,
    "act": Act,
    "batchnorm": BatchNorm,
    "lrn": LRN,
    "dropout": Dropout,
    "flatten": Flatten,
    "dense": Dense,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}
_PREFIX = {"batchnorm": "bn"}


@dataclass(frozen=True)
class ModelSpec:
    """A whole architecture: layers in order, the input shape (C, H, W) and the number of classes."""

    name: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [{"type": _KIND_OF[type(layer)], **asdict(layer)} for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """Parse the structure of a spec (as written by to_dict); values are checked by infer_shapes."""
        if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
            raise SpecError('An architecture must be a JSON object with a list of layers under "layers".')
        layers = []
        for i, item in enumerate(data["layers"]):
            kind = item.get("type") if isinstance(item, dict) else None
            if not isinstance(kind, str) or kind not in KINDS:
                raise SpecError(f"Layer {i + 1}: unknown layer type {kind!r}; use one of {', '.join(KINDS)}.", i)
            allowed = {f.name for f in fields(KINDS[kind])}
            extra = sorted(set(item) - allowed - {"type"})
            if extra:
                raise SpecError(
                    f"Layer {i + 1} ({kind}): unknown setting {extra[0]!r}; "
                    f"it takes {', '.join(sorted(allowed)) or 'no settings'}.",
                    i,
                )
            try:
                layers.append(KINDS[kind](**{k: v for k, v in item.items() if k != "type"}))
            except TypeError:
                raise SpecError(
                    f"Layer {i + 1} ({kind}): missing a setting; it needs {', '.join(sorted(allowed))}.", i
                ) from None
        shape = data.get("input_shape", [1, 28, 28])
        return cls(
            name=str(data.get("name", "custom")),
            layers=tuple(layers),
            input_shape=tuple(shape) if isinstance(shape, list) else shape,
            num_classes=data.get("num_classes", 10),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        return cls.from_dict(load_json(text, "architecture", max_chars=MAX_SPEC_CHARS, error=SpecError))

    def with_dropout(self, p: float) -> ModelSpec:
        """The same architecture with every Dropout layer's probability set to p."""
        layers = tuple(Dropout(p) if isinstance(layer, Dropout) else layer for layer in self.layers)
        return ModelSpec(self.name, layers, self.input_shape, self.num_classes)


@dataclass(frozen=True)
class LayerInfo:
    """One row of the shape table; shapes are (C, H, W) or (features,), without the batch axis."""

    index: int  # 0-based position in spec.layers
    name: str  # "conv1", "relu2", "pool1", "bn1", "dropout1", "flatten", "dense1"
    kind: str  # key of KINDS
    text: str  # "Conv 32 3×3, stride 1, pad 1"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int  # trainable parameters (weights + biases; batch-norm scale + shift)
    macs: int  # multiply-accumulates per image (conv and dense; other layers count 0)


def layer_names(layers: tuple[Layer, ...]) -> list[str]:
    """Display and state-dict names: per-kind counters, activations named by function ("relu1")."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        prefix = (
            layer.fn
            if isinstance(layer, Act) and isinstance(layer.fn, str)
            else _PREFIX.get(_KIND_OF.get(type(layer), "layer"), _KIND_OF.get(type(layer), "layer"))
        )
        counts[prefix] = counts.get(prefix, 0) + 1
        names.append(prefix if prefix == "flatten" and counts[prefix] == 1 else f"{prefix}{counts[prefix]}")
    return names


def describe(layer: Layer) -> str:
    """Short human text for a layer, as the Build page lists it ("Conv 32 3×3, stride 1, pad 1")."""
    if isinstance(layer, Conv):
        return f"Conv {layer.filters} {layer.kernel}×{layer.kernel}, stride {layer.stride}, pad {layer.padding}" + (
            f", dilation {layer.dilation}" if layer.dilation != 1 else ""
        )
    if isinstance(layer, Pool):
        return f"{str(layer.kind).capitalize()} pool {layer.size}×{layer.size}, stride {layer.stride or layer.size}"
    if isinstance(layer, Act):
        return {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "gelu": "GELU"}.get(layer.fn, str(layer.fn).capitalize())
    return {
        Dropout: lambda: f"Dropout p={layer.p}",
        Dense: lambda: f"Dense {layer.units}",
        BatchNorm: lambda: "Batch norm",
        LRN: lambda: f"Local response norm n={layer.size}",
        Flatten: lambda: "Flatten",
    }[type(layer)]()


def _int(value: Any, where: str, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: {what} must be a whole number, not {value!r}.")
    if value < low or (high is not None and value > high):
        rng = f"at least {low}" if high is None else f"between {low} and {high}"
        raise SpecError(f"{where}: {what} must be {rng}, not {value}.")
    return value


def _one(layer: Layer, shape: tuple[int, ...], where: str) -> tuple[tuple[int, ...], int, int]:
    """Output shape, params and MACs of one layer given its input shape; SpecError when it cannot work."""
    spatial = len(shape) == 3
    if isinstance(layer, (Conv, Pool, Flatten, LRN)) and not spatial:
        kind = {Conv: "a convolution", Pool: "pooling", Flatten: "Flatten", LRN: "local response norm"}[type(layer)]
        raise SpecError(
            f"{where}: {kind} needs feature maps, but its input is already flat ({shape[0]} "
            "values); move it before the Flatten layer."
        )
    if isinstance(layer, (Conv, Pool)):
        c, h, w = shape
        if isinstance(layer, Conv):
            _int(layer.filters, where, "the number of filters", 1, MAX_WIDTH)
            k = _int(layer.kernel, where, "the kernel size", 1, 64)
            s = _int(layer.stride, where, "the stride", 1, 64)
            d = _int(layer.dilation, where, "the dilation", 1, 64)
            if layer.padding in ("same", "valid"):
                if layer.padding == "same" and s != 1:
                    raise SpecError(f'{where}: padding "same" needs stride 1; use a number of pixels instead.')
            else:
                _int(layer.padding, where, "the padding", 0, 64)
            pads = ops.resolve_padding(layer.padding, (k, k), (s, s), (d, d))
            what = f"a {k}×{k} kernel" + (f" with dilation {d}" if d > 1 else "")
        else:
            if layer.kind not in ("max", "avg"):
                raise SpecError(f'{where}: pooling kind must be "max" or "avg", not {layer.kind!r}.')
            k = _int(layer.size, where, "the pool size", 1, 64)
            s = k if layer.stride is None else _int(layer.stride, where, "the stride", 1, 64)
            d, pads, what = 1, (0, 0, 0, 0), f"a {k}×{k} window"
        top, bottom, left, right = pads
        span = ops.effective_kernel_size(k, d)
        if h + top + bottom < span or w + left + right < span:
            raise SpecError(
                f"{where}: {what} does not fit the {h}×{w} input, so the feature map would shrink "
                "to 0×0; use a smaller kernel, padding, or fewer layers before it."
            )
        oh, ow = ops.output_size(h, k, s, top, bottom, d), ops.output_size(w, k, s, left, right, d)
        if isinstance(layer, Pool):
            return (c, oh, ow), 0, 0
        f = layer.filters
        return (f, oh, ow), f * c * k * k + f, f * c * k * k * oh * ow
    if isinstance(layer, Act):
        if layer.fn not in ACTIVATIONS:
            raise SpecError(f"{where}: unknown activation {layer.fn!r}; use one of {', '.join(ACTIVATIONS)}.")
        return shape, 0, 0
    if isinstance(layer, BatchNorm):
        return shape, 2 * shape[0], 0
    if isinstance(layer, LRN):
        _int(layer.size, where, "the number of neighbouring channels", 1, MAX_WIDTH)
        return shape, 0, shape[0] * shape[1] * shape[2] * layer.size  # a sum of n squares per value
    if isinstance(layer, Dropout):
        if isinstance(layer.p, bool) or not isinstance(layer.p, (int, float)) or not 0 <= layer.p < 1:
            raise SpecError(f"{where}: the dropout probability must be at least 0 and below 1, not {layer.p!r}.")
        return shape, 0, 0
    if isinstance(layer, Flatten):
        return (shape[0] * shape[1] * shape[2],), 0, 0
    if isinstance(layer, Dense):
        if spatial:
            raise SpecError(
                f"{where}: a dense layer needs flat input, but it gets {shape[0]}×{shape[1]}×{shape[2]} "
                "feature maps; add a Flatten layer before it."
            )
        u = _int(layer.units, where, "the number of units", 1, MAX_WIDTH)
        return (u,), shape[0] * u + u, shape[0] * u
    raise SpecError(f"{where}: {type(layer).__name__} is not a layer type this playground knows.")


def infer_shapes(spec: ModelSpec) -> list[LayerInfo]:
    """Per-layer output shape, parameters and MACs, without running torch; SpecError names the bad layer."""
    shape = spec.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 3):
        raise SpecError("The input shape must be three numbers: channels, height, width.")
    for what, v in zip(("channels", "height", "width"), shape):
        _int(v, "Input", what, 1, 512)
    _int(spec.num_classes, "Output", "the number of classes", 2, 1000)
    if not spec.layers:
        raise SpecError("The architecture has no layers; add at least Flatten and Dense(10).")
    if len(spec.layers) > MAX_LAYERS:
        raise SpecError(f"The architecture has {len(spec.layers):,} layers; at most {MAX_LAYERS} are allowed.")
    names = layer_names(spec.layers)
    infos = []
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        where = f"Layer {i + 1} ({name})"
        try:
            out, params, macs = _one(layer, shape, where)
        except SpecError as err:
            raise SpecError(str(err), i, name) from None
        infos.append(LayerInfo(i, name, _KIND_OF[type(layer)], describe(layer), shape, out, params, macs))
        shape = out
    last = infos[-1]
    if shape != (spec.num_classes,):
        got = "feature maps" if len(shape) == 3 else f"{shape[0]} values"
        raise SpecError(
            f"Layer {last.index + 1} ({last.name}): the network must end with {spec.num_classes} "
            f"values, one per class, but it ends with {got}; finish with Flatten and "
            f"Dense({spec.num_classes}).",
            last.index,
            last.name,
        )
    for total, limit, what, size in (
        (sum(i.params for i in infos), MAX_PARAMS, "parameters", lambda i: i.params),
        (sum(i.macs for i in infos), MAX_MACS, "multiply-accumulates per image", lambda i: i.macs),
        (
            sum(math.prod(i.out_shape) for i in infos),
            MAX_ACTIVATIONS,
            "values in its feature maps per image",
            lambda i: math.prod(i.out_shape),
        ),
    ):
        if total > limit:
            big = max(infos, key=size)
            raise SpecError(
                f"Layer {big.index + 1} ({big.name}): the model would have {total:,} {what}, over the "
                f"limit of {limit:,}; make this layer smaller.",
                big.index,
                big.name,
            )
    return infos


def summary_totals(infos: list[LayerInfo]) -> tuple[int, int]:
    """(total parameters, total multiply-accumulates per image)."""
    return sum(i.params for i in infos), sum(i.macs for i in infos)


class SeededDropout(nn.Dropout):
    """nn.Dropout drawing its masks from `self.generator` when set: concurrent runs stay reproducible."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or self.generator is None:
            return super().forward(x)
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.div_(1 - self.p)


def layer_module(layer: Layer, in_shape: tuple[int, ...]) -> nn.Module:
    if isinstance(layer, Conv):
        return nn.Conv2d(
            in_shape[0],
            layer.filters,
            layer.kernel,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
        )
    if isinstance(layer, Pool):
        return (nn.MaxPool2d if layer.kind == "max" else nn.AvgPool2d)(layer.size, stride=layer.stride or layer.size)
    if isinstance(layer, Act):
        return {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}[
            layer.fn
        ]()
    if isinstance(layer, BatchNorm):
        return (nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d)(in_shape[0])
    if isinstance(layer, LRN):
        return nn.LocalResponseNorm(layer.size, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)
    if isinstance(layer, (Dropout, Flatten)):
        return SeededDropout(float(layer.p)) if isinstance(layer, Dropout) else nn.Flatten()
    return nn.Linear(in_shape[0], layer.units)


_INIT_LOCK = threading.Lock()  # weight init uses torch's global generator: one build at a time


def build(spec: ModelSpec, seed: int | None = None) -> nn.Sequential:
    """An nn.Sequential with one named child per layer; forward maps (N, C, H, W) to logits (N, classes).
    A seed makes the initial weights reproducible; torch's global random state is left as it was.
    """
    infos = infer_shapes(spec)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return nn.Sequential(
            OrderedDict((i.name, layer_module(layer, i.in_shape)) for i, layer in zip(infos, spec.layers))
        )


def forward_all(model: nn.Module, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
    """Every layer's output for x (N, C, H, W), keyed by layer name in order; the last is the logits.

    Runs in the model's current mode and grad setting; wrap in torch.no_grad() for display.
    """
    acts: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, module in model.named_children():
        x = acts[name] = module(x)
    return acts


_R, _BR, _P, _F = Act("relu"), (BatchNorm(), Act("relu")), Pool("max", 2), Flatten()
PRESETS: dict[str, ModelSpec] = {
    # The shipped model: two blocks of (conv 3×3, batch norm, ReLU) ×2 + max pool, Dense 128, dropout.
    # 218,682 parameters (0.9 MB). Measured 99.3-99.5 % on MNIST images 8,000-9,999 after 8 epochs on
    # images 0-7,999 (train.RECOMMENDED_CONFIG: Adam 3e-3, one-cycle, batch 64, augmentation).
    "playground": ModelSpec(
        "playground",
        (
            Conv(16, 3, padding=1),
            *_BR,
            Conv(16, 3, padding=1),
            *_BR,
            _P,
            Conv(32, 3, padding=1),
            *_BR,
            Conv(32, 3, padding=1),
            *_BR,
            _P,
            _F,
            Dense(128),
            _R,
            Dropout(0.3),
            Dense(10),
        ),
    ),
    # The course's SimpleConvNet ("Deep Learning from Scratch"): Convolution 30 5×5 → ReLU → Pooling →
    # Affine 100 → ReLU → Affine 10; the one the numpy engine also trains (--engine numpy).
    "simple-convnet": ModelSpec("simple-convnet", (Conv(30, 5), _R, _P, _F, Dense(100), _R, Dense(10))),
    # The Keras model of the lecture notes: two conv blocks (32 then 25 filters 3×3, ReLU, max pool 2).
    "keras-lecture": ModelSpec("keras-lecture", (Conv(32, 3), _R, _P, Conv(25, 3), _R, _P, _F, Dense(10))),
    # The classic Keras MNIST example: one conv, one pool, straight to the classifier.
    "keras-mnist": ModelSpec("keras-mnist", (Conv(32, 3), _R, _P, _F, Dense(10))),
    # LeNet-5 as published (LeCun et al. 1998): tanh, average-pool subsampling, 120-84-10 classifier (first
    # conv padded to keep 28×28, as the paper's 32×32 input did).
    "lenet5": ModelSpec(
        "lenet5",
        (
            Conv(6, 5, padding=2),
            Act("tanh"),
            Pool("avg", 2),
            Conv(16, 5),
            Act("tanh"),
            Pool("avg", 2),
            _F,
            Dense(120),
            Act("tanh"),
            Dense(84),
            Act("tanh"),
            Dense(10),
        ),
    ),
    # LeNet-5 as it is built today: ReLU and max pooling in place of tanh and average subsampling.
    "lenet5-modern": ModelSpec(
        "lenet5-modern",
        (Conv(6, 5, padding=2), _R, _P, Conv(16, 5), _R, _P, _F, Dense(120), _R, Dense(84), _R, Dense(10)),
    ),
    # AlexNet (Krizhevsky et al. 2012) scaled to 28×28: five convolutions with ReLU, local response
    # normalisation after the first two, overlapping 3×3 max pools, a dropout-regularised hidden layer (AlexNet
    # had two; one keeps the preset within the editor's layer budget).
    "alexnet-28": ModelSpec(
        "alexnet-28",
        (
            Conv(32, 5, padding=2),
            _R,
            LRN(),
            Pool("max", 3, 2),
            Conv(64, 5, padding=2),
            _R,
            LRN(),
            Pool("max", 3, 2),
            Conv(96, 3, padding=1),
            _R,
            Conv(96, 3, padding=1),
            _R,
            Conv(64, 3, padding=1),
            _R,
            _P,
            _F,
            Dense(256),
            _R,
            Dropout(0.5),
            Dense(10),
        ),
    ),
    # TensorFlow's "Deep MNIST" tutorial: two 5×5 conv blocks (32, 64), Dense 1024, dropout.
    "tf-tutorial": ModelSpec(
        "tf-tutorial",
        (Conv(32, 5, padding=2), _R, _P, Conv(64, 5, padding=2), _R, _P, _F, Dense(1024), _R, Dropout(0.5), Dense(10)),
    ),
    # CNN Explainer's TinyVGG on 1×28×28 input: two blocks of (conv 10 3×3, ReLU) ×2 + max pool.
    "tinyvgg": ModelSpec(
        "tinyvgg", (Conv(10, 3), _R, Conv(10, 3), _R, _P, Conv(10, 3), _R, Conv(10, 3), _R, _P, _F, Dense(10))
    ),
}
DEFAULT_PRESET = "playground"


def get_preset(name: str) -> ModelSpec:
    """The preset called `name`; SpecError listing the known names otherwise."""
    if name not in PRESETS:
        raise SpecError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]
