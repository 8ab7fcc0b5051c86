"""Draw & Predict in AppTest: drawings injected into the canvas's session state, every bad input, the
model picker and the hand-over to the Convolution page. Every number checked against the engine."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from apptest_support import ROOT, chart, charts, errors, png, rerun, shown, trace_z, upload_files
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from playground import ops
from playground.imaging import images
from playground.nn import insight
from playground.nn.checkpoints import load_checkpoint
from playground.ui import models

DRAW = str(ROOT / "playground" / "pages" / "draw.py")
CANVAS = "draw.canvas.0"


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(models.SHIPPED_MODEL)


def stroke_png(kind: str) -> bytes:
    """A drawn digit as the canvas sends it: 280×280 RGBA PNG, white strokes (20 px) on black."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    d = ImageDraw.Draw(img)
    white = (255, 255, 255, 255)
    if kind == "1":
        d.line([(140, 40), (140, 240)], fill=white, width=20)
    elif kind == "0":
        d.ellipse([85, 40, 195, 240], outline=white, width=20)
    elif kind == "white":
        d.rectangle([0, 0, 279, 279], fill=white)
    elif kind == "dot":
        d.ellipse([138, 138, 141, 141], fill=white)
    return png(img)


def payload(data: bytes | str) -> dict:
    url = data if isinstance(data, str) else "data:image/png;base64," + base64.b64encode(data).decode()
    return {"drawing": {"raw": {"objects": [{}]}, "data": url}}


def draw(at: AppTest, data: bytes | str, key: str = CANVAS) -> AppTest:
    at.session_state[key] = payload(data)
    return rerun(at)


