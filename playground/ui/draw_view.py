"""The Draw & Predict page's parts: the model picker, the drawing or upload, and the panels that show
what the network makes of it. All numbers come from ``playground.nn.insight``; this module only lays
them out, remembers the user's choices (through ``state``) and turns problems into one sentence.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from playground.data.datasets import DIGITS
from playground.figures import draw as fig
from playground.imaging import images
from playground.imaging.preprocess import STAGES
from playground.nn import insight, receptive
from playground.ui import display, handoff, inputs, models, photo_view, state, widgets

PAGE = "draw"
# the pictures travel one pixel per value: the browser enlarges them with hard edges
PIXELATED = (
    "<style>.st-key-draw-seen-panel img, .st-key-draw-saliency-panel img "
    "{ image-rendering: pixelated; image-rendering: crisp-edges; }</style>"
)
DRAW, UPLOAD = "Draw", "Upload an image"
STROKE_PX = 20  # on the 280 px canvas: after scaling to 20 px the strokes are MNIST-thick


def model_picker() -> models.ModelChoice | None:
    """The model in use, named; None (with the reason shown) when it cannot be loaded."""
    names = models.names()
    if len(names) > 1:
        name = st.radio(
            "Model",
            names,
            index=names.index(models.chosen_name()),
            key=state.key(PAGE, "model"),
            on_change=lambda: models.choose(state.get(PAGE, "model", models.SHIPPED)),
        )
    else:
        name = names[0]
    try:
        choice = models.get(name)
    except models.ModelUnavailable as e:
        st.error(str(e))
        return None
    st.caption(f"**{choice.name}**: {choice.about}")
    return choice


def picture() -> tuple[np.ndarray | None, str]:
    """The user's digit as an image array and its background kind ("dark" canvas, "auto" upload)."""
    source = (
        st.segmented_control(
            "Input", (DRAW, UPLOAD), default=DRAW, **state.keep(PAGE, "source"), label_visibility="collapsed"
        )
        or DRAW
    )
    if source == DRAW:
        st.caption("Draw one digit, 0 to 9, with the mouse or a finger. Undo and Clear are under the canvas.")
        return inputs.drawing_canvas(PAGE, stroke_width=STROKE_PX), "dark"
    last = widgets.kept_upload(
        PAGE,
        "upload",
        "A photo or scan of one digit (PNG, JPEG, GIF, BMP, WebP, TIFF)",
        inputs.UPLOAD_TYPES,
        lambda data: np.asarray(images.open_image(data)),
    )
    if last is None:
        st.info("Upload a picture of a digit: dark ink on light paper or light on dark both work.")
        return None, "auto"
    st.image(last[0], caption=last[1], width=280)
    return last[0], "auto"


def drawn(choice: models.ModelChoice | None) -> insight.DigitAnalysis | None:
    """The drawing or upload, and what the digit model makes of it (None before there is one, or without a
    model)."""
    if choice is not None and tuple(choice.spec.input_shape) != (1, 28, 28):
        st.error(
            "This model reads {}×{}×{} images: the Draw page gives drawings to 1×28×28 models and photos to "
            "3-channel ones, so choose another model.".format(*choice.spec.input_shape)
        )
        return None
    img, background = picture()
    return analyse(choice, img, background) if img is not None and choice is not None else None


def _model_id(choice: models.ModelChoice) -> str:
    """Names the model in use for the session's memos: what is computed from the model alone (its kernels'
    figures) is kept across strokes, and nothing of another model is ever shown (an id() could be reused
    by a model loaded after one was dropped; the token is never)."""
    return f"{choice.name}|{choice.token}"


def analyse(choice: models.ModelChoice, img: np.ndarray, background: str) -> insight.DigitAnalysis:
    """The engine's analysis, computed once per (model, picture) in this session."""
    h = hashlib.sha1(np.ascontiguousarray(img).tobytes())
    h.update(f"{_model_id(choice)}|{background}|{img.shape}".encode())
    result = state.memo(
        PAGE, "analysis", h.hexdigest(), lambda: insight.analyse(choice.model, choice.spec, img, background=background)
    )
    if result.prediction is not None:
        state.put(PAGE, "last_digit", result.prep.image)
    return result


