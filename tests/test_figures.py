"""Figure builders: valid Plotly, fixed axis ranges, the window and cell outlines where the engine's
step records say, numbers only on readable grids."""

from __future__ import annotations

import base64
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

from playground import figures, ops
from playground.figures import common
from playground.ops import kernels, samples

SOBEL_X = kernels.PRESETS["Sobel x"].array


def conv_case(x: np.ndarray, k: np.ndarray, settings: ops.ConvSettings = ops.ConvSettings()):
    pads = settings.pads(k.shape)
    steps = ops.conv_steps(x, k, 0.0, settings)
    out = ops.conv_output_from_steps(steps, ops.conv_output_shape(x.shape, k.shape, settings))
    return ops.pad(x, pads, settings.padding_mode), pads, steps[0].kernel[0], out, steps


def valid(fig: go.Figure) -> dict:
    """The figure's spec, after Plotly's full validation (the builders skip it for speed)."""
    spec = fig.to_dict()
    go.Figure(spec)  # raises on any invalid property
    return spec


def arr(value) -> np.ndarray:
    """A trace array as numpy, whether plain lists or Plotly's base64 typed-array form."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).astype(float)
    return np.asarray(value, dtype=float)


def traces(spec: dict, name: str) -> list[dict]:
    return [t for t in spec["data"] if t.get("name") == name]


def shapes_on(spec_layout: dict, xref: str) -> list[dict]:
    return [s for s in spec_layout["shapes"] if s.get("xref") == xref]


def cells(shape: dict) -> tuple[float, float, float, float]:
    """(r0, r1, c0, c1) cell indices a rectangle shape surrounds (outlines sit a little outside)."""
    return (round(shape["y0"] + 0.5), round(shape["y1"] - 0.5), round(shape["x0"] + 0.5), round(shape["x1"] - 0.5))


def test_step_figure_worked_example_shows_numbers_window_and_filled_cells():
    padded, pads, k, out, steps = conv_case(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2)
    spec = valid(figures.conv_step_figure(padded, pads, k, out, steps, 1))
    inp, ker, res = traces(spec, "input")[0], traces(spec, "kernel")[0], traces(spec, "output")[0]
    assert np.array_equal(arr(inp["z"]), samples.WORKED_3X3)
    assert ker["text"] == [["1", "2"], ["3", "4"]]
    z = arr(res["z"])
    assert z[0, 0] == 37 and z[0, 1] == 47 and np.isnan(z[1, 0]) and np.isnan(z[1, 1])  # steps 0..1 only
    assert res["text"] == [["37", "47"], ["", ""]]
    lay = spec["layout"]
    # fixed ranges with row 0 on top
    assert lay["xaxis"]["range"] == [-0.6, 2.6] and lay["yaxis"]["range"] == [2.6, -0.6]
    assert lay["xaxis3"]["range"] == [-0.6, 1.6] and lay["yaxis3"]["range"] == [1.6, -0.6]
    # the window of step 1 (rows 0-1, cols 1-2) on the input, the cell (0, 1) on the output
    window = [cells(s) for s in shapes_on(lay, "x") if s["line"].get("color") == common.WINDOW]
    assert window == [(0, 1, 1, 2)]
    cell = [cells(s) for s in shapes_on(lay, "x3") if s["line"].get("color") == common.WINDOW]
    assert cell == [(0, 0, 1, 1)]
    assert any("Step 2 of 4: output (0, 1) = 47" in a["text"] for a in lay["annotations"])


def test_step_figure_marks_padding_cells_apart_with_a_dashed_border():
    settings = ops.ConvSettings(padding=1, padding_mode="replicate")
    padded, pads, k, out, steps = conv_case(samples.WORKED_3X3, SOBEL_X, settings)
    spec = valid(figures.conv_step_figure(padded, pads, k, out, steps, 0))
    real, pad = traces(spec, "input")[0], traces(spec, "padding")[0]
    real_z, pad_z = arr(real["z"]), arr(pad["z"])
    assert np.isnan(real_z[0]).all() and np.array_equal(real_z[1:4, 1:4], samples.WORKED_3X3)
    assert np.isnan(pad_z[1:4, 1:4]).all() and not np.isnan(pad_z[0]).any()
    assert pad["text"][0][0] == "1" and pad["text"][4][4] == "9"  # replicate padding shows its values
    assert pad["colorscale"][0][1] == common.PADDING_FILL
    border = [s for s in spec["layout"]["shapes"] if s["line"].get("dash") == "dash"]
    assert [cells(s) for s in border] == [(1, 3, 1, 3)]


def test_dilated_window_marks_every_tapped_cell():
    settings = ops.ConvSettings(dilation=2)
    padded, pads, k, out, steps = conv_case(samples.digit(3, 8), SOBEL_X, settings)
    spec = valid(figures.conv_step_figure(padded, pads, k, out, steps, 3))
    taps = [cells(s) for s in shapes_on(spec["layout"], "x") if s.get("fillcolor")]
    step = steps[3]
    assert sorted(taps) == sorted((r, r, c, c) for r in step.rows for c in step.cols)


def test_big_grids_show_colour_only_and_numbers_fit_the_cell():
    padded, pads, k, out, steps = conv_case(samples.digit(5, 28), SOBEL_X)
    spec = valid(figures.conv_step_figure(padded, pads, k, out, steps, 10))
    assert "text" not in traces(spec, "input")[0] and "text" not in traces(spec, "output")[0]
    assert "text" in traces(spec, "kernel")[0]
    assert common.show_numbers((12, 12)) and not common.show_numbers((15, 15))
    assert common.label_font_size(3, 3, 300) == 24 and common.label_font_size(14, 14, 100) == 9


@pytest.mark.parametrize(
    "value,label",
    [(37.0, "37"), (-1.5, "−1.5"), (0.3333, "0.33"), (np.nan, ""), (-np.inf, "−∞"), (2.5e6, "2.5e+06"), (-0.001, "0")],
)
def test_cell_labels_are_compact(value, label):
    assert common.fmt(value) == label


def test_activation_and_feature_map_figures():
    xs = np.linspace(-3, 3, 61)
    spec = valid(figures.activation_figure(xs, ops.activate("relu", xs), "ReLU", (-2.0, 0.0)))
    assert np.allclose(arr(spec["data"][0]["y"]), np.maximum(xs, 0))
    assert spec["data"][1]["text"] == ["ReLU(−2) = 0"]
    padded, pads, k, out, steps = conv_case(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2)
    spec = valid(figures.feature_map_figure(out, steps, 2, "After ReLU"))
    z = arr(spec["data"][0]["z"])
    assert z[1, 0] == 67 and np.isnan(z[1, 1])


def test_channels_figure_outlines_the_same_window_on_every_channel():
    rgb = samples.rgb_sample(8)
    w = np.stack([SOBEL_X, SOBEL_X.T, np.ones((3, 3)) / 9])
    s = ops.ConvSettings(padding=1)
    steps = ops.conv_steps(rgb, w, 0.5, s)
    out = ops.conv_output_from_steps(steps, (8, 8))
    partials = np.stack([ops.conv2d(rgb[None, c : c + 1], w[None, c : c + 1], None, s)[0, 0] for c in range(3)])
    spec = valid(figures.channels_figure(ops.pad(rgb, s.pads((3, 3))), s.pads((3, 3)), w, partials, out, steps, 9))
    assert np.allclose(partials.sum(axis=0) + 0.5, out)
    inputs = [k for k in spec["layout"] if k.startswith("xaxis")]
    assert len(inputs) == 10  # 3 channels × (input, kernel, partial) + output
    step = steps[9]
    for xref in ("x", "x4", "x7"):  # the three padded channel inputs
        window = [cells(sh) for sh in shapes_on(spec["layout"], xref) if sh["line"].get("color") == common.WINDOW]
        assert window == [(min(step.rows), max(step.rows), min(step.cols), max(step.cols))]


def test_filter_stack_and_im2col_figures():
    maps = np.stack([np.eye(4), -np.eye(4)])
    spec = valid(figures.filter_stack_figure(maps, ["a", "b"]))
    assert [t["name"] for t in spec["data"]] == ["a", "b"]
    cols = ops.im2col(samples.WORKED_3X3[None], (2, 2))
    w = samples.WORKED_KERNEL_2X2.reshape(1, -1)
    y = ops.conv2d_gemm(samples.WORKED_3X3[None, None], samples.WORKED_KERNEL_2X2[None, None])[0, 0].reshape(1, -1)
    spec = valid(figures.im2col_figure(w, cols, y, 1, ["(0,0)", "(0,1)", "(1,0)", "(1,1)"]))
    assert traces(spec, "Y")[0]["text"] == [["37", "47", "67", "77"]]
    x_cols = [
        cells(s) for s in spec["layout"]["shapes"] if s.get("xref") == "x" and s["line"].get("color") == common.WINDOW
    ]
    assert x_cols == [(0, 3, 1, 1)]  # column 1 of the unfolded matrix = the window of step 1


def test_pool_figure_rings_the_chosen_maximum():
    settings = ops.PoolSettings(size=3, stride=2, padding=1)
    x = samples.random_integers(6, 3)
    steps = ops.pool_steps(x, settings)
    out = ops.conv_output_from_steps(steps, ops.pool_output_shape(x.shape, settings))
    spec = valid(figures.pool_step_figure(ops.pad(x, (1, 1, 1, 1)), (1, 1, 1, 1), out, steps, 4, kind="max"))
    ring = [s for s in spec["layout"]["shapes"] if s["type"] == "circle"]
    assert [cells(s) for s in ring] == [(steps[4].argmax[0],) * 2 + (steps[4].argmax[1],) * 2]
    assert traces(spec, "padding")[0]["text"][0][0] == "−∞"
    z = arr(traces(spec, "pooled")[0]["z"])
    assert np.count_nonzero(~np.isnan(z)) == 5


def test_shift_figure_outlines_changed_cells():
    x = samples.WORKED_4X4
    settings = ops.PoolSettings()
    shifted = ops.shift_image(x, (0, 1))
    a, b = ops.pool2d(x[None, None], settings)[0, 0], ops.pool2d(shifted[None, None], settings)[0, 0]
    spec = valid(figures.shift_figure(x, shifted, a, b))
    changed = [cells(s) for s in spec["layout"]["shapes"] if s["line"].get("color") == common.CHANGED]
    assert len(changed) == int(np.count_nonzero(a != b))


def test_figure_modules_import_neither_streamlit_nor_torch():
    code = (
        "import sys, playground.figures, playground.ops.samples; "
        "print(sorted(m for m in ('streamlit', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_samples_are_in_range_repeatable_and_sized():
    for d in range(10):
        img = samples.digit(d, 14)
        assert img.shape == (14, 14) and 0 <= img.min() and img.max() == 1.0
        assert img[:2].sum() == 0 and img[:, :2].sum() == 0  # centred with a border, like MNIST
    for name in samples.SHAPES:
        img = samples.shape(name, 8)
        assert img.shape == (8, 8) and {img.min(), img.max()} == {0.0, 1.0}
    assert np.array_equal(samples.random_image(10, 3), samples.random_image(10, 3))
    assert not np.array_equal(samples.random_image(10, 3), samples.random_image(10, 4))
    ints = samples.random_integers(6, 2)
    assert ints.dtype == np.float64 and set(np.unique(ints)) <= set(range(10))
    rgb = samples.rgb_sample(8)
    assert rgb.shape == (3, 8, 8) and all(rgb[c].max() == 1.0 for c in range(3))
    assert np.array_equal(samples.WORKED_4X4, np.arange(1, 17).reshape(4, 4))
    with pytest.raises(ValueError):
        samples.digit(3, 40)


def test_area_downsample_averages_pixel_blocks_and_keeps_aspect():
    img = np.kron(np.array([[0.0, 1.0], [0.5, 0.25]]), np.ones((10, 10)))
    assert np.allclose(samples.area_downsample(img, (2, 2)), [[0, 1], [0.5, 0.25]])
    assert samples.area_downsample(np.zeros((280, 140)), 28).shape == (28, 14)
    assert samples.area_downsample(np.zeros((5, 5)), 28).shape == (5, 5)  # never enlarges
