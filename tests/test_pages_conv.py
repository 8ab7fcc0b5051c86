"""AppTest for the Convolution page: every control, every bad input of the issue.

Expected numbers and messages come from the engine itself, so the tests check that the page shows
exactly what the engine computed or said, with no exception and the last valid state kept.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from apptest_support import (
    app,
    arithmetic,
    cell_of,
    chart,
    engine_error,
    errors,
    png,
    rerun,
    shown,
    trace_z,
    upload_files,
)
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from playground import ops
from playground.imaging import images
from playground.ops import kernels, samples
from playground.ui import inputs, widgets


# ------------------------------------------------------- worked examples
def test_worked_example_cells_arithmetic_and_output():
    at = app()
    assert arithmetic(at) == "**Output (0, 0)** = 1×1 + 2×2 + 4×3 + 5×4 = 37"
    seen = []
    for _ in range(3):
        at.button(key="conv.next").click()
        seen.append(arithmetic(rerun(at)).rsplit("= ", 1)[1])
    assert seen == ["47", "67", "77"]
    assert np.array_equal(trace_z(chart(at), "output"), [[37, 47], [67, 77]])
    assert "height: ⌊(3 + 0 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2" in shown(at)
    assert "width: ⌊(3 + 0 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2" in shown(at)
    at.button(key="conv.next").click()
    assert arithmetic(rerun(at)).endswith("= 77")  # Next on the last step stays there


def test_true_convolution_shows_23():
    at = app()
    at.toggle(key="conv.flip").set_value(True)
    assert arithmetic(rerun(at)) == "**Output (0, 0)** = 1×4 + 2×3 + 4×2 + 5×1 = 23"
    assert "rotated 180°" in shown(at)
    at.button(key="conv.last").click()
    assert arithmetic(rerun(at)).endswith("= 63")


def test_step_buttons_slider_and_code():
    at = app()
    rerun(at.selectbox(key="conv.source").set_value(inputs.RANDOM))
    at.number_input(key="conv.random_size").set_value(5)
    at.number_input(key="conv.random_seed").set_value(7)
    at.selectbox(key="conv.kernel").set_value("Sobel x")
    rerun(at)
    steps = ops.conv_steps(samples.random_integers(5, 7), kernels.PRESETS["Sobel x"].array)
    at.button(key="conv.last").click()
    assert arithmetic(rerun(at)) == cell_of(steps[8])
    at.button(key="conv.previous").click()
    assert arithmetic(rerun(at)) == cell_of(steps[7])
    at.slider(key="conv.step_slider").set_value(3)
    assert arithmetic(rerun(at)) == cell_of(steps[2])
    at.button(key="conv.first").click()
    assert arithmetic(rerun(at)) == cell_of(steps[0])
    at.button(key="conv.previous").click()
    assert arithmetic(rerun(at)) == cell_of(steps[0])  # clamped at the first step
    assert any("def conv_steps" in c.value for c in at.code)


def test_step_index_is_clamped_when_settings_shorten_the_run():
    at = app()
    rerun(at.selectbox(key="conv.source").set_value(inputs.RANDOM))
    at.number_input(key="conv.random_size").set_value(10)
    at.selectbox(key="conv.kernel").set_value("Box blur")
    rerun(at)
    at.button(key="conv.last").click()
    assert arithmetic(rerun(at)).startswith("**Output (7, 7)**")
    at.number_input(key="conv.stride_rows").set_value(2)
    at.number_input(key="conv.stride_cols").set_value(2)
    rerun(at)
    steps = ops.conv_steps(
        samples.random_integers(10, 0), kernels.PRESETS["Box blur"].array, settings=ops.ConvSettings(stride=2)
    )
    assert len(steps) == 16 and arithmetic(at) == cell_of(steps[-1])
    assert at.slider(key="conv.step_slider").value == 16


# ---------------------------------------------------------------- kernels
def test_every_preset_kernel_matches_the_engine_and_has_its_sentence():
    at = app()
    rerun(at.selectbox(key="conv.source").set_value(inputs.SAMPLE))
    at.select_slider(key="conv.size").set_value(10)
    rerun(at)
    x = samples.digit(3, 10)
    for name, preset in kernels.PRESETS.items():
        at.selectbox(key="conv.kernel").set_value(name)
        rerun(at)
        assert arithmetic(at) == cell_of(ops.conv_steps(x, preset.array)[0]), name
        assert preset.description in shown(at)


def test_custom_grid_kernel_edits_sizes_and_bad_cells():
    at = app()
    rerun(at.selectbox(key="conv.kernel").set_value("Custom: edit a grid"))
    at.number_input(key="conv.kernel_rows").set_value(2)
    at.number_input(key="conv.kernel_cols").set_value(2)
    rerun(at)
    grid = "conv.kernel_grid.2x2"

    def edit(first_row: dict) -> AppTest:
        rows = {0: first_row, 1: {"1": "3", "2": "4"}}
        at.session_state[grid] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
        return rerun(at)

    assert arithmetic(edit({"1": "1", "2": "2"})).endswith("= 37")
    for bad in ("abc", "", "nan", "inf", "1e300", "1/0"):
        edit({"1": bad, "2": "2"})
        expected = engine_error(kernels.parse_kernel, [[bad, "2"], ["3", "4"]])
        assert any(expected in e for e in errors(at)), (bad, errors(at))
        assert arithmetic(at).endswith("= 37")  # the last valid kernel is kept
    edit({"1": "1/2", "2": "2"})
    assert arithmetic(at) == "**Output (0, 0)** = 1×0.5 + 2×2 + 4×3 + 5×4 = 36.5"
    at.number_input(key="conv.kernel_rows").set_value(1)
    at.number_input(key="conv.kernel_cols").set_value(3)
    rerun(at)
    assert arithmetic(at) == "**Output (0, 0)** = 1×0 + 2×1 + 3×0 = 2"  # a fresh 1×3 grid, centre 1


def test_custom_text_kernel_and_its_bad_inputs():
    at = app()
    rerun(at.selectbox(key="conv.kernel").set_value("Custom: type rows"))
    at.text_area(key="conv.kernel_text").set_value("1 2\n3 4")
    assert arithmetic(rerun(at)).endswith("= 37")
    too_big = "\n".join(" ".join("1" for _ in range(8)) for _ in range(8))
    for bad in ("", "1 2\n3", "1 x\n3 4", "nan 1\n1 1", "inf 1\n1 1", "1e300 1\n1 1", too_big):
        at.text_area(key="conv.kernel_text").set_value(bad)
        rerun(at)
        expected = engine_error(kernels.parse_kernel, bad)
        assert any(expected in e for e in errors(at)), (bad, errors(at))
        assert arithmetic(at).endswith("= 37")


# ------------------------------------------------------------ input sources
def test_worked_4x4_samples_random_and_typed_inputs():
    at = app()
    at.selectbox(key="conv.source").set_value(inputs.WORKED_4X4)
    assert arithmetic(rerun(at)) == cell_of(ops.conv_steps(samples.WORKED_4X4, samples.WORKED_KERNEL_2X2)[0])
    rerun(at.selectbox(key="conv.source").set_value(inputs.SAMPLE))
    at.select_slider(key="conv.size").set_value(8)
    at.selectbox(key="conv.kernel").set_value("Identity")
    for name in inputs.SAMPLE_NAMES:
        at.selectbox(key="conv.sample").set_value(name)
        rerun(at)
        if name == "random":
            at.number_input(key="conv.sample_seed").set_value(5)
            rerun(at)
            x = samples.random_image(8, 5)
        elif name.startswith("digit"):
            x = samples.digit(int(name[-1]), 8)
        else:
            x = samples.shape(name, 8)
        assert np.array_equal(trace_z(chart(at), "input"), x), name
    rerun(at.selectbox(key="conv.source").set_value(inputs.RANDOM))
    at.number_input(key="conv.random_size").set_value(4)
    at.number_input(key="conv.random_seed").set_value(3)
    rerun(at)
    assert np.array_equal(trace_z(chart(at), "input"), samples.random_integers(4, 3))
    rerun(at.selectbox(key="conv.source").set_value(inputs.TYPED))
    at.text_area(key="conv.typed").set_value("1 2 3\n4 5 6\n7 8 9")
    at.selectbox(key="conv.kernel").set_value(widgets.WORKED_KERNEL)
    assert arithmetic(rerun(at)).endswith("= 37")
    for bad in ("", "1 2\n3", "1 2\n3 oops"):
        at.text_area(key="conv.typed").set_value(bad)
        rerun(at)
        assert any(engine_error(kernels.parse_matrix, bad, max_size=28, what="input") in e for e in errors(at))
        assert arithmetic(at).endswith("= 37")


def canvas_payload(png_bytes: bytes) -> dict:
    url = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    return {"drawing": {"raw": {"objects": [{}]}, "data": url}}


def test_drawn_digit_is_downsampled_and_kept_bad_drawing_refused():
    at = app()
    rerun(at.selectbox(key="conv.source").set_value(inputs.DRAW))
    at.select_slider(key="conv.size").set_value(14)
    rerun(at)
    assert at.get("bidi_component")[0].key == "conv.canvas.0"
    px = inputs.SIDEBAR_CANVAS_PX  # the sidebar's canvas (the Draw page's is 280)
    drawing = Image.new("RGBA", (px, px), (0, 0, 0, 255))
    ImageDraw.Draw(drawing).line([(px // 2, 30), (px // 2, px - 30)], fill=(255, 255, 255, 255), width=20)
    at.session_state["conv.canvas.0"] = canvas_payload(png(drawing))
    rerun(at)
    grid = inputs.drawing_to_grid(png(drawing), 14)
    assert grid.max() > 0.5 and np.array_equal(trace_z(chart(at), "input"), grid)
    wrong = png(Image.new("RGBA", (100, 100)))
    at.session_state["conv.canvas.0"] = canvas_payload(wrong)
    rerun(at)
    assert any(engine_error(images.decode_canvas, wrong, (px, px)) in e for e in errors(at))
    assert np.array_equal(trace_z(chart(at), "input"), grid)  # the last good drawing stays
    assert at.get("bidi_component")[0].key == "conv.canvas.1"  # and a fresh canvas replaced the bad one


@pytest.mark.parametrize("name,data", upload_files().items())
def test_load_upload_converts_or_refuses_with_a_message(name, data):
    try:
        expected = images.open_image(data)
    except images.ImageError as e:
        with pytest.raises(images.ImageError, match=str(e).split(":")[0]):
            inputs.load_upload(data)
        return
    grey, rgb = inputs.load_upload(data, 28)
    assert grey.ndim == 2 and rgb.shape == (3, *grey.shape) and max(grey.shape) <= 28
    assert 0 <= grey.min() <= grey.max() <= 1
    if name == "rotated.jpg":
        assert expected.size == (10, 30) and grey.shape == (28, 9)  # EXIF rotation applied


def test_uploads_in_the_page_every_good_and_bad_file():
    at = app()
    at.selectbox(key="conv.source").set_value(inputs.UPLOAD)
    rerun(at)
    assert "No image yet" in shown(at)
    files = upload_files()
    at.file_uploader(key="conv.upload").set_value(("good.png", files["good.png"], "image/png"))
    rerun(at)
    good = inputs.load_upload(files["good.png"], 14)[0]
    assert np.array_equal(trace_z(chart(at), "input"), good)
    for name, data in files.items():
        at.file_uploader(key="conv.upload").set_value((name, data, "image/png"))
        rerun(at)
        try:
            expected = inputs.load_upload(data, 14)[0]
        except images.ImageError as e:
            assert str(e) in errors(at), name
            assert np.array_equal(trace_z(chart(at), "input"), good), name  # last valid upload kept
            continue
        assert not errors(at), name
        assert np.array_equal(trace_z(chart(at), "input"), expected), name
        good = expected


# --------------------------------------------------------------- settings
def test_stride_padding_mode_dilation_bias_and_formula():
    at = app()
    at.selectbox(key="conv.source").set_value(inputs.WORKED_4X4)
    at.number_input(key="conv.stride_rows").set_value(2)
    rerun(at)
    assert "height: ⌊(4 + 0 + 0 − 1·(2 − 1) − 1) / 2⌋ + 1 = 2" in shown(at)
    assert "width: ⌊(4 + 0 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 3" in shown(at)
    at.number_input(key="conv.stride_rows").set_value(1)
    at.number_input(key="conv.stride_cols").set_value(3)
    at.number_input(key="conv.padding").set_value(1)
    at.selectbox(key="conv.padding_mode").set_value("reflect")
    at.number_input(key="conv.dilation").set_value(2)
    at.number_input(key="conv.bias").set_value(1.5)
    rerun(at)
    settings = ops.ConvSettings(stride=(1, 3), padding=1, padding_mode="reflect", dilation=2)
    steps = ops.conv_steps(samples.WORKED_4X4, samples.WORKED_KERNEL_2X2, 1.5, settings)
    assert arithmetic(at) == cell_of(steps[0]) and "+ bias 1.5" in arithmetic(at)
    assert np.array_equal(
        trace_z(chart(at), "padding")[0, 1:5], ops.pad(samples.WORKED_4X4, (1, 1, 1, 1), "reflect")[0, 1:5]
    )
    at.selectbox(key="conv.padding_mode").set_value("replicate")
    rerun(at)
    steps = ops.conv_steps(
        samples.WORKED_4X4,
        samples.WORKED_KERNEL_2X2,
        1.5,
        ops.ConvSettings(stride=(1, 3), padding=1, padding_mode="replicate", dilation=2),
    )
    assert arithmetic(at) == cell_of(steps[0])


def test_padding_kinds_valid_same_and_per_side():
    at = app()
    at.radio(key="conv.padding_kind").set_value("same")
    rerun(at)
    assert ops.same_padding_note((2, 2)) in shown(at)  # the asymmetric split of an even kernel
    assert "= 3" in [m.value for m in at.markdown if m.value.startswith("**Output size")][0]
    at.radio(key="conv.padding_kind").set_value("valid")
    assert arithmetic(rerun(at)).endswith("= 37")
    at.radio(key="conv.padding_kind").set_value("per side")
    rerun(at)
    for side, value in zip(("top", "bottom", "left", "right"), (1, 0, 2, 0)):
        at.number_input(key=f"conv.pad_{side}").set_value(value)
    rerun(at)
    steps = ops.conv_steps(
        samples.WORKED_3X3, samples.WORKED_KERNEL_2X2, settings=ops.ConvSettings(padding=(1, 0, 2, 0))
    )
    assert arithmetic(at) == cell_of(steps[0]) and "height: ⌊(3 + 1 + 0" in shown(at)


@pytest.mark.parametrize("name", list(ops.ACTIVATIONS))
def test_activation_after_the_convolution(name):
    at = app()
    at.number_input(key="conv.bias").set_value(-40.0)
    at.selectbox(key="conv.activation").set_value(name)
    rerun(at)
    if name == "none":
        assert len(at.get("plotly_chart")) == 1 and "After the activation" not in shown(at)
        return
    value = float(ops.activate(name, np.array([37.0 - 40.0]))[0])
    label = ops.ACTIVATION_LABELS[name]
    assert f"{label}(−3) = {ops.format_number(value)}" in shown(at)
    curve = chart(at, 1)["data"][0]
    assert curve["type"] == "scatter" and len(at.get("plotly_chart")) == 3


def test_bad_settings_show_the_engine_message_and_keep_the_last_valid_run():
    x, k = samples.WORKED_3X3, samples.WORKED_KERNEL_2X2
    cases = [
        ("conv.kernel", "Gaussian 5×5", lambda: ops.conv_steps(x, kernels.PRESETS["Gaussian 5×5"].array)),
        ("conv.stride_rows", 0, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(stride=(0, 1)))),
        ("conv.stride_cols", -2, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(stride=(1, -2)))),
        ("conv.padding", -1, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(padding=-1))),
        ("conv.dilation", 3, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(dilation=3))),  # zero-size output
        ("conv.dilation", 0, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(dilation=0))),
        ("conv.padding", 100000, lambda: ops.conv_steps(x, k, settings=ops.ConvSettings(padding=100000))),
    ]
    for key, value, engine in cases:
        at = app()
        widget = at.selectbox(key=key) if key == "conv.kernel" else at.number_input(key=key)
        widget.set_value(value)
        rerun(at)
        assert engine_error(engine) in errors(at), (key, value, errors(at))
        assert "last valid configuration is shown" in shown(at)
        assert arithmetic(at).endswith("= 37")
    at = app()  # 'same' with stride 2, and reflect padding wider than the image
    at.radio(key="conv.padding_kind").set_value("same")
    at.number_input(key="conv.stride_rows").set_value(2)
    rerun(at)
    assert engine_error(ops.resolve_padding, "same", (2, 2), (2, 1)) in errors(at)
    at.number_input(key="conv.stride_rows").set_value(1)
    rerun(at.radio(key="conv.padding_kind").set_value("number"))
    at.number_input(key="conv.padding").set_value(3)
    at.selectbox(key="conv.padding_mode").set_value("reflect")
    rerun(at)
    assert engine_error(ops.pad, x, (3, 3, 3, 3), "reflect") in errors(at)
    assert "height: ⌊(3 + 3 + 3" in shown(at)  # the formula with the user's numbers


# ------------------------------------------------------------------ views
def player_data(at) -> dict | None:
    """What the Play view's player received (None when it is not on the page)."""
    mounted = [e for e in at.get("bidi_component") if e.proto.component_name == "cnn_playground.conv_player"]
    return json.loads(mounted[0].proto.json) if mounted else None