def nothing_yet(choice: models.ModelChoice | None) -> str:
    """What the answer panel says before there is anything to read."""
    if choice is None:
        return f"No model is loaded: see the message {display.controls_place()}."
    if photo_view.reads_colour(choice):
        return "Choose a test image, or upload a photo."
    return "Draw a digit from 0 to 9."


def last_digit() -> np.ndarray | None:
    """The 28×28 picture the network last read on the Draw page in this session (for the Train page's
    checkpoint timeline), or None before anything was drawn."""
    return state.peek(PAGE, "last_digit")


def prediction(
    result: insight.DigitAnalysis | None, problem: str = "Draw a digit from 0 to 9.", classes: tuple[str, ...] = DIGITS
) -> None:
    """The answer in large type with its confidence, the notice, the ten probabilities (``classes``
    name them when the model is not a digit model, e.g. one trained on Fashion-MNIST)."""
    with st.container(key=state.key(PAGE, "prediction")):
        pred = result.prediction if result is not None else None
        if pred is None:
            st.markdown("### Prediction: none yet")
            st.info(result.problem if result is not None and result.problem else problem)
            return
        named = "" if classes == DIGITS else f" ({classes[pred.label]})"
        st.markdown(f"### Prediction: {pred.label}{named}")
        st.markdown(f"Confidence **{'more than 99.9 %' if pred.confidence >= 0.9995 else f'{pred.confidence:.1%}'}**")
        if pred.unsure:
            st.warning(pred.notice)
        display.chart(
            fig.probability_figure(pred.probabilities, pred.label, pred.unsure, None if classes == DIGITS else classes),
            "probabilities",
            key=state.key(PAGE, "probabilities"),
            theme="streamlit",
        )


def seen(result: insight.DigitAnalysis) -> None:
    """The 28×28 picture the network sees, with the preprocessing steps small beside it."""
    # one pixel per value, inline in the message, enlarged with hard edges by PIXELATED: no separate
    # download per stroke, no JPEG blur, exact greys
    st.image(fig.png_data_url(fig.square(result.prep.image)), caption="What the network sees: 28 × 28", width=196)
    cells = st.columns(len(STAGES) - 1)
    for cell, stage in zip(cells, STAGES[1:]):
        cell.image(fig.png_data_url(fig.square(result.prep.stages[stage])), caption=stage, width=84)
    st.caption(
        "Crop to the ink → scale the longer side to 20 px → place by centre of mass in 28 × 28, as "
        "MNIST was made. That is why a digit drawn small or in a corner still works."
        + (" Dark ink on light paper was detected and inverted." if result.prep.inverted else "")
    )


def _two_numbers(values) -> tuple[int, int] | None:
    if isinstance(values, (list, tuple)) and len(values) >= 2 and all(isinstance(v, (int, float)) for v in values[:2]):
        return int(values[0]), int(values[1])
    return None


def _clicked_point(chart: str) -> dict:
    """The point a click on the chart ``chart`` selected ({} when none, or not shaped as Plotly sends it)."""
    event = state.get(PAGE, chart, None) or {}
    points = (event.get("selection") or {}).get("points") or []
    return points[0] if points and isinstance(points[0], dict) else {}


def _pick_from_chart() -> None:
    """A click on a feature map in the overview opens it: its marker's customdata is [layer, channel, ...]."""
    data = _two_numbers(_clicked_point("maps").get("customdata"))
    if data is not None:
        state.put(PAGE, "open_layer", data[0])
        state.put(PAGE, "open_map", data[1] + 1)


def _pick_cell() -> None:
    """A click on a cell of the opened map (its marker sits at x = column, y = row): its receptive field is
    shown (layer, map, row, column kept)."""
    point = _clicked_point("large")
    data = _two_numbers([point.get("y"), point.get("x")])
    if data is not None:
        layer, ch = int(state.get(PAGE, "open_layer", 0)), int(state.get(PAGE, "open_map", 1)) - 1
        state.put(PAGE, "field_cell", (layer, ch, data[0], data[1]))


