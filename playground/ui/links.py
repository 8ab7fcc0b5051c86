"""Every page's settings in the browser's address (Convolution, Pooling, Build's design, Train's
settings, the Draw page's pretrained model): every setting that can travel is written to the query string as it changes, read back
when a link is opened, and offered as a link to copy. The codec is ``playground.address`` (pure, tested on its own); the lists of fields are
here, beside the widgets whose names and defaults they repeat (a test checks that a fresh page
writes an empty query string, i.e. that the defaults agree)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from playground import address, ops
from playground.address import Field
from playground.data.datasets import DATASETS
from playground.nn import design_code
from playground.nn.architecture import SpecError
from playground.nn.trainer import OPTIMIZERS, SCHEDULES
from playground.ops import samples
from playground.ui import builder, conv_view, display, inputs, models, state, training, widgets

SEED_MAX = 2**31 - 1
TRAVELLING_SOURCES = (inputs.WORKED_3X3, inputs.WORKED_4X4, inputs.SAMPLE, inputs.RANDOM, inputs.TYPED)
TRAVELLING_KERNELS = tuple(k for k in widgets.KERNEL_OPTIONS if k != widgets.CUSTOM_GRID)


def _input_fields(default_source: str) -> tuple[Field, ...]:
    return (
        Field("source", "input", "choice", default_source, TRAVELLING_SOURCES),
        Field("sample", "sample", "choice", inputs.SAMPLE_NAMES[3], inputs.SAMPLE_NAMES),
        Field("size", "grid", "int", 14, tuple(samples.SIZES)),
        Field("sample_seed", "sample_seed", "int", 0, lo=0, hi=SEED_MAX),
        Field("random_size", "random_size", "int", 6, lo=1, hi=samples.MAX_SIZE),
        Field("random_seed", "seed", "int", 0, lo=0, hi=SEED_MAX),
        Field("typed", "matrix", "text", "1 2 3 4\n5 6 7 8\n9 10 11 12\n13 14 15 16"),
    )


STEP = Field("step", "step", "int", 1, lo=1, hi=10**6)  # 1-based in the address; the page keeps it 0-based

CONV = (
    *_input_fields(inputs.WORKED_3X3),
    Field("kernel", "kernel", "choice", widgets.KERNEL_OPTIONS[0], TRAVELLING_KERNELS),
    Field("kernel_text", "kernel_rows", "text", "0 -1 0\n-1 5 -1\n0 -1 0"),
    Field("stride_rows", "stride_rows", "int", 1, lo=1, hi=64),
    Field("stride_cols", "stride_cols", "int", 1, lo=1, hi=64),
    Field("padding_kind", "padding", "choice", widgets.PADDING_KINDS[0], widgets.PADDING_KINDS),
    Field("padding", "pad", "int", 0, lo=0, hi=256),
    *(Field(f"pad_{side}", f"pad_{side}", "int", 0, lo=0, hi=256) for side in ("top", "bottom", "left", "right")),
    Field("padding_mode", "mode", "choice", ops.PADDING_MODES[0], tuple(ops.PADDING_MODES)),
    Field("dilation", "dilation", "int", 1, lo=1, hi=64),
    Field("bias", "bias", "float", 0.0, lo=-1e6, hi=1e6),
    Field("flip", "flip", "bool", False),
    Field("activation", "activation", "choice", list(ops.ACTIVATIONS)[0], tuple(ops.ACTIVATIONS)),
    Field("view", "view", "choice", conv_view.VIEWS[0], conv_view.VIEWS),
    STEP,
)
POOL = (
    *_input_fields(inputs.WORKED_4X4),
    Field("kind", "kind", "choice", ops.POOL_KINDS[0], tuple(ops.POOL_KINDS)),
    Field("size_px", "window", "int", 2, lo=1, hi=64),
    Field("stride", "stride", "int", 2, lo=1, hi=64),
    Field("padding", "pad", "int", 0, lo=0, hi=32),
    Field("count_include_pad", "count_pad", "bool", True),
    STEP,
)
DESIGN = Field("design", "design", "text", builder.DEFAULT_PRESET, max_chars=design_code.MAX_CHARS)
BUILD = (DESIGN,)
TRAIN = (
    Field("model_source", "model", "choice", training.BUILD, (training.BUILD, training.PRESET)),
    Field("preset", "preset", "choice", training.DEFAULT_PRESET, tuple(training.PRESETS)),
    DESIGN,  # the Build page's design, when that is the model
    Field("dataset", "data", "choice", next(iter(DATASETS)), tuple(DATASETS)),
    Field("subset", "images", "int", 0, lo=0, hi=10**7),  # 0: every image of the training split
    Field("optimizer", "optimizer", "choice", "adam", tuple(OPTIMIZERS)),
    Field("lr", "lr", "float", 1e-3, lo=0.0, hi=1e6),
    Field("batch_size", "batch", "int", 64, lo=1, hi=training.MAX_BATCH),
    Field("epochs", "epochs", "int", 3, lo=1, hi=training.MAX_EPOCHS),
    Field("weight_decay", "wd", "float", 0.0, lo=0.0, hi=1.0),
    Field("dropout", "dropout", "choice", "model", tuple(str(c) for c in training.DROPOUT_CHOICES)),
    Field("augment", "augment", "bool", False),
    Field("lr_schedule", "schedule", "choice", SCHEDULES[0], tuple(SCHEDULES)),
    Field("seed", "seed", "int", 0, lo=0, hi=2**32 - 1),
    Field("engine", "engine", "choice", "torch", tuple(training.ENGINES)),
    Field("init", "init", "choice", "default", tuple(training.INITS)),
    Field("init_std", "init_std", "float", 0.01, lo=1e-6, hi=10.0),
    Field("loss", "loss", "choice", "cross_entropy", tuple(training.LOSSES)),
    Field("l1", "l1", "float", 0.0, lo=0.0, hi=1.0),
    Field("l2", "l2", "float", 0.0, lo=0.0, hi=1.0),
)
# the Draw page: which pretrained model (a session's own models cannot travel); "colour" opens a lecturer's
# link on students' phones with the colour model, whose picker sits in the folded sidebar there
PRETRAINED = {"digits": models.SHIPPED, "colour": models.SHIPPED_COLOUR}
DRAW = (Field("model", "model", "choice", "digits", tuple(PRETRAINED)),)
FIELDS = {"conv": CONV, "pool": POOL, "build": BUILD, "train": TRAIN, "draw": DRAW}


def _use(page: str, name: str, value, problems: list[str]) -> None:
    """Put one decoded value where the page reads it."""
    if name == "step":
        state.put(page, "step", int(value) - 1)  # clamped into range when the steps are known
    elif page == "draw":
        models.choose(PRETRAINED[value])  # the picker is drawn from the choice
    elif name == "design":
        try:
            builder.open_design(design_code.decode(value))
        except SpecError as e:
            problems.append(f"The design in this link could not be used: {e}")
    elif name == "dropout":
        state.seed_widget(page, name, next(c for c in training.DROPOUT_CHOICES if str(c) == value))
    elif name == "subset" and value == 0:
        return  # every image: the widget's own default
    else:
        state.seed_widget(page, name, value)


def restore(page: str) -> None:
    """Before the page's widgets: the first time this session shows ``page``, take its settings from
    the address (an opened link); what could not be used is said once, at the top."""
    if state.has(page, "address_read"):
        return
    state.put(page, "address_read", True)
    values, problem = address.decode(display.page_query(), FIELDS[page])
    problems = [problem] if problem else []
    for name, value in values.items():
        _use(page, name, value, problems)
    if problems:
        st.warning(" ".join(problems))


def _current(page: str, all_images: int | None) -> dict:
    if page == "draw":
        return {"model": next((k for k, v in PRETRAINED.items() if v == models.chosen_name()), "digits")}
    values = {f.name: state.peek(page, f.name, f.default) for f in FIELDS[page] if f.name not in ("step", "design")}
    if page in ("conv", "pool"):
        values["step"] = int(state.peek(page, "step", 0)) + 1
    if page == "build" or (page == "train" and values["model_source"] == training.BUILD):
        values["design"] = design_code.encode(builder.design())
    if page == "train":
        values["dropout"] = str(values["dropout"])
        if values["subset"] == all_images:
            values["subset"] = 0
    return values


def _left_behind(page: str, values: dict) -> list[str]:
    """What cannot travel in the link (taken out of ``values``): a drawing, an upload, an edited grid."""
    stay = []
    if page in ("conv", "pool") and values["source"] not in TRAVELLING_SOURCES:
        stay.append("the input")
        values.pop("source")
    if page == "conv" and values.get("kernel") not in TRAVELLING_KERNELS:
        stay.append("the kernel")
        values.pop("kernel")
    return stay


def publish(page: str, *, all_images: int | None = None) -> None:
    """After the widgets: write the page's settings into the address and offer the link to copy. An
    input or kernel that cannot travel (a drawing, an upload, the Draw page's hand-over, an edited
    grid) is left out, and the link says so. ``all_images``: the Train page's training split size
    (training on all of it is the default, written as nothing)."""
    values = _current(page, all_images)
    stay = _left_behind(page, values)
    query = {**display.query(), **address.encode(values, FIELDS[page])}
    st.query_params.from_dict(query)
    parts = urlsplit(st.context.url or "")
    link = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    with st.popover("Link to this view", key=f"{page}-link"):
        st.caption("Opening this address shows exactly this view: copy it with the button at its right.")
        st.code(link, language=None, wrap_lines=True)
        if stay:
            st.caption(
                f"{' and '.join(stay).capitalize()} cannot travel in a link (a drawing, an upload, the Draw "
                "page's hand-over or an edited grid): the link opens the worked example or preset instead."
            )