def test_play_view_hands_the_engines_steps_to_the_in_browser_player():
    at = app()
    at.button(key="conv.next").click()
    rerun(at)
    at.button(key="conv.next").click()
    rerun(at)
    at.radio(key="conv.view").set_value("Play")
    rerun(at)
    data = player_data(at)
    steps = ops.conv_steps(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2)
    assert [s["text"] for s in data["steps"]] == [
        f"Output ({s.out_pos[0]}, {s.out_pos[1]}) = {s.arithmetic()}" for s in steps
    ]
    assert data["start"] == 2  # Play starts where Step by step was
    assert data["output"]["labels"] == [["37", "47"], ["67", "77"]]
    assert not at.get("plotly_chart") and not errors(at)
    assert "Where you stop is where Step by step carries on" in shown(at)


def test_play_view_refuses_more_frames_than_a_browser_should_get():
    at = app()
    at.radio(key="conv.view").set_value("Play")
    at.number_input(key="conv.padding").set_value(25)  # 3×3 input, 2×2 kernel: 52×52 = 2,704 steps
    rerun(at)
    assert player_data(at) is None and not errors(at)
    assert "This convolution has 2,704 steps; Play holds at most 2,500" in shown(at)
    at.number_input(key="conv.padding").set_value(24)  # 2,500 steps: played
    rerun(at)
    assert len(player_data(at)["steps"]) == 2_500