def _receptive_field(choice: models.ModelChoice, result: insight.DigitAnalysis, li: int, ch: int) -> None:
    """The chosen cell's receptive field on the input, the sentence and the layer-by-layer formula."""
    held = state.get(PAGE, "field_cell", None)
    layer = result.layers[li]
    if (
        held is None
        or held[0] != li
        or held[1] != ch
        or not (0 <= held[2] < layer.shape[1] and 0 <= held[3] < layer.shape[2])
    ):
        st.caption("Click a cell of this map to see which input pixels it can see (its receptive field).")
        return None
    field = receptive.receptive_field(choice.spec, layer.name, (held[2], held[3]))
    with st.container(key="draw-receptive-field"):
        st.markdown(field.text())
        display.chart(
            fig.receptive_field_figure(
                result.prep.image,
                field.rows,
                field.cols,
                "What the network sees, {}×{}".format(*result.prep.image.shape)
                + (" (brightness)" if result.photo is not None else ""),
            ),
            "receptive-field",
            key=state.key(PAGE, "field_chart"),
            theme="streamlit",
        )
        with st.expander("Layer by layer: r ← r + (k − 1)·d·j, j ← j·s", expanded=False):
            r, j, lines = 1, 1, ["start: r = 1, j = 1 (one input pixel)"]
            for step in field.steps:
                lines.append(f"{step.name} (k {step.k}, s {step.s}, d {step.d}): {step.formula(r, j)}")
                r, j = step.r, step.j
            st.markdown("  \n".join(lines))
    return (held[2], held[3])


def _open_in_convolution(choice: models.ModelChoice, result: insight.DigitAnalysis, conv: str, ch: int) -> None:
    handoff.preload(insight.handoff(choice.model, choice.spec, result, conv, ch))
    state.put(PAGE, "go_convolution", True)


def inside(choice: models.ModelChoice, result: insight.DigitAnalysis) -> None:
    """Every convolution, activation and pooling layer's maps; one opened large with its kernel."""
    if state.get(PAGE, "go_convolution", False):  # set by the button's callback in this run
        state.put(PAGE, "go_convolution", False)
        st.switch_page("playground/pages/convolution.py")
    layers = result.layers
    n = len(layers)
    if not n:
        st.caption("This model has no convolution, activation or pooling layer whose maps could be shown.")
        return
    li = min(max(int(state.get(PAGE, "open_layer", 0)), 0), n - 1)
    state.seed_widget(PAGE, "open_layer", li)
    a, b = st.columns(2)
    li = a.selectbox(
        "Layer",
        range(n),
        format_func=lambda i: f"{layers[i].name} ({' × '.join(map(str, layers[i].shape))})",
        key=state.key(PAGE, "open_layer"),
    )
    count = layers[li].shape[0]
    state.seed_widget(PAGE, "open_map", min(max(int(state.get(PAGE, "open_map", 1)), 1), count))
    # no max_value: a bound that changes with the layer would make a new widget and lose the number
    ch = (
        min(
            int(
                b.number_input(
                    "Map",
                    min_value=1,
                    step=1,
                    key=state.key(PAGE, "open_map"),
                    help="Which map of the layer to open (or click one in the overview).",
                )
            ),
            count,
        )
        - 1
    )
    b.caption(f"{layers[li].name} has {count} maps.")
    over, large = st.columns([3, 2])
    with over:
        st.caption(f"Each map is scaled to its own largest value: {display.palette().signs}. Click a map to open it.")
        display.chart(
            fig.overview_figure([(m.name, m.shape, m.maps) for m in layers], (li, ch), display.palette().signed),
            "feature-maps",
            key=state.key(PAGE, "maps"),
            on_select=_pick_from_chart,
            selection_mode="points",
            theme="streamlit",
        )
    layer = layers[li]
    with large, st.container(key=state.key(PAGE, "opened")):
        held = state.get(PAGE, "field_cell", None)
        cell = (held[2], held[3]) if held is not None and held[:2] == (li, ch) else None
        display.chart(
            fig.large_map_figure(layer.maps[ch], f"{layer.name} map {ch + 1}: real values", cell),
            f"{layer.name}-map-{ch + 1}",
            key=state.key(PAGE, "large"),
            on_select=_pick_cell,
            selection_mode="points",
            theme="streamlit",
        )
        _receptive_field(choice, result, li, ch)
        if not layer.source:
            return
        weights, biases = state.memo(  # the model's, the same for every stroke
            PAGE,
            "conv_weights",
            f"{_model_id(choice)}|{layer.source}",
            lambda: insight.conv_weights(choice.model, layer.source),
        )
        made = "" if layer.kind == "conv" else f" ({layer.name} is computed from {layer.source}'s map {ch + 1})"
        if weights.shape[1] == 1:
            display.chart(
                state.memo(  # the same for every stroke
                    PAGE,
                    "kernel",
                    f"{_model_id(choice)}|{layer.source}|{ch}",
                    lambda: fig.kernel_figure(weights[ch, 0], f"{layer.source} kernel {ch + 1}, bias {biases[ch]:.3g}"),
                ),
                f"{layer.source}-kernel-{ch + 1}",
                key=state.key(PAGE, "kernel"),
                theme="streamlit",
            )
            st.caption(f"The kernel that produced this map{made}.")
        else:
            st.caption(
                f"{layer.source} map {ch + 1} sums {weights.shape[1]} input channels, each with its own "
                f"{weights.shape[2]}×{weights.shape[3]} kernel, plus bias {biases[ch]:.3g}{made}."
            )
        st.button(
            "Step through it on the Convolution page",
            key=state.key(PAGE, "to_conv"),
            on_click=_open_in_convolution,
            args=(choice, result, layer.source, ch),
            help="Opens the Convolution page with this map's input and kernel loaded.",
        )


