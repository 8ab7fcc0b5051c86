"""Shape inference: walk a ``ModelSpec`` without running torch, giving each layer's output shape, parameters
and multiply-accumulates per image, or a ``SpecError`` naming the layer at fault (a size that does not fit,
a value out of range, a design over the server's limits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playground import ops
from playground.nn.architecture import (
    ACTIVATIONS,
    LRN,
    MAX_ACTIVATIONS,
    MAX_LAYERS,
    MAX_MACS,
    MAX_PARAMS,
    MAX_WIDTH,
    Act,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Layer,
    ModelSpec,
    Pool,
    SpecError,
    describe,
    kind_of,
    layer_names,
)


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
        infos.append(LayerInfo(i, name, kind_of(layer), describe(layer), shape, out, params, macs))
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