def test_several_channels_view_partial_sums_and_filter_stack():
    at = app()
    at.radio(key="conv.view").set_value("Several channels")
    at.number_input(key="conv.bias").set_value(0.5)
    at.number_input(key="conv.padding").set_value(1)
    rerun(at)
    rgb = samples.rgb_sample(8)
    w = np.stack([kernels.PRESETS[n].array for n in ("Sobel x", "Sobel y", "Box blur")])
    steps = ops.conv_steps(rgb, w, 0.5, ops.ConvSettings(padding=1))
    assert arithmetic(at) == cell_of(steps[0]) and "+ bias 0.5" in arithmetic(at)
    assert f"G: {steps[0].channel_arithmetic(1)}" in shown(at)
    at.selectbox(key="conv.channel_kernel.B").set_value("Sharpen")
    at.select_slider(key="conv.rgb_size").set_value(6)
    at.button(key="conv.next").click()
    rerun(at)
    w = np.stack([kernels.PRESETS[n].array for n in ("Sobel x", "Sobel y", "Sharpen")])
    steps = ops.conv_steps(samples.rgb_sample(6), w, 0.5, ops.ConvSettings(padding=1))
    assert arithmetic(at) == cell_of(steps[1])
    at.multiselect(key="conv.filters").set_value(["Emboss", "Outline"])
    rerun(at)
    assert "2 filters of shape 3×3×3 turn the 3-channel input into 2 output maps of 6×6" in shown(at)
    stack = chart(at, 1)
    assert [t["name"] for t in stack["data"]] == ["Emboss", "Outline"]