PANEL_PX = 350  # the saliency picture and the kernels: each whole on a 390 px phone


def why(choice: models.ModelChoice, result: insight.DigitAnalysis) -> None:
    """Saliency, first-layer kernels and the softmax + cross-entropy arithmetic."""
    pred = result.prediction
    # fixed-width panels in a row that wraps: side by side on a laptop, one under the other where the
    # column is narrower (in two columns at 1024 px the 336 px picture covered the kernels)
    row = st.container(horizontal=True, wrap=True, gap="medium", key="draw-why")
    with row.container(width=PANEL_PX, key="draw-saliency-panel"):
        st.subheader("Which pixels mattered" if result.photo is not None else "Which strokes mattered")
        st.image(
            fig.png_data_url(fig.saliency_overlay(result.prep.image, result.saliency, scale=display.saliency_scale())),
            width=PANEL_PX - 14,
            caption=f"Gradient × input for the class {pred.label}"
            + (f" ({choice.classes[pred.label]})" if choice.classes != DIGITS else "")
            + f": {display.palette().strong} pixels pushed the network towards it.",
        )
    with row.container(width=PANEL_PX, key="draw-kernels-panel"):
        st.subheader("First-layer kernels")
        if photo_view.reads_colour(choice):
            photo_view.kernels(choice, PANEL_PX - 10)
        else:
            try:
                kernels = state.memo(  # the same for every stroke
                    PAGE,
                    "kernels",
                    _model_id(choice),
                    lambda: fig.kernels_figure(insight.first_layer_kernels(choice.model), width_px=PANEL_PX - 10),
                )
            except ValueError:  # no convolution at all
                st.caption("This model has no convolution layer, so there are no kernels to show.")
            else:
                display.chart(kernels, "first-layer-kernels", key=state.key(PAGE, "kernels"), theme="streamlit")
                st.caption("The filters the first convolution learned; each makes one of its maps above.")
    st.subheader("From scores to probabilities")
    sm = result.softmax
    st.markdown(
        f"The last layer gives one score (logit) per {'digit' if choice.classes == DIGITS else 'class'}; softmax "
        "turns them into probabilities and the training loss is the cross-entropy."
    )
    st.code(sm.text, language=None, wrap_lines=True)
