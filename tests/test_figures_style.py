"""How figures are shown (figures.style): palettes that keep zero grey and the order of values readable
for colour-blind viewers and in greyscale, the presenter's restyling, and a figure's heatmaps as the
engine's numbers."""

from __future__ import annotations

import copy

import numpy as np
import plotly.graph_objects as go
import pytest

from playground import figures, ops
from playground.figures import common, player, style
from playground.figures import draw as draw_fig
from playground.ops import kernels, samples

# Machado et al. (2009) at full severity, applied to linear RGB
DICHROMATS = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


def linear(rgb255: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb255, float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(rgb255: np.ndarray) -> np.ndarray:
    return linear(rgb255) @ np.array([0.2126, 0.7152, 0.0722])


def conv_case(padding: int = 1):
    x, k = samples.WORKED_3X3, kernels.PRESETS["Sobel x"].array
    s = ops.ConvSettings(padding=padding)
    pads = s.pads(k.shape)
    steps = ops.conv_steps(x, k, 0.0, s)
    out = ops.conv_output_from_steps(steps, ops.conv_output_shape(x.shape, k.shape, s))
    return ops.pad(x, pads, "zeros"), pads, steps[0].kernel[0], out, steps


@pytest.mark.parametrize("key", [k for k in style.PALETTES if k != "standard"])
def test_projector_palettes_keep_zero_grey_and_the_order_readable_in_every_vision(key):
    pal = style.PALETTES[key]
    t = np.linspace(0, 1, 101)
    signed = common.scale_rgb(t, pal.signed)
    zero = signed[50]
    assert zero[0] == zero[1] == zero[2] and 120 <= zero[0] <= 180  # mid-grey, not white
    for scale in (pal.signed, pal.magnitude, pal.counts):
        lum = luminance(common.scale_rgb(t, scale))
        assert (
            np.diff(lum) > 0
        ).all()  # brighter with every step: the order survives greyscale and a washed-out screen
    for name, m in DICHROMATS.items():
        seen = linear(signed) @ m.T  # what a dichromat sees, in linear RGB
        assert np.linalg.norm(seen[0] - seen[-1]) > 0.5, name  # the two signs stay far apart
        assert np.linalg.norm(seen[25] - seen[75]) > 0.15, name  # so do −½ and +½


def test_the_standard_look_is_the_figure_itself_and_restyling_never_changes_the_original():
    fig = figures.conv_step_figure(*conv_case(), 2)
    assert style.restyle(fig, style.Look()) is fig
    before = copy.deepcopy(fig.to_dict())
    shown = style.restyle(fig, style.Look(style.PALETTES["viridis"], 20, 440))
    assert fig.to_dict().keys() == before.keys() and fig.to_dict()["layout"]["height"] == before["layout"]["height"]
    assert [t["colorscale"] for t in fig.to_dict()["data"]] == [t["colorscale"] for t in before["data"]]
    spec = shown.to_dict()
    go.Figure(spec)  # still a valid figure
    scales = {t["name"]: t["colorscale"] for t in spec["data"]}
    assert scales["input"] == style.VIRIDIS and scales["kernel"] == scales["output"] == style.BLUE_GREY_YELLOW
    assert scales["padding"] == [[0, common.PADDING_FILL], [1, common.PADDING_FILL]]  # not one of the value scales
    assert spec["layout"]["height"] == 440
    assert all(t["textfont"]["size"] >= 20 for t in spec["data"] if "textfont" in t)
    assert all(a["font"]["size"] >= 20 for a in spec["layout"]["annotations"])
    assert spec["layout"]["margin"]["t"] > before["layout"]["margin"]["t"]  # the larger step title is not cut


def test_a_validated_plotly_figure_is_recoloured_too():
    fig = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], colorscale=common.BLUES))  # Plotly turns the lists into tuples
    spec = style.restyle(fig, style.Look(style.PALETTES["cividis"])).to_dict()
    assert spec["data"][0]["colorscale"] == style.CIVIDIS


def test_number_grids_are_the_engines_arrays_with_the_padding_merged_into_the_input():
    padded, pads, kernel, out, steps = conv_case(padding=1)
    fig = figures.conv_step_figure(padded, pads, kernel, out, steps, 4)
    grids = style.number_grids(fig)
    assert [g.title for g in grids] == ["Padded input 5×5", "Kernel 3×3", "Output 3×3"]
    np.testing.assert_array_equal(grids[0].values, padded)
    np.testing.assert_array_equal(grids[1].values, kernel)
    done = np.full(out.shape, np.nan)
    for s in steps[:5]:
        done[s.out_pos] = s.result
    np.testing.assert_array_equal(grids[2].values, done)  # computed cells so far, the rest blank


def test_player_and_feature_map_colours_follow_the_palette():
    padded, pads, kernel, out, steps = conv_case()
    pal = style.PALETTES["cividis"]
    data = figures.conv_player_data(padded, pads, kernel, out, steps, palette=pal)
    assert data["output"]["fills"] == player.colours(out, pal.signed, *common.symmetric_range(out))
    assert data["kernel"]["fills"] == player.colours(kernel, pal.signed, *common.symmetric_range(kernel))
    zero = draw_fig.palette_lut(pal.signed)[128]
    assert zero[0] == zero[1] == zero[2] != 247  # the mosaics' zero is the palette's grey, not white
    maps = np.linspace(-1, 1, 16).reshape(1, 4, 4)
    plain = draw_fig.overview_figure([("conv1", (1, 4, 4), maps)])
    grey = draw_fig.overview_figure([("conv1", (1, 4, 4), maps)], scale=pal.signed)
    assert plain.to_dict()["data"][0]["source"] != grey.to_dict()["data"][0]["source"]
