"""A Build-page design as data, without Streamlit: the layer kinds and their editable settings, the
check of a whole design against the engine (shapes, parameters, MACs, or the layer at fault), and the
reading of an uploaded design file. `playground.ui.builder` draws the editor from these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from playground.data.datasets import DATASETS
from playground.nn import architecture, shapes
from playground.nn.architecture import (
    ACTIVATIONS,
    KINDS,
    LRN,
    MAX_LAYERS,
    MAX_WIDTH,
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
from playground.nn.presets import DEFAULT_PRESET, PRESETS
from playground.nn.shapes import LayerInfo

MAX_JSON_BYTES = 64_000  # a design file is a few hundred bytes; anything this large is not one
UNDO_DEPTH = 30
SIZE_LIMIT = 64  # the engine's bound for kernel, stride, dilation, padding and pool size
INPUT = PRESETS[DEFAULT_PRESET].input_shape  # (1, 28, 28): one grey MNIST digit


def _inputs() -> dict[tuple[int, int, int], str]:
    """The inputs a design may read: the image shapes of the data sets here, each named with its sets."""
    shapes: dict[tuple[int, int, int], list[str]] = {}
    for info in DATASETS.values():
        if info.kind != "shortcut":  # the same images as the colour shapes, in other colours
            shapes.setdefault(info.input_shape, []).append(info.title.removesuffix(" (synthetic)"))
    return {
        s: f"{'×'.join(map(str, s))} {'colour' if s[0] == 3 else 'grey'} ({', '.join(names)})"
        for s, names in shapes.items()
    }


INPUTS = _inputs()  # {(1, 28, 28): "1×28×28 grey (MNIST, Fashion-MNIST, Synthetic digits)", (3, 32, 32): ...}
CLASSES = PRESETS[DEFAULT_PRESET].num_classes  # 10 digits
END = "end"  # "Add layer" position meaning after the last layer

KIND_LABELS = {
    "conv": "Convolution",
    "pool": "Pooling",
    "act": "Activation",
    "batchnorm": "Batch norm",
    "lrn": "Local response norm",
    "dropout": "Dropout",
    "flatten": "Flatten",
    "dense": "Dense",
}
NEW_LAYER = {
    "conv": Conv(16, 3, padding=1),
    "pool": Pool("max", 2),
    "act": Act("relu"),
    "batchnorm": BatchNorm(),
    "lrn": LRN(),
    "dropout": Dropout(0.25),
    "flatten": Flatten(),
    "dense": Dense(64),
}
PADDINGS = ("same", *range(SIZE_LIMIT + 1))
_KIND = {cls: kind for kind, cls in KINDS.items()}


@dataclass(frozen=True)
class Setting:
    """One editable field of a layer and the bounds of its widget (a number box, or a choice of options)."""

    field: str
    label: str
    low: float = 1
    high: float = SIZE_LIMIT
    step: float = 1
    options: tuple = ()  # non-empty: a selectbox of these values
    optional: bool = False  # None allowed (pool stride: "same as the size")
    help: str | None = None
    label_of: Callable[[Any], str] = str  # how an option is shown


SETTINGS: dict[type, tuple[Setting, ...]] = {
    Conv: (
        Setting("filters", "Filters", high=MAX_WIDTH, help="Output channels: how many kernels this layer learns."),
        Setting("kernel", "Kernel", help="Kernel size k: each filter looks at a k×k patch."),
        Setting("stride", "Stride", help="Pixels the kernel moves between outputs."),
        Setting(
            "padding",
            "Padding",
            options=PADDINGS,
            help='Zero pixels added on each side; "same" keeps the size (stride 1 only).',
        ),
        Setting("dilation", "Dilation", help="Gap + 1 between kernel taps."),
    ),
    Pool: (
        Setting(
            "kind",
            "Pooling",
            options=("max", "avg"),
            help="Keep the maximum or the average of each window.",
            label_of={"max": "Max", "avg": "Average"}.get,
        ),
        Setting("size", "Size", help="Window size s: each output summarises an s×s window."),
        Setting("stride", "Stride", optional=True, help="Empty: the same as the size (windows do not overlap)."),
    ),
    Act: (Setting("fn", "Function", options=ACTIVATIONS, label_of=lambda fn: architecture.describe(Act(fn))),),
    Dropout: (
        Setting(
            "p", "Drop rate", low=0.0, high=0.99, step=0.05, help="Probability of zeroing each value while training."
        ),
    ),
    Dense: (Setting("units", "Units", high=MAX_WIDTH, help="Output values of this fully connected layer."),),
    LRN: (
        Setting(
            "size",
            "Channels n",
            help="Each value is divided by (2 + 0.0001/n · the sum of squares over the n channels around it)^0.75, "
            "as in AlexNet: strong responses damp their neighbours.",
        ),
    ),
}


@dataclass(frozen=True)
class Checked:
    """A design and what the engine says about it: every layer's row when valid, else the rows
    before the layer at fault and the engine's error."""

    spec: ModelSpec
    infos: tuple[LayerInfo, ...]
    error: SpecError | None

    @property
    def valid(self) -> bool:
        return self.error is None