def page() -> AppTest:
    at = AppTest.from_file(DRAW, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def headline(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### Prediction"))


def expected(shipped, data: bytes) -> insight.DigitAnalysis:
    return insight.analyse(shipped.model, shipped.spec, images.decode_canvas(data), background="dark")


# ---------------------------------------------------------------- drawings
def test_landing_page_asks_for_a_digit_and_names_the_model():
    at = page()
    assert at.get("bidi_component")[0].key == CANVAS
    assert headline(at) == "### Prediction: none yet"
    assert "Draw a digit from 0 to 9." in shown(at)
    assert "Pretrained: playground-mnist" in shown(at) and "99.60% accuracy on its validation images" in shown(at)
    assert not at.get("plotly_chart")  # nothing predicted, nothing drawn about it


@pytest.mark.parametrize("digit", ["1", "0"])
def test_drawn_digit_is_predicted_with_the_engines_numbers(shipped, digit):
    at = draw(page(), stroke_png(digit))
    want = expected(shipped, stroke_png(digit))
    assert want.prediction.label == int(digit)
    assert headline(at) == f"### Prediction: {digit}"
    bars = chart(at, 0)["data"][0]
    probs = np.array(bars["y"], dtype=float)
    assert probs.sum() == pytest.approx(1.0) and np.allclose(probs, want.prediction.probabilities)
    assert int(np.argmax(probs)) == int(digit)
    # the overview holds every conv / activation / pooling layer, named with its shape
    overview = chart(at, 1)
    titles = [a["text"] for a in overview["layout"]["annotations"]]
    assert titles == [f"<b>{m.name}</b> · {' × '.join(map(str, m.shape))}" for m in want.layers]
    assert [m.kind for m in want.layers].count("conv") == 4 and {m.kind for m in want.layers} == {"conv", "act", "pool"}
    # the opened map (conv1, map 1) shows the network's real values; the kernel beside it is conv1's
    assert np.allclose(trace_z(chart(at, 2), "conv1 map 1: real values"), want.layers[0].maps[0], atol=1e-6)
    weights, bias = insight.conv_weights(shipped.model, "conv1")
    kernel = next(t for t in chart(at, 3)["data"] if t["type"] == "heatmap")
    assert np.allclose(trace_z(chart(at, 3), kernel["name"]), weights[0, 0])
    assert f"bias {bias[0]:.3g}" in kernel["name"]
    assert want.softmax.text in [c.value for c in at.code]


def test_choosing_another_layer_and_map_opens_it(shipped):
    at = draw(page(), stroke_png("1"))
    want = expected(shipped, stroke_png("1"))
    names = [m.name for m in want.layers]
    at.selectbox(key="draw.open_layer").set_value(names.index("relu3"))
    rerun(at)
    at.number_input(key="draw.open_map").set_value(7)
    rerun(at)
    relu3 = want.layers[names.index("relu3")]
    assert np.allclose(trace_z(chart(at, 2), "relu3 map 7: real values"), relu3.maps[6], atol=1e-6)
    assert "conv3 map 7 sums 16 input channels" in shown(at)
    # a smaller layer clamps the map number instead of failing
    at.selectbox(key="draw.open_layer").set_value(names.index("conv1"))
    rerun(at)
    assert at.number_input(key="draw.open_map").value == 7
    at.selectbox(key="draw.open_layer").set_value(names.index("pool2"))
    at.number_input(key="draw.open_map").set_value(32)
    rerun(at)
    at.selectbox(key="draw.open_layer").set_value(names.index("conv1"))
    rerun(at)
    assert at.number_input(key="draw.open_map").value == 16


def test_drawing_survives_a_rerun_and_a_new_stroke_updates_it():
    at = draw(page(), stroke_png("1"))
    rerun(at)
    assert headline(at) == "### Prediction: 1"
    draw(at, stroke_png("0"))
    assert headline(at) == "### Prediction: 0"


# ---------------------------------------------------------------- bad input
def test_empty_canvas_asks_for_a_digit_and_predicts_nothing():
    at = draw(page(), stroke_png("empty"))  # what Clear sends: an all-black image
    assert headline(at) == "### Prediction: none yet"
    assert "The canvas is empty: draw a digit from 0 to 9." in shown(at)
    at = draw(page(), stroke_png("dot"))
    assert "The canvas is empty" in shown(at) and headline(at) == "### Prediction: none yet"


def test_covered_canvas_says_so_instead_of_guessing():
    at = draw(page(), stroke_png("white"))
    assert headline(at) == "### Prediction: none yet"
    assert "Most of the canvas is covered" in shown(at)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize(
    "name,data",
    [
        ("not base64", "data:image/png;base64,!!!not-base64!!!"),
        ("no data url", "hello"),
        ("jpeg", "data:image/jpeg;base64," + base64.b64encode(png(Image.new("RGB", (280, 280)), "JPEG")).decode()),
        ("wrong size", png(Image.new("RGBA", (100, 100)))),
        ("declares 10000x10000", png(Image.new("1", (10000, 10000)))),
        ("truncated", stroke_png("1")[:200]),
    ],
)
def test_malformed_or_oversized_canvas_data_resets_the_canvas(name, data):
    at = draw(page(), stroke_png("1"))
    draw(at, data)
    assert any("canvas was reset" in e for e in errors(at)), (name, errors(at))
    assert at.get("bidi_component")[0].key == "draw.canvas.1"  # a fresh, empty canvas
    assert headline(at) == "### Prediction: none yet"
    draw(at, stroke_png("0"), key="draw.canvas.1")  # and it works again
    assert headline(at) == "### Prediction: 0" and not errors(at)


def test_uploads_every_good_and_bad_file(shipped):
    at = page()
    at.button_group(key="draw.source").set_value("Upload an image")
    rerun(at)
    assert "Upload a picture of a digit" in shown(at)
    digit = Image.new("L", (120, 160), 235)  # dark ink on light paper, like a photo
    ImageDraw.Draw(digit).line([(60, 20), (60, 140)], fill=20, width=14)
    at.file_uploader(key="draw.upload").set_value(("one.png", png(digit), "image/png"))
    rerun(at)
    assert headline(at) == "### Prediction: 1"
    assert "Dark ink on light paper was detected and inverted." in shown(at)
    last, last_headline = "one.png", headline(at)
    for name, data in upload_files().items():
        at.file_uploader(key="draw.upload").set_value((name, data, "image/png"))
        rerun(at)
        try:
            rgba = np.asarray(images.open_image(data))
        except images.ImageError as e:
            assert str(e) in errors(at), name
            assert headline(at) == last_headline, name  # the last readable image stays
            assert f"Showing the last image that could be read: {last}." in shown(at), name
            continue
        assert not errors(at), name
        want = insight.analyse(shipped.model, shipped.spec, rgba, background="auto")
        last = name
        last_headline = "### Prediction: " + ("none yet" if want.prediction is None else str(want.prediction.label))
        assert headline(at) == last_headline, name
        if want.prediction is None:
            assert want.problem in shown(at), name


def test_missing_or_broken_model_file_says_which_file_and_how_to_restore(tmp_path, monkeypatch):
    missing = tmp_path / "gone.safetensors"
    monkeypatch.setenv("PLAYGROUND_MODEL", str(missing))
    at = draw(page(), stroke_png("1"))
    assert any(f"The model file {missing} is missing." in e for e in errors(at))
    assert headline(at) == "### Prediction: none yet"
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x80\x04not a model")
    monkeypatch.setenv("PLAYGROUND_MODEL", str(broken))
    at = draw(page(), stroke_png("1"))
    assert any(f"The model file {broken} cannot be used" in e and "PLAYGROUND_MODEL" in e for e in errors(at))
    monkeypatch.delenv("PLAYGROUND_MODEL")
    assert "git checkout -- assets/models/playground-mnist.safetensors" in models._restore_hint(models.SHIPPED_MODEL)


# ---------------------------------------------------------------- models and the Convolution page
def test_a_session_model_can_be_chosen_and_named(shipped):
    at = page()
    from playground.nn.model import build
    from playground.nn.presets import get_preset

    untrained = build(get_preset("keras-mnist"), seed=1)
    at.session_state["models.session"] = {
        "untrained keras-mnist": models.ModelChoice(
            "untrained keras-mnist", untrained, get_preset("keras-mnist"), "random weights, never trained."
        )
    }
    at.session_state["models.draw_choice"] = "untrained keras-mnist"
    rerun(at).radio(key="draw.model").set_value("untrained keras-mnist")  # the picker was on screen already
    draw(at, stroke_png("1"))
    assert at.radio(key="draw.model").value == "untrained keras-mnist"
    assert "**untrained keras-mnist**: random weights, never trained." in shown(at)
    # random weights: the page says the network is unsure instead of giving a confident answer
    want = insight.analyse(untrained, get_preset("keras-mnist"), images.decode_canvas(stroke_png("1")))
    assert want.prediction.unsure and want.prediction.confidence < insight.UNSURE_BELOW
    assert [w.value for w in at.warning] == [want.prediction.notice]
    assert want.prediction.notice.startswith("The network is unsure:")
    titles = [a["text"] for a in chart(at, 1)["layout"]["annotations"]]
    assert titles == ["<b>conv1</b> · 32 × 26 × 26", "<b>relu1</b> · 32 × 26 × 26", "<b>pool1</b> · 32 × 13 × 13"]
    at.radio(key="draw.model").set_value(models.SHIPPED)
    rerun(at)
    assert headline(at) == "### Prediction: 1" and "**Pretrained: playground-mnist**" in shown(at)


def test_step_through_a_map_on_the_convolution_page(shipped):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    draw(at, stroke_png("1"))
    at.number_input(key="draw.open_map").set_value(4)
    rerun(at)
    at.button(key="draw.to_conv").click()
    rerun(at)
    assert at.title[0].value == "Convolution"
    assert "Input: the input of conv1 map 4 (28×28). Kernel: the learned kernel of conv1 map 4." in shown(at)
    want = expected(shipped, stroke_png("1"))
    h = insight.handoff(shipped.model, shipped.spec, want, "conv1", 3)
    out = ops.conv2d(h.image[None, None], h.kernel[None, None], np.array([h.bias]), h.settings)[0, 0]
    assert np.allclose(out, want.layers[0].maps[3], atol=1e-5)  # the page's engine gives the network's map
    at.button(key="conv.last").click()
    rerun(at)
    assert np.allclose(trace_z(chart(at), "output"), out, atol=1e-9)


def test_a_fashion_model_names_its_classes():
    from playground.data.datasets import FASHION
    from playground.nn.model import build
    from playground.nn.presets import get_preset

    at = page()
    spec = get_preset("keras-mnist")
    models_held = {
        "fashion": models.ModelChoice("fashion", build(spec, seed=2).eval(), spec, "a Fashion-MNIST model.", FASHION)
    }
    at.session_state["models.session"] = models_held
    at.session_state["models.draw_choice"] = "fashion"
    rerun(at).radio(key="draw.model").set_value("fashion")  # the picker was on screen already
    draw(at, stroke_png("1"))
    bars = chart(at, 0)["data"][0]
    label = int(np.argmax(np.array(bars["y"], dtype=float)))
    assert headline(at) == f"### Prediction: {label} ({FASHION[label]})"
    assert list(bars["x"]) == list(FASHION)


def test_an_even_same_padded_dilated_layer_opens_with_the_networks_numbers():
    """PyTorch pads an even 'same' kernel one pixel more at the bottom and right; the Convolution page
    gets that exact padding per side, and the dilation, so its output is the network's map."""
    from types import SimpleNamespace

    from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec
    from playground.nn.model import build

    spec = ModelSpec(
        "even-same",
        (
            Conv(3, kernel=2, padding="same", dilation=3),  # spans 4: pads 1 before, 2 after
            Act("relu"),
            Conv(2, kernel=4, padding="same"),
            Flatten(),
            Dense(10),
        ),
        input_shape=(1, 28, 28),
    )
    model = build(spec, seed=4).eval()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.session_state["models.session"] = {"even": models.ModelChoice("even", model, spec, "an even-kernel design.")}
    at.session_state["models.draw_choice"] = "even"
    rerun(at).radio(key="draw.model").set_value("even")  # the picker was on screen already
    draw(at, stroke_png("1"))
    at.number_input(key="draw.open_map").set_value(2)
    rerun(at)
    at.button(key="draw.to_conv").click()
    rerun(at)
    assert at.title[0].value == "Convolution" and not at.exception
    assert [at.number_input(key=f"conv.pad_{side}").value for side in ("top", "bottom", "left", "right")] == [
        1,
        2,
        1,
        2,
    ]
    assert at.number_input(key="conv.dilation").value == 3
    at.button(key="conv.last").click()
    rerun(at)
    want = expected(SimpleNamespace(model=model, spec=spec), stroke_png("1"))
    assert np.allclose(trace_z(chart(at), "output"), want.layers[0].maps[1], atol=1e-5)


def test_undo_takes_back_the_last_stroke_and_clear_empties_the_canvas(shipped):
    from benchmarks.strokes import Scribbler
    from playground.imaging.strokes import render_strokes

    at = page()
    assert at.button(key="draw.undo_stroke").disabled and at.button(key="draw.clear_canvas").disabled
    s = Scribbler(seed=3)
    for _ in range(3):
        png_bytes, objects = s.next()
    url = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    at.session_state[CANVAS] = {"drawing": {"raw": {"objects": objects}, "data": url}}
    rerun(at)
    assert not at.button(key="draw.undo_stroke").disabled
    at.button(key="draw.undo_stroke").click()
    rerun(at)
    assert at.get("bidi_component")[0].key == "draw.canvas.1"  # remounted with the first two strokes
    assert at.session_state["draw.drawing"]["objects"] == objects[:2]
    want = insight.analyse(shipped.model, shipped.spec, render_strokes(objects[:2]), background="dark")
    label = "none yet" if want.prediction is None else str(want.prediction.label)
    assert headline(at) == f"### Prediction: {label}" and not errors(at)
    at.button(key="draw.clear_canvas").click()
    rerun(at)
    assert at.get("bidi_component")[0].key == "draw.canvas.2" and headline(at) == "### Prediction: none yet"
    assert at.button(key="draw.undo_stroke").disabled and at.button(key="draw.clear_canvas").disabled


def test_a_clicked_cell_shows_its_receptive_field_on_the_input(shipped):
    from playground.nn.receptive import receptive_field

    at = draw(page(), stroke_png("1"))
    want = expected(shipped, stroke_png("1"))
    names = [m.name for m in want.layers]
    assert "Click a cell of this map to see which input pixels it can see" in shown(at)
    li = names.index("pool1")
    rerun(at.selectbox(key="draw.open_layer").set_value(li))
    at.session_state["draw.field_cell"] = (li, 0, 3, 9)  # what a click on pool1 map 1, row 3, column 9 stores
    rerun(at)
    field = receptive_field(shipped.spec, "pool1", (3, 9))
    assert field.text() in shown(at)
    # conv 3×3 pad 1 → conv 3×3 pad 1 → pool 2: row 3 pools rows 6–7, which read 5–8, which read 4–9
    assert field.rows == (4, 9) and field.cols == (16, 21) and field.size == 6
    spec = next(c for c in charts(at) if any(t.get("name") == "input" for t in c["data"]))
    np.testing.assert_allclose(trace_z(spec, "input"), want.prep.image, atol=1e-6)
    washed = next(s for s in spec["layout"]["shapes"] if s.get("fillcolor"))
    assert (washed["y0"], washed["y1"], washed["x0"], washed["x1"]) == (3.5, 9.5, 15.5, 21.5)
    large = chart(at, 2)
    outlined = [s for s in large["layout"]["shapes"] if s.get("line", {}).get("color") == "#E69F00"]
    assert outlined and round(outlined[0]["y0"] + 0.5) == 3 and round(outlined[0]["x0"] + 0.5) == 9
    steps = next(e for e in at.expander if e.label.startswith("Layer by layer")).markdown[0].value
    assert "conv1 (k 3, s 1, d 1): r = 1 + (3 − 1)·1·1 = 3, j = 1·1 = 1" in steps
    assert "pool1 (k 2, s 2, d 1): r = 5 + (2 − 1)·1·1 = 6, j = 1·2 = 2" in steps
    # another map: the cell belongs to the map it was picked on
    rerun(at.number_input(key="draw.open_map").set_value(2))
    assert "Click a cell of this map" in shown(at)
