"""Architectures as data: the frozen layer specs, a whole ``ModelSpec`` (read from and written to JSON), the
limits a design or model file must keep, and the error that names the layer at fault. Pure Python: no
torch. Shapes are inferred in ``nn.shapes``, the torch module is built in ``nn.model``, the presets are in
``nn.presets``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

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


def kind_of(layer: Layer) -> str:
    """The layer's kind as written in a spec: "conv", "pool", "act", ..."""
    return _KIND_OF[type(layer)]


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