# ------------------------------------------------------------------ engine calls (no widgets)
def _valid_prefix(spec: ModelSpec, err: SpecError) -> tuple[LayerInfo, ...]:
    """infer_shapes' rows for the layers before the one at fault (closed with Flatten + Dense so the
    engine accepts the shortened network; names and numbers of the kept rows do not depend on it)."""
    if err.layer_index is None:
        return ()
    head = spec.layers[: err.layer_index]
    for tail in ((Flatten(), Dense(spec.num_classes)), (Dense(spec.num_classes),)):
        try:
            return tuple(shapes.infer_shapes(replace(spec, layers=head + tail))[: len(head)])
        except SpecError:
            continue
    return ()


def check(spec: ModelSpec) -> Checked:
    """The engine's verdict on ``spec``: shape rows, and the SpecError when it cannot be built."""
    try:
        return Checked(spec, tuple(shapes.infer_shapes(spec)), None)
    except SpecError as err:
        return Checked(spec, _valid_prefix(spec, err), err)


def _setting_problem(layer: Any, setting: Setting) -> str | None:
    """Why the editor cannot show this value (wrong type or outside the widget's bounds), or None."""
    v = getattr(layer, setting.field)
    if setting.optional and v is None:
        return None
    if isinstance(v, bool):
        ok = False
    elif setting.options:
        ok = isinstance(v, (str, int)) and v in setting.options
    elif isinstance(setting.step, float):
        ok = isinstance(v, (int, float)) and setting.low <= v <= setting.high
    else:
        ok = isinstance(v, int) and setting.low <= v <= setting.high
    if ok:
        return None
    allowed = (
        ", ".join(map(str, setting.options[:4])) + (", …" if len(setting.options) > 4 else "")
        if setting.options
        else f"{setting.low} to {setting.high}"
    )
    return f"{setting.label.lower()} is {v!r}, but the editor allows {allowed}"


def parse_upload(data: bytes) -> ModelSpec:
    """A design from an uploaded JSON file, or SpecError with one sentence saying what is wrong.

    Shape problems (a kernel too big for its input, Dense before Flatten) are accepted: the editor
    shows them under the layer. Values no widget can show, inputs other than those of INPUTS, other than
    10 classes, and more than MAX_LAYERS layers are refused.
    """
    if len(data) > MAX_JSON_BYTES:
        raise SpecError(f"The file is {len(data):,} bytes, too large for a design (at most {MAX_JSON_BYTES:,}).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("The file is not a text file; upload a design saved as JSON from this page.") from None
    spec = ModelSpec.from_json(text)
    shape = spec.input_shape
    plain = isinstance(shape, tuple) and len(shape) == 3 and all(type(v) is int for v in shape)
    if not plain or shape not in INPUTS or spec.num_classes != CLASSES:
        raise SpecError(
            f"This playground trains on {' or '.join(INPUTS.values())} images with {CLASSES} classes, but "
            f"the file expects input {spec.input_shape!r} and {spec.num_classes!r} classes."
        )
    editable(spec.layers)
    return ModelSpec(" ".join(str(spec.name).split())[:60] or "custom", spec.layers, spec.input_shape, CLASSES)


def editable(layers: tuple) -> None:
    """Raise SpecError (one sentence, the layer at fault) unless the editor can show every value of
    ``layers`` and there are at most MAX_LAYERS: what an uploaded file or a link must satisfy."""
    if len(layers) > MAX_LAYERS:
        raise SpecError(f"The design has {len(layers)} layers; the editor takes at most {MAX_LAYERS}.")
    for i, layer in enumerate(layers):
        for setting in SETTINGS.get(type(layer), ()):
            problem = _setting_problem(layer, setting)
            if problem:
                raise SpecError(f"Layer {i + 1} ({_KIND[type(layer)]}): {problem}.", i)
