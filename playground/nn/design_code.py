"""A Build-page design as a short text for the address: ``c16p1-bn-relu-mp2-f-d10`` (or a preset's name).

One token per layer, joined by "-": ``c{filters}`` with ``k{kernel}`` ``s{stride}`` ``p{padding}`` (``ps``:
"same") ``d{dilation}`` where they differ from 3, 1, 0, 1; ``mp{size}`` / ``ap{size}`` (max / average) with
``s{stride}``; ``relu`` ``leaky_relu`` ``sigmoid`` ``tanh`` ``gelu``; ``bn``; ``do{p}``; ``f``; ``d{units}``. A design reading
another input than 1×28×28 starts with it: ``in3x32x32-c16p1-…``.
:func:`decode` reads a hand-edited or forged text and raises ``SpecError`` with one sentence, never
anything else; what it returns the editor can show (the same bounds as an uploaded design).
"""

from __future__ import annotations

import re

from playground.nn.architecture import (
    ACTIVATIONS,
    LRN,
    MAX_LAYERS,
    Act,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    ModelSpec,
    Pool,
    SpecError,
)
from playground.nn.design import CLASSES, INPUT, INPUTS, editable
from playground.nn.presets import PRESETS

MAX_CHARS = 600  # 40 layers of the longest tokens fit
LINKED = "from a link"  # the name of a design opened from an address
_N = r"(\d{1,6})"
_CONV = re.compile(rf"c{_N}(?:k{_N})?(?:s{_N})?(?:p(\d{{1,6}}|s))?(?:d{_N})?")
_POOL = re.compile(rf"([ma])p{_N}(?:s{_N})?")
_DENSE = re.compile(rf"d{_N}")
_LRN = re.compile(r"lrn(\d{1,6})?")
_DROPOUT = re.compile(r"do(0|0?\.\d{1,4}|1|1\.0{1,4})")
_INPUT = re.compile(r"in(\d{1,3})x(\d{1,3})x(\d{1,3})")


def _token(layer) -> str:
    if isinstance(layer, Conv):
        parts = [f"c{layer.filters}"]
        parts += [f"k{layer.kernel}"] if layer.kernel != 3 else []
        parts += [f"s{layer.stride}"] if layer.stride != 1 else []
        parts += ["ps" if layer.padding == "same" else f"p{layer.padding}"] if layer.padding != 0 else []
        parts += [f"d{layer.dilation}"] if layer.dilation != 1 else []
        return "".join(parts)
    if isinstance(layer, Pool):
        return f"{'m' if layer.kind == 'max' else 'a'}p{layer.size}" + (
            f"s{layer.stride}" if layer.stride is not None else ""
        )
    if isinstance(layer, Act):
        return layer.fn
    if isinstance(layer, Dropout):
        return f"do{layer.p:g}"
    if isinstance(layer, Dense):
        return f"d{layer.units}"
    if isinstance(layer, LRN):
        return "lrn" if layer.size == 5 else f"lrn{layer.size}"
    return {BatchNorm: "bn", Flatten: "f"}[type(layer)]


def encode(spec: ModelSpec) -> str:
    """The design's text: a preset's name while it is that preset's layers, else one token per layer."""
    for name, preset in PRESETS.items():
        if preset.layers == spec.layers and preset.input_shape == spec.input_shape:
            return name
    prefix = [] if spec.input_shape == INPUT else ["in" + "x".join(map(str, spec.input_shape))]
    return "-".join(prefix + [_token(layer) for layer in spec.layers])


def _layer(token: str, i: int):
    if token in ACTIVATIONS:
        return Act(token)
    if token == "bn":
        return BatchNorm()
    if token == "f":
        return Flatten()
    if m := _LRN.fullmatch(token):
        return LRN(int(m.group(1) or 5))
    if m := _CONV.fullmatch(token):
        filters, k, s, p, d = m.groups()
        padding = "same" if p == "s" else int(p or 0)
        return Conv(int(filters), int(k or 3), int(s or 1), padding, int(d or 1))
    if m := _POOL.fullmatch(token):
        kind, size, stride = m.groups()
        return Pool("max" if kind == "m" else "avg", int(size), int(stride) if stride else None)
    if m := _DROPOUT.fullmatch(token):
        return Dropout(float(m.group(1)))
    if m := _DENSE.fullmatch(token):
        return Dense(int(m.group(1)))
    raise SpecError(f"Layer {i + 1} of the linked design ({token[:20]!r}) is not a layer this page knows.", i)


def decode(text: str) -> ModelSpec:
    """The design a link's text describes; SpecError (one sentence) when it cannot be one."""
    text = str(text).strip()
    if len(text) > MAX_CHARS:
        raise SpecError(f"The linked design is longer than {MAX_CHARS} characters.")
    if text in PRESETS:
        return PRESETS[text]
    tokens = text.split("-") if text else []
    shape = INPUT
    if tokens and (m := _INPUT.fullmatch(tokens[0])):
        shape = tuple(int(v) for v in m.groups())
        if shape not in INPUTS:
            raise SpecError(
                f"The linked design reads {'×'.join(m.groups())} images; this playground has {' or '.join(INPUTS.values())} ones."
            )
        tokens = tokens[1:]
    if not tokens:
        raise SpecError("The linked design has no layers.")
    if len(tokens) > MAX_LAYERS:
        raise SpecError(f"The linked design has {len(tokens)} layers; the editor takes at most {MAX_LAYERS}.")
    layers = tuple(_layer(t, i) for i, t in enumerate(tokens))
    editable(layers)  # values the editor can show, as for an uploaded design
    return ModelSpec(LINKED, layers, shape, CLASSES)
