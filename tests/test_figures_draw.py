"""The Draw page's figures: valid Plotly specs that carry the engine's numbers unchanged."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from playground.figures import draw as fig
from playground.figures.style import _array


def test_probability_bars_show_the_ten_probabilities():
    p = np.array([0.01, 0.02, 0.6, 0.05, 0.02, 0.1, 0.05, 0.05, 0.05, 0.05])
    spec = go.Figure(fig.probability_figure(p, 2).to_dict()).to_dict()  # validates in full
    bar = spec["data"][0]
    assert np.allclose(np.array(bar["y"], dtype=float), p) and list(bar["x"]) == [str(k) for k in range(10)]
    assert bar["marker"]["color"][2] != bar["marker"]["color"][0] and bar["text"][2] == "60.0%"


def test_map_bytes_scale_each_map_to_its_own_peak_with_zero_at_128():
    maps = np.stack([np.array([[-2.0, 0.0], [1.0, 2.0]]), np.zeros((2, 2)), np.array([[0.5, 0.25], [0, 0]])])
    b = fig.map_bytes(maps)
    assert b.dtype == np.uint8 and b.min() >= 1 and fig.GAP == 0  # byte 0 is only ever a gap
    assert b[0].tolist() == [[1, 128], [192, 255]] and (b[1] == 128).all() and b[2].tolist() == [[255, 192], [128, 128]]


@pytest.mark.parametrize("channels,h,w", [(16, 28, 28), (32, 14, 14), (32, 7, 7), (1, 5, 5), (3, 40, 300)])
def test_mosaic_places_every_map_and_no_half_empty_rows(channels, h, w):
    rows, cols = fig.tile_layout(channels, h, w)
    assert rows * cols >= channels and (rows - 1) * cols < channels and cols - 1 < channels / rows + 1
    maps = np.arange(channels * h * w).reshape(channels, h, w) % 250 + 1  # never the gap byte
    grid = fig.mosaic(maps.astype(np.uint8), rows, cols)
    for i in range(channels):
        r, q = divmod(i, cols)
        assert np.array_equal(grid[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w], maps[i])
    assert (grid == fig.GAP).sum() == grid.size - channels * h * w


def drawn(spec: dict) -> np.ndarray:
    """The overview as the browser draws it: every image trace decoded, enlarged dx times, put at its x0/y0
    on a white page the size of the axes."""
    rows = round(spec["layout"]["yaxis"]["range"][0] + 0.5)
    cols = round(spec["layout"]["xaxis"]["range"][1] + 0.5)
    page = np.full((rows, cols, 3), 255, np.uint8)
    for t in (t for t in spec["data"] if t["type"] == "image"):
        png = base64.b64decode(t["source"].split(",", 1)[1])
        k = int(t["dx"])
        assert t["dy"] == k
        big = np.kron(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), np.ones((k, k, 1), np.uint8))
        r0, c0 = round(t["y0"] - (k - 1) / 2), round(t["x0"] - (k - 1) / 2)
        page[r0 : r0 + big.shape[0], c0 : c0 + big.shape[1]] = big
    return page


def test_overview_is_a_picture_per_layer_of_every_map_with_a_click_target_per_map():
    rng = np.random.default_rng(0)
    layers = [("conv1", (4, 6, 6), rng.normal(size=(4, 6, 6))), ("pool1", (4, 3, 3), rng.normal(size=(4, 3, 3)))]
    spec = go.Figure(fig.overview_figure(layers, selected=(1, 2)).to_dict()).to_dict()  # validates in full
    images = [t for t in spec["data"] if t["type"] == "image"]
    targets = [t for t in spec["data"] if t["type"] == "scatter"]
    assert len(images) == 2 and len(targets) == 2
    assert [t["dx"] for t in images] == [4, 8]  # 6×6 ×4, 3×3 ×8: every map about 24 cells across
    for t, (_, (c, h, w), _) in zip(images, layers):  # one pixel per value: the browser enlarges
        size = Image.open(io.BytesIO(base64.b64decode(t["source"].split(",", 1)[1]))).size
        rows, cols = fig.tile_layout(c, h * t["dx"], w * t["dx"])
        assert size == (cols * (w + 1) - 1, rows * (h + 1) - 1)  # the tiles, 1-pixel gaps between them
    assert targets[1]["hovertemplate"].startswith("pool1 map %{customdata[2]} of 4")
    dots = {k: [v for t in targets for v in t[k]] for k in ("x", "y", "customdata")}  # one trace per layer
    assert [a["text"] for a in spec["layout"]["annotations"]] == [
        "<b>conv1</b> · 4 × 6 × 6",
        "<b>pool1</b> · 4 × 3 × 3",
    ]
    assert [list(c) for c in dots["customdata"]] == [[0, c, c + 1] for c in range(4)] + [
        [1, c, c + 1] for c in range(4)
    ]
    # the drawn overview holds every map's bytes, in palette colours, where the click targets say
    rgb = drawn(spec)
    for (name, (c, h, w), maps), li in zip(layers, range(2)):
        k = round(fig.MIN_TILE / h)
        want = fig.palette_lut()[np.kron(fig.map_bytes(maps), np.ones((1, k, k), np.uint8))]
        h, w = h * k, w * k
        cols = fig.tile_layout(c, h, w)[1]
        for ch in range(c):
            i = 4 * li + ch
            r0, c0 = int(dots["y"][i] - (h - 1) / 2), int(dots["x"][i] - (w - 1) / 2)
            assert np.array_equal(rgb[r0 : r0 + h, c0 : c0 + w], want[ch]), (name, ch)
            if (ch + 1) % cols:  # a gap of k cells, light grey, before the next tile
                assert (rgb[r0 : r0 + h, c0 + w : c0 + w + k] == fig.palette_lut()[fig.GAP]).all(), (name, ch)
    # the layout is kept per model; the next stroke's maps fill the same places with their own bytes
    flipped = drawn(fig.overview_figure([(n, s, -m) for n, s, m in layers]).to_dict())
    r0, c0 = int(dots["y"][0] - 11.5), int(dots["x"][0] - 11.5)
    want = fig.palette_lut()[np.kron(fig.map_bytes(-layers[0][2]), np.ones((1, 4, 4), np.uint8))][0]
    assert np.array_equal(flipped[r0 : r0 + 24, c0 : c0 + 24], want) and not np.array_equal(flipped, rgb)
    # pool1 map 3 is outlined (orange over black) around its tile
    outline = spec["layout"]["shapes"][1]
    x, y = dots["x"][6], dots["y"][6]
    assert outline["x0"] < x < outline["x1"] and outline["y0"] < y < outline["y1"]
    assert outline["x1"] - outline["x0"] == pytest.approx(3 * 8 + 2 * 0.06)


def test_large_map_carries_the_maps_values_and_a_click_target_per_cell_in_binary_arrays():
    from playground.figures.style import _array

    rng = np.random.default_rng(1)
    values = rng.normal(size=(6, 9)).astype(np.float32)
    spec = go.Figure(fig.large_map_figure(values, "conv1 map 1", cell=(2, 7)).to_dict()).to_dict()  # validates
    heat, cells = spec["data"]
    np.testing.assert_array_equal(_array(heat["z"]), values)
    rows, cols = np.indices(values.shape)
    np.testing.assert_array_equal(_array(cells["x"]), cols.ravel())  # a click sends the cell's x = column
    np.testing.assert_array_equal(_array(cells["y"]), rows.ravel())  # and y = row
    np.testing.assert_array_equal(_array(cells["customdata"]), values.ravel())  # the value on hover
    assert "value %{customdata:.4g}" in cells["hovertemplate"]
    box = next(s for s in spec["layout"]["shapes"] if s.get("line", {}).get("color") == "#E69F00")
    assert (round(box["y0"] + 0.5), round(box["x0"] + 0.5)) == (2, 7)
    text = fig.large_map_figure(np.zeros((28, 28), np.float32), "t").to_json()
    assert len(text) < 16_000  # 38 KB when the arrays went as JSON lists


def test_palette_is_white_at_zero_grey_for_gaps():
    assert tuple(fig.palette_lut()[128]) == (247, 247, 247) and tuple(fig.palette_lut()[fig.GAP]) == (229, 231, 235)
    assert (
        fig.palette_lut()[255][0] > fig.palette_lut()[255][2] and fig.palette_lut()[1][2] > fig.palette_lut()[1][0]
    )  # red +, blue −


def test_kernels_use_a_symmetric_scale_and_channel_zero():
    """The one kernels picture (Draw page and Train page): channel 0 of each filter, zero in the middle."""
    k = np.zeros((4, 2, 3, 3))
    k[0, 0, 1, 1], k[1, 0, 0, 0], k[2, 1, 2, 2] = 0.5, -2.0, 9.0  # channel 1 is not shown
    raw = fig.kernels_figure(k, per_row=2).to_dict()
    go.Figure(raw)
    hm = raw["data"][0]
    assert (hm["zmin"], hm["zmax"]) == (-2.0, 2.0)
    z = _array(hm["z"])  # binary on the wire
    assert np.nanmax(z) == 0.5 and np.nanmin(z) == -2.0 and np.count_nonzero(~np.isnan(z)) == 4 * 9


def test_kernels_figure_keeps_every_weight():
    k = np.random.default_rng(1).normal(size=(6, 1, 3, 3))
    raw = fig.kernels_figure(k, per_row=3).to_dict()
    go.Figure(raw)  # a valid spec
    z = _array(raw["data"][0]["z"])
    shown = sorted(v for v in z.ravel() if not np.isnan(v))
    assert np.allclose(shown, sorted(k.ravel()))
    # each kernel's number sits on its tile's top edge, in a band of empty rows at least 15 px high
    # (at 1024 px the numbers used to cover the top row of the kernels)
    px = 350 / z.shape[1]
    for i, note in enumerate(raw["layout"]["annotations"]):
        r, c = int(note["y"] + 0.5), int(round(note["x"]))
        assert note["yanchor"] == "bottom" and not np.isnan(z[r, c]) and np.isnan(z[r - 1, c]), i
        band = r - (max((j for j in range(r) if not np.isnan(z[j, c])), default=-2) + 1)
        assert band * px >= 15, (i, band, px)


def test_pictures_are_square_with_hard_edges():
    thin = np.zeros((20, 4))
    thin[:, 1:3] = 1.0
    up = fig.square(thin)
    assert up.shape == (20, 20) and up.dtype == np.uint8 and set(np.unique(up)) == {0, 255}
    assert (up[:, 9:11] == 255).all() and up[:, :9].max() == 0  # centred, padded with black
    assert fig.square(np.zeros((0, 0))).shape == (1, 1)  # an empty stage still shows
    over = fig.saliency_overlay(np.eye(28), np.eye(28)[::-1])
    assert over.shape == (28, 28, 3) and over.dtype == np.uint8
    assert tuple(over[0, 0]) == (140, 140, 140)  # ink, no saliency: grey
    assert tuple(over[0, 27]) == (255, 255, 0)  # no ink, full saliency: yellow
    assert tuple(over[10, 15]) == (0, 0, 0)  # neither: black
    for picture in (up, over):  # inline PNGs that decode to the same pixels
        url = fig.png_data_url(picture)
        back = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
        assert url.startswith("data:image/png;base64,") and np.array_equal(back, picture)


def test_colour_kernels_are_patches_stretched_per_filter_with_every_weight_in_the_hover():
    k = np.random.default_rng(2).normal(size=(5, 3, 3, 3))
    k[4] = 0.25  # a flat filter: mid-grey, not a division by zero
    raw = fig.colour_kernels_figure(k, per_row=3).to_dict()
    go.Figure(raw)  # a valid spec
    (trace,) = raw["data"]
    z = np.array(trace["z"], dtype=float)
    assert trace["type"] == "image" and z.shape[-1] == 3
    tiles = [note for note in raw["layout"]["annotations"]]
    assert [t["text"] for t in tiles] == ["1", "2", "3", "4", "5"]
    for i, note in enumerate(tiles):
        top, left = int(note["y"] + 0.5), int(round(note["x"])) - 1  # the number sits over the tile's middle
        patch = z[top : top + 3, left : left + 3].transpose(2, 0, 1)  # (3, KH, KW)
        w = k[i]
        want = np.full_like(w, 127.5) if np.ptp(w) == 0 else (w - w.min()) / np.ptp(w) * 255
        np.testing.assert_allclose(patch, np.rint(want), atol=0.51)
        text = trace["hovertext"][top + 1][left + 2]
        assert (
            text
            == f"filter {i + 1}, row 1, column 2: red {w[0, 1, 2]:.3g}, green {w[1, 1, 2]:.3g}, blue {w[2, 1, 2]:.3g}"
        )
    with pytest.raises(ValueError, match="3 input channels"):
        fig.colour_kernels_figure(k[:, :2])


def test_per_channel_kernels_show_the_chosen_channel_under_a_title():
    k = np.random.default_rng(3).normal(size=(4, 3, 3, 3))
    raw = fig.kernels_figure(k, per_row=2, channel=2, title="blue channel").to_dict()
    z = _array(raw["data"][0]["z"])
    assert np.allclose(sorted(v for v in z.ravel() if not np.isnan(v)), sorted(k[:, 2].ravel()))
    assert "blue channel" in [a["text"] for a in raw["layout"]["annotations"]]
