"""The pages against what a careless or hostile student sends: widget states that are not what the widget
sends, files of the wrong kind, typed numbers Python's parsers choke on, model files built to crash the
reader. Each ends with one sentence next to its cause, the last valid state kept, and no exception."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
from apptest_support import CONV, POOL, ROOT, app, arithmetic, chart, errors, png, png_declaring, rerun, shown, trace_z
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from playground.nn.checkpoints import checkpoint_bytes
from playground.nn.model import build
from playground.nn.presets import get_preset
from playground.ui import inputs

DRAW = str(ROOT / "playground" / "pages" / "draw.py")
TRAIN = str(ROOT / "playground" / "pages" / "train.py")
BUILD = str(ROOT / "playground" / "pages" / "build.py")
DEEP = "[" * 5000 + "]" * 5000
HUGE_INT = "9" * 5000
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9"/></svg>'


def stroke() -> bytes:
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(140, 40), (140, 240)], fill=(255, 255, 255, 255), width=20)
    return png(img)


def url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def draw_page() -> AppTest:
    at = AppTest.from_file(DRAW, default_timeout=60)
    return rerun(at)


def headline(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### Prediction"))


# ---------------------------------------------------------------- the drawing canvas
@pytest.mark.parametrize(
    "value,says",
    [
        ({"drawing": [1, 2]}, "not what the canvas sends"),
        ({"drawing": {"raw": {"objects": [{}]}, "data": 5}}, "not a PNG image"),
        ({"drawing": {"raw": {"objects": [{}]}, "data": ["x"]}}, "not a PNG image"),
        ({"drawing": {"raw": {"objects": [{}]}, "data": url(png_declaring(20_000, 20_000))}}, "far more pixels"),
        ({"drawing": {"raw": {"objects": [{}]}, "data": url(stroke())}, "backgroundFit": 5}, "not what the canvas"),
    ],
    ids=["drawing a list", "data a number", "data a list", "20000x20000 header", "backgroundFit a number"],
)
def test_canvas_states_that_crashed_the_draw_page_reset_the_canvas(value, says):
    at = draw_page()
    at.session_state["draw.canvas.0"] = {"drawing": {"raw": {"objects": [{}]}, "data": url(stroke())}}
    assert headline(rerun(at)) == "### Prediction: 1"
    at.session_state["draw.canvas.0"] = value
    rerun(at)
    assert any(says in e and "canvas was reset" in e for e in errors(at)), errors(at)
    assert at.get("bidi_component")[0].key == "draw.canvas.1"
    rerun(at)  # the next run is clean too (it used to fail on a half-registered widget)
    at.session_state["draw.canvas.1"] = {"drawing": {"raw": {"objects": [{}]}, "data": url(stroke())}}
    assert headline(rerun(at)) == "### Prediction: 1" and not errors(at)


@pytest.mark.parametrize("raw", [[1], {"objects": "x"}, {"objects": [1, 2]}, "text"])
def test_strokes_that_are_not_fabric_json_are_not_kept_but_the_drawing_counts(raw):
    at = draw_page()
    at.session_state["draw.canvas.0"] = {"drawing": {"raw": raw, "data": url(stroke())}}
    assert headline(rerun(at)) == "### Prediction: 1" and not errors(at)
    assert inputs.canvas_drawing(raw) is None


# ---------------------------------------------------------------- uploads of the wrong kind
@pytest.mark.parametrize("path,prefix", [(CONV, "conv"), (POOL, "pool")])
def test_svg_upload_keeps_the_last_image_on_convolution_and_pooling(path, prefix):
    at = app(path)
    rerun(at.selectbox(key=f"{prefix}.source").set_value(inputs.UPLOAD))
    good = np.tile(np.linspace(0, 255, 12, dtype=np.uint8), (12, 1))
    at.file_uploader(key=f"{prefix}.upload").set_value(("good.png", png(Image.fromarray(good)), "image/png"))
    rerun(at)
    before = trace_z(chart(at), "input")
    at.file_uploader(key=f"{prefix}.upload").set_value(("drawing.svg", SVG, "image/svg+xml"))
    rerun(at)
    assert "This is an SVG drawing, which cannot be read here: export it as a PNG and upload that." in errors(at)
    after = trace_z(chart(at), "input")
    assert np.array_equal(before, after) and "good.png" in shown(at)


def test_svg_upload_keeps_the_last_image_on_draw():
    at = draw_page()
    rerun(at.button_group(key="draw.source").set_value("Upload an image"))
    digit = Image.new("L", (120, 160), 235)
    ImageDraw.Draw(digit).line([(60, 20), (60, 140)], fill=20, width=14)
    at.file_uploader(key="draw.upload").set_value(("one.png", png(digit), "image/png"))
    assert headline(rerun(at)) == "### Prediction: 1"
    at.file_uploader(key="draw.upload").set_value(("drawing.svg", SVG, "image/svg+xml"))
    rerun(at)
    assert "This is an SVG drawing, which cannot be read here: export it as a PNG and upload that." in errors(at)
    assert headline(at) == "### Prediction: 1" and "Showing the last image that could be read: one.png." in shown(at)


def test_a_design_of_another_kind_or_nested_thousands_deep_is_one_sentence_on_build():
    at = AppTest.from_file(BUILD, default_timeout=60)
    rerun(at)
    design = [m.value for m in at.markdown]
    for name, data, says in [
        ("x.svg", SVG, "The architecture is not valid JSON"),
        ("deep.json", ('{"layers": ' + DEEP + "}").encode(), "nested 5001 levels deep"),
        ("huge.json", ('{"layers": [{"type": "conv", "filters": ' + HUGE_INT + "}]}").encode(), "more than 400 digits"),
    ]:
        at.file_uploader(key="build.upload").set_value((name, data, "application/json"))
        rerun(at)
        assert any(says in e for e in errors(at)), (name, errors(at))
    assert [m.value for m in at.markdown] == design  # the design is as it was


# ---------------------------------------------------------------- typed numbers
@pytest.mark.parametrize("path,prefix", [(CONV, "conv"), (POOL, "pool")])
@pytest.mark.parametrize(
    "bad,says",
    [(f"[[{HUGE_INT}]]", "more than 400 digits"), (HUGE_INT, "more than 400 digits"), (DEEP, "nested 5000 levels")],
    ids=["5000-digit JSON", "5000-digit text", "5000 brackets"],
)
def test_typed_inputs_python_cannot_parse_keep_the_last_matrix(path, prefix, bad, says):
    at = app(path)
    rerun(at.selectbox(key=f"{prefix}.source").set_value(inputs.TYPED))
    at.text_area(key=f"{prefix}.typed").set_value("1 2 3\n4 5 6\n7 8 9")
    rerun(at)
    good = trace_z(chart(at), "input")
    at.text_area(key=f"{prefix}.typed").set_value(bad)
    rerun(at)
    assert any(says in e and "Showing the last valid matrix" in e for e in errors(at)), errors(at)
    assert np.array_equal(trace_z(chart(at), "input"), good)


@pytest.mark.parametrize("path,prefix", [(CONV, "conv"), (POOL, "pool")])
def test_a_typed_unicode_minus_reads_as_minus(path, prefix):
    at = app(path)
    rerun(at.selectbox(key=f"{prefix}.source").set_value(inputs.TYPED))
    at.text_area(key=f"{prefix}.typed").set_value("−1 2\n3 −4")  # U+2212, as slides and many keyboards type it
    rerun(at)
    assert not errors(at)
    assert trace_z(chart(at), "input").tolist() == [[-1, 2], [3, -4]]


@pytest.mark.parametrize("bad,says", [(DEEP, "nested 5000 levels"), (f"{HUGE_INT} 1\n1 1", "more than 400")])
def test_typed_kernels_python_cannot_parse_keep_the_last_kernel(bad, says):
    at = app()
    rerun(at.selectbox(key="conv.kernel").set_value("Custom: type rows"))
    at.text_area(key="conv.kernel_text").set_value("1 2\n3 4")
    assert arithmetic(rerun(at)).endswith("= 37")
    at.text_area(key="conv.kernel_text").set_value(bad)
    rerun(at)
    assert any(says in e for e in errors(at)), errors(at)
    assert arithmetic(at).endswith("= 37")
    at.text_area(key="conv.kernel_text").set_value("−1 2\n3 4")
    assert arithmetic(rerun(at)).endswith("= 35")  # 1·(−1) + 2·2 + 4·3 + 5·4


@pytest.mark.parametrize(
    "size,padding,says", [(701, 350, "at most 1,000,000"), (1001, 500, "at most 1,000,000")], ids=["701", "1001"]
)
def test_a_pooling_window_far_beyond_the_input_is_refused_at_once(size, padding, says):
    at = app(POOL)
    rerun(at.selectbox(key="pool.source").set_value(inputs.RANDOM))
    at.number_input(key="pool.random_size").set_value(28)
    rerun(at)
    at.number_input(key="pool.size_px").set_value(size)
    at.number_input(key="pool.stride").set_value(1)
    at.number_input(key="pool.padding").set_value(padding)
    rerun(at)
    assert any(says in e for e in errors(at)), errors(at)


# ---------------------------------------------------------------- model files on Train
def _model_with(meta_change) -> bytes:
    spec = get_preset("lenet5")
    data = checkpoint_bytes(build(spec, seed=0), spec, {"metrics": {}})
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta_change(header["__metadata__"])
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def test_model_uploads_built_to_crash_the_reader_are_one_sentence_on_train(monkeypatch, mnist_path):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(mnist_path))
    at = AppTest.from_file(TRAIN, default_timeout=120)
    rerun(at)
    for name, change, says in [
        ("deep-meta", lambda m: m.update(metadata=DEEP), "is nested 5000 levels deep"),
        ("number-meta", lambda m: m.update(metadata=5), "the value of 'metadata' is not text"),
        ("deep-spec", lambda m: m.update(spec=DEEP), "architecture is nested 5000 levels deep"),
    ]:
        at.file_uploader(key="train.upload").set_value(
            (f"{name}.safetensors", _model_with(change), "application/octet-stream")
        )
        rerun(at)
        assert any(says in e for e in errors(at)), (name, errors(at))


# ---------------------------------------------------------------- fuzz through a page (bounded)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text("[]{},;. \n-−0123456789e/x", max_size=40))
def test_fuzz_typed_input_on_the_convolution_page_never_raises(text):
    at = _fuzz_page()
    at.text_area(key="conv.typed").set_value(text)
    rerun(at)  # no exception: a matrix, or a message and the last valid one


_PAGE: list[AppTest] = []


def _fuzz_page() -> AppTest:
    """One Convolution page with typed input for every example (a fresh one per example is ~1 s)."""
    if not _PAGE:
        at = app()
        _PAGE.append(rerun(at.selectbox(key="conv.source").set_value(inputs.TYPED)))
    return _PAGE[0]