def test_im2col_view_identical_result_and_size_ratio():
    at = app()
    at.radio(key="conv.view").set_value("im2col (GEMM)")
    rerun(at)
    text = shown(at)
    assert "**Unfolded matrix** 4×4 = 16 numbers for a 3×3 = 9-pixel input: **1.78×** as many" in text
    assert "at most **0.0e+00**" in text
    at.button(key="conv.next").click()
    rerun(at)
    assert arithmetic(at).endswith("= 47") and any("def im2col" in c.value for c in at.code)
    y = chart(at)["data"][-1]
    assert y["name"] == "Y" and y["text"] == [["37", "47", "67", "77"]]


def test_several_channels_use_an_uploaded_colour_image_and_report_bad_settings():
    at = app()
    rerun(at.selectbox(key="conv.source").set_value(inputs.UPLOAD))
    data = upload_files()["good.png"]
    at.file_uploader(key="conv.upload").set_value(("good.png", data, "image/png"))
    at.radio(key="conv.view").set_value("Several channels")
    rerun(at)
    grey, rgb = inputs.load_upload(data, 14)
    assert "Input: your uploaded image in colour." in shown(at)
    w = np.stack([kernels.PRESETS[n].array for n in ("Sobel x", "Sobel y", "Box blur")])
    assert arithmetic(at) == cell_of(ops.conv_steps(rgb, w)[0])
    at.number_input(key="conv.dilation").set_value(4)  # fits the 2×2 kernel on the grey image, not 3×3 on RGB
    rerun(at)
    expected = engine_error(ops.conv_steps, rgb, w, 0.0, ops.ConvSettings(dilation=4))
    assert any(expected in e for e in errors(at)) and not at.warning
