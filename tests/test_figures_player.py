"""The Play view's player data: every label, colour, window and arithmetic line it paints comes from
the engine's arrays and step records, with colours as Plotly computes them for the stepping figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from plotly.colors import sample_colorscale

from playground import figures, ops
from playground.figures import common, player
from playground.ops import kernels, samples

SOBEL_X = kernels.PRESETS["Sobel x"].array


def case(x: np.ndarray, k: np.ndarray, settings: ops.ConvSettings = ops.ConvSettings(), bias: float = 0.0):
    pads = settings.pads(k.shape)
    steps = ops.conv_steps(x, k, bias, settings)
    out = ops.conv_output_from_steps(steps, ops.conv_output_shape(x.shape, k.shape, settings))
    return ops.pad(x, pads, settings.padding_mode), pads, steps[0].kernel[0], out, steps


def hex_of(plotly_rgb: str) -> str:
    r, g, b = (int(round(float(v))) for v in plotly_rgb[plotly_rgb.index("(") + 1 : -1].split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


@pytest.mark.parametrize("t", [0.0, 0.05, 0.25, 0.5, 0.61, 0.9, 1.0])
def test_colours_match_plotlys_own_colour_scale(t):
    assert player.colours(np.array([[t]]), common.DIVERGING, 0.0, 1.0)[0][0] == hex_of(
        sample_colorscale(common.DIVERGING, [t])[0]
    )
    assert player.colours(np.array([[-3.0, 9.0, np.nan]]), common.GREYS, 0.0, 1.0)[0] == [
        "#000000",
        "#ffffff",
        "#808080",
    ]


def test_every_number_and_line_is_the_engines():
    rng = np.random.default_rng(3)
    x = rng.integers(-4, 5, size=(6, 7)).astype(float)
    k = rng.normal(size=(3, 2)).round(2)
    settings = ops.ConvSettings(stride=(2, 1), padding=1, dilation=(1, 2))
    padded, pads, applied, out, steps = case(x, k, settings, bias=0.5)
    data = figures.conv_player_data(padded, pads, applied, out, steps, start=3)
    json.dumps(data)  # what the component receives
    assert data["input"]["labels"] == [[common.fmt(v) for v in row] for row in padded]
    assert data["kernel"]["labels"] == [[common.fmt(v) for v in row] for row in applied]
    assert data["output"]["labels"] == [[common.fmt(v) for v in row] for row in out]
    assert [s["text"] for s in data["steps"]] == [
        f"Output ({s.out_pos[0]}, {s.out_pos[1]}) = {s.arithmetic()}" for s in steps
    ]
    assert [(s["pos"], s["rows"], s["cols"]) for s in data["steps"]] == [
        (list(s.out_pos), list(s.rows), list(s.cols)) for s in steps
    ]
    assert any(len(set(np.diff(s["cols"]))) == 1 and np.diff(s["cols"])[0] == 2 for s in data["steps"])  # dilated
    assert data["start"] == 3 and data["input"]["padding"] == list(pads)
    assert (
        data["input"]["title"] == "Padded input 8×9"
        and data["output"]["title"] == f"Output {out.shape[0]}×{out.shape[1]}"
    )
    fills = np.array(data["input"]["fills"])
    top, bottom, left, right = pads
    inner = np.zeros(padded.shape, bool)
    inner[top : padded.shape[0] - bottom, left : padded.shape[1] - right] = True
    assert (fills[~inner] == common.PADDING_FILL).all() and not (fills[inner] == common.PADDING_FILL).any()
    assert set(fills[inner][x.ravel() == x.min()]) == {"#000000"} and set(fills[inner][x.ravel() == x.max()]) == {
        "#ffffff"
    }
    lo, hi = common.symmetric_range(out)
    assert data["output"]["fills"] == player.colours(out, common.DIVERGING, lo, hi)
    inks = np.array(data["output"]["inks"])
    assert set(inks.ravel()) <= {player.DARK_TEXT, player.LIGHT_TEXT}
    assert data["style"]["window"] == common.WINDOW and data["style"]["empty"] == common.EMPTY_SLOT


def test_start_is_clamped_and_an_empty_run_is_refused():
    padded, pads, applied, out, steps = case(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2)
    assert figures.conv_player_data(padded, pads, applied, out, steps, start=99)["start"] == 3
    assert figures.conv_player_data(padded, pads, applied, out, steps, start=-5)["start"] == 0
    with pytest.raises(ValueError, match="nothing to play"):
        figures.conv_player_data(padded, pads, applied, out, [])


def test_a_28x28_hand_over_stays_small_for_a_slow_network():
    padded, pads, applied, out, steps = case(samples.digit(2, 28), SOBEL_X, ops.ConvSettings(padding=1))
    data = figures.conv_player_data(padded, pads, applied, out, steps)
    assert len(data["steps"]) == 784
    assert len(json.dumps(data)) < 400_000
