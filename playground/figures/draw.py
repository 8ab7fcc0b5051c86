"""Figures of the Draw & Predict page: the ten probabilities, every layer's feature maps as one
clickable overview, a map opened large beside its kernel, the first-layer kernels, and the pictures
(preprocessing stages, saliency overlay) as small RGB arrays.

Numpy in, plotly dicts / arrays out. The overview of all feature maps (each map scaled to its own
largest magnitude, one byte per cell) travels as a single PNG picture under invisible click targets:
about 60 KB per stroke for the shipped model's 10 layers, and one image for the browser to draw.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from playground.figures.canvas import Canvas, PrebuiltFigure, grid_ranges
from playground.figures.common import CHOSEN, DIVERGING, FONT, GREYS, PLAIN, WINDOW, scale_rgb, symmetric_range
from playground.figures.conv import feature_map_figure, feature_map_spec
from playground.figures.shapes import outline, rect

GAP = 0  # byte value of the gaps between tiles (drawn light grey)
MOSAIC_CELLS = 240  # about this many cells across each layer's mosaic
CELL_PX = 2.35  # screen pixels per feature-map cell in the overview (its column is ~570 px wide)
LABEL_PX = 40  # room above each layer for its name and shape, enough at 150 % zoom (the figure shrinks, the font not)
MIN_TILE = 24  # cells: a deep layer's small maps are enlarged to about this size (14×14 → 28, 7×7 → 21)
BAR = "#9ca3af"  # the other nine probabilities


def probability_figure(
    probabilities: Sequence[float], label: int, unsure: bool = False, names: Sequence[str] | None = None
) -> go.Figure:
    """Bar chart of the softmax probabilities, the predicted class highlighted, the values printed;
    ``names`` label the bars (default: the class numbers)."""
    p = np.asarray(probabilities, dtype=np.float64)
    names = [str(k) for k in range(len(p))] if names is None else list(names)
    colors = [(WINDOW if unsure else CHOSEN) if k == label else BAR for k in range(len(p))]
    spec = {
        "data": [
            dict(
                type="bar",
                x=names,
                y=p.tolist(),
                marker=dict(color=colors),
                text=[f"{v:.1%}" if v >= 0.02 else "" for v in p],
                textposition="outside",
                textfont=dict(size=14),
                constraintext="none",
                cliponaxis=False,
                hovertemplate="%{x}: %{y:.2%}<extra></extra>",
                name="probability",
            )
        ],
        "layout": dict(
            height=260,
            margin=dict(l=40, r=10, t=24, b=36),
            **PLAIN,
            showlegend=False,
            xaxis=dict(
                title=dict(text="class" if names != [str(k) for k in range(len(p))] else "digit"),
                type="category",
                dtick=1,  # every class labelled: in a narrow panel Plotly would label every other one
                fixedrange=True,
            ),
            yaxis=dict(range=[0, 1.12], tickformat=".0%", fixedrange=True, gridcolor="#e5e7eb"),
        ),
    }
    return PrebuiltFigure(spec)


def map_bytes(maps: np.ndarray) -> np.ndarray:
    """(C, H, W) maps -> uint8 1..255 with 128 = 0, each map scaled by its own largest magnitude (byte 0 is
    the gap between tiles)."""
    m = np.asarray(maps, dtype=np.float64)
    peak = np.abs(m).reshape(len(m), -1).max(axis=1)
    peak[peak == 0] = 1.0
    return np.rint(128 + 127 * m / peak[:, None, None]).astype(np.uint8)


def tile_layout(channels: int, height: int, width: int, across: int = MOSAIC_CELLS) -> tuple[int, int]:
    """(rows, columns) of tiles for ``channels`` maps of height×width in a mosaic about ``across`` cells wide."""
    cols = max(1, min(channels, across // (width + 1)))
    rows = -(-channels // cols)
    return rows, -(-channels // rows)  # as even as possible: no half-empty last row


def mosaic(maps: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Tile (C, H, W) maps row-major into one (rows·(H+1)−1, cols·(W+1)−1) grid with GAP between tiles."""
    c, h, w = maps.shape
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), GAP, maps.dtype)
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[i]
    return out


@lru_cache(maxsize=8)
def _lut(scale: tuple[tuple[float, str], ...]) -> np.ndarray:
    """(256, 3) uint8: byte 0 the gap grey, bytes 1..255 the diverging ``scale`` (128 = zero)."""
    out = scale_rgb((np.arange(256) - 1) / 254, scale)
    out[GAP] = (229, 231, 235)
    return np.rint(out).astype(np.uint8)


def palette_lut(scale: Sequence[Sequence] = DIVERGING) -> np.ndarray:
    """The byte -> colour table of the mosaics for a signed colour ``scale``."""
    return _lut(tuple((float(p), str(c)) for p, c in scale))


def png_data_url(pixels: np.ndarray, lut: np.ndarray | None = None) -> str:
    """A picture at one pixel per value as a PNG data URL: (H, W) uint8 grey, (H, W, 3) uint8 RGB, or (H, W)
    bytes with their (256, 3) colour table ``lut`` (a palette PNG: a third of RGB's size, ten times faster).
    The page enlarges it with hard edges (Plotly's image trace; CSS ``image-rendering: pixelated`` for
    ``st.image``), so a 28×28 picture travels as a few hundred bytes inside the page's message, not as an
    enlarged file the browser must fetch on every stroke."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    picture = Image.fromarray(a, mode="L" if a.ndim == 2 else "RGB")
    if lut is not None:
        picture.putpalette(np.ascontiguousarray(lut, dtype=np.uint8).tobytes())  # the bytes become indexes
    buf = io.BytesIO()
    picture.save(buf, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass(frozen=True)
class _Layer:
    """Where one layer's maps go in the overview: its picture at one pixel per value, drawn ``k`` times
    enlarged with its top-left corner at row ``top``."""

    index: np.ndarray  # (H, W) int32 of the picture: 1 + the map value's position, or GAP
    top: int  # overview row of the picture's first row
    k: int  # overview cells per value: small maps are enlarged (14×14 → 28, 7×7 → 21)
    shape: tuple[int, int, int]  # (maps, height, width) of one map, in values
    cols: int  # tiles per row


@dataclass(frozen=True)
class _Overview:
    """Everything of the overview that depends only on the layers' names and shapes (the same for every
    stroke of a model): where each map's values go, the click targets and the titles."""

    layers: tuple[_Layer, ...]
    targets: tuple[dict, ...]  # per layer: an invisible marker trace, one marker per map
    annotations: tuple[dict, ...]
    rows: int  # overview height in cells
    width: int  # overview width in cells


@lru_cache(maxsize=16)
def _overview_plan(layers: tuple[tuple[str, tuple[int, ...]], ...]) -> _Overview:
    band = int(round(LABEL_PX / CELL_PX))  # rows of white above each mosaic for its title
    placed, targets, annotations, top, width = [], [], [], 0, 1
    for li, (name, shape) in enumerate(layers):
        c, mh, mw = shape[0], shape[1], shape[2]
        k = max(1, round(MIN_TILE / max(mh, mw)))  # whole-cell enlargement: every value stays one block
        rows, cols = tile_layout(c, mh * k, mw * k)
        index = mosaic(1 + np.arange(c * mh * mw, dtype=np.int32).reshape(c, mh, mw), rows, cols)
        annotations.append(
            dict(
                text=f"<b>{name}</b> · {' × '.join(map(str, shape))}",
                x=-0.5,
                y=top + band - 1.5,
                xref="x",
                yref="y",
                xanchor="left",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=15, color=FONT["color"]),
            )
        )
        top += band
        index.setflags(write=False)
        placed.append(_Layer(index, top, k, (c, mh, mw), cols))
        pitch_y, pitch_x, h, w = (mh + 1) * k, (mw + 1) * k, mh * k, mw * k
        places = [divmod(ch, cols) for ch in range(c)]
        targets.append(
            dict(
                type="scatter",
                mode="markers",
                x=[q * pitch_x + (w - 1) / 2 for _, q in places],
                y=[top + r * pitch_y + (h - 1) / 2 for r, _ in places],
                customdata=[[li, ch, ch + 1] for ch in range(c)],  # a click sends back [layer, map]
                hovertemplate=f"{name} map %{{customdata[2]}} of {c}: click to open it<extra></extra>",
                name="maps",
                marker=dict(size=max(8.0, 0.9 * min(h, w) * CELL_PX), symbol="square", opacity=0.0),  # the whole tile
            )
        )
        top += index.shape[0] * k
        width = max(width, index.shape[1] * k)
    return _Overview(tuple(placed), tuple(targets), tuple(annotations), top, width)


def overview_figure(
    layers: Sequence[tuple[str, tuple[int, ...], np.ndarray]],
    selected: tuple[int, int] | None = None,
    scale: Sequence[Sequence] = DIVERGING,
) -> go.Figure:
    """Every layer's maps, one mosaic per layer from top to bottom, titled "conv1 · 16 × 28 × 28".

    ``layers``: (name, (C, H, W), maps). Each layer's mosaic is one palette PNG at one pixel per value,
    which the browser enlarges with hard edges (cheap to send and to draw, even for a few hundred maps);
    each tile carries ``customdata = [layer index, channel, map number]`` on an invisible marker at its
    centre (one marker trace per layer), so a click selects it. ``selected`` gets the orange outline. The
    layout is computed once per model (the layers' names and shapes); a stroke only fills in the values.
    """
    plan = _overview_plan(tuple((str(name), tuple(int(n) for n in shape)) for name, shape, _ in layers))
    lut, gap = palette_lut(scale), np.array([GAP], np.uint8)
    pictures = []
    for lay, (_, shape, maps) in zip(plan.layers, layers):
        values = np.concatenate([gap, map_bytes(np.reshape(maps, shape)).ravel()])
        pictures.append(
            dict(
                type="image",
                source=png_data_url(values[lay.index], lut),
                x0=(lay.k - 1) / 2,  # the centre of the first value's k×k block
                y0=lay.top + (lay.k - 1) / 2,
                dx=lay.k,
                dy=lay.k,
                hoverinfo="skip",
                name="feature maps",
            )
        )
    shapes = []
    if selected is not None and 0 <= selected[0] < len(plan.layers):
        lay = plan.layers[selected[0]]
        c, mh, mw = lay.shape
        if 0 <= selected[1] < c:
            r, q = divmod(selected[1], lay.cols)
            r0, c0 = lay.top + r * (mh + 1) * lay.k, q * (mw + 1) * lay.k
            shapes += outline(("x", "y"), r0, r0 + mh * lay.k - 1, c0, c0 + mw * lay.k - 1, width=3)
    layout = picture_layout(plan.width, plan.rows, int(plan.rows * CELL_PX) + 10, list(plan.annotations), shapes)
    return PrebuiltFigure({"data": [*pictures, *plan.targets], "layout": layout})


def picture_layout(width: int, rows: int, height_px: int, annotations: list[dict], shapes: list[dict]) -> dict:
    """The layout of a figure that is one enlarged picture of ``rows`` × ``width`` values (axes hidden, one
    value one square, top-left anchored) whose markers are clicked to pick something: the feature-map
    overview, the class room's drawings."""
    axis = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="", fixedrange=True, showline=False)
    return dict(
        height=height_px,
        margin=dict(l=4, r=4, t=4, b=4),
        **PLAIN,
        showlegend=False,
        xaxis=dict(axis, range=[-0.5, width - 0.5], constrain="domain", constraintoward="left"),
        yaxis=dict(
            axis, range=[rows - 0.5, -0.5], scaleanchor="x", scaleratio=1, constrain="domain", constraintoward="top"
        ),
        annotations=annotations,
        shapes=shapes,
        dragmode=False,
        clickmode="event+select",
        hovermode="closest",
    )


@dataclass(frozen=True)
class _Tiles:
    """Where F kernels of KH×KW go in a panel: rows × cols tiles, a band above each row for the numbers."""

    rows: int
    cols: int
    band: int
    pitch: int
    scale: float  # px per cell

    @classmethod
    def of(cls, f: int, kh: int, kw: int, per_row: int, width_px: int) -> _Tiles:
        rows, cols = tile_layout(f, kh, kw, across=per_row * (kw + 1))
        scale = width_px / (cols * (kw + 1) - 1)
        band = int(np.ceil(15 / scale))  # cells above each row of kernels for their numbers (12 px type)
        return cls(rows, cols, band, band + kh + 1, scale)

    def corner(self, i: int, kw: int) -> tuple[int, int]:
        """(row, column) of kernel i's top-left cell."""
        r, q = divmod(i, self.cols)
        return r * self.pitch + self.band, q * (kw + 1)

    def canvas(self, f: int, kh: int, kw: int, title: str | None) -> tuple[Canvas, tuple[str, str], tuple[int, int]]:
        shape = (self.rows * self.pitch - 1, self.cols * (kw + 1) - 1)
        canvas = Canvas(height=int(shape[0] * self.scale + 24 + (24 if title else 0)))
        xr, yr = grid_ranges(*shape)
        refs = canvas.axes((0, 1), (0, 1), x_range=xr, y_range=yr, title=title)
        for i in range(f):
            top, left = self.corner(i, kw)
            canvas.annotations.append(
                dict(
                    text=f"{i + 1}",
                    x=left + (kw - 1) / 2,
                    y=top - 0.5,  # the tile's top edge: the number sits on it, in the band
                    xref=refs[0],
                    yref=refs[1],
                    yanchor="bottom",
                    showarrow=False,
                    font=dict(size=12),
                )
            )
        return canvas, refs, shape


def kernels_figure(
    kernels: np.ndarray,
    per_row: int = 8,
    width_px: int = 350,
    channel: int = 0,
    title: str | None = None,
    all_channels_scale: bool = False,
) -> go.Figure:
    """First-layer kernels (F, C, KH, KW) side by side on one diverging scale (input channel ``channel`` of
    each), numbered in a band of their own above each row; hover gives every weight (open a map to see its
    kernel's numbers). Sized for a panel ``width_px`` wide. ``all_channels_scale``: the scale spans every
    channel's weights, so the figures of a colour filter's red, green and blue weights compare."""
    scale_of = np.asarray(kernels, dtype=np.float64)
    k = scale_of[:, channel]
    f, kh, kw = k.shape
    tiles = _Tiles.of(f, kh, kw, per_row, width_px)
    canvas, refs, shape = tiles.canvas(f, kh, kw, title)
    grid = np.full(shape, np.nan)
    for i in range(f):
        top, left = tiles.corner(i, kw)
        grid[top : top + kh, left : left + kw] = k[i]
    lo, hi = symmetric_range(scale_of if all_channels_scale else k)
    canvas.grid(grid, refs, colorscale=DIVERGING, zmin=lo, zmax=hi, name="weights", numbers=False, hover="weight")
    return PrebuiltFigure(canvas.to_dict(margin=dict(l=4, r=4, t=8, b=8)))


def colour_kernels_figure(kernels: np.ndarray, per_row: int = 8, width_px: int = 350) -> go.Figure:
    """A colour network's first-layer kernels (F, 3, KH, KW) as small colour patches: each filter's red,
    green and blue weights as one pixel's colour, stretched to black…white over that filter's own smallest
    and largest weight (so a filter that looks for red edges shows red beside dark). Hover gives the three
    weights of every cell."""
    k = np.asarray(kernels, dtype=np.float64)
    f, c, kh, kw = k.shape
    if c != 3:
        raise ValueError(f"Colour patches need kernels with 3 input channels, not {c}.")
    tiles = _Tiles.of(f, kh, kw, per_row, width_px)
    canvas, refs, shape = tiles.canvas(f, kh, kw, None)
    rgb = np.full((*shape, 3), 255, np.uint8)  # the paper between the patches
    hover = np.full(shape, "", dtype=object)
    for i in range(f):
        w = k[i]
        lo, hi = w.min(), w.max()
        patch = (w - lo) / (hi - lo) if hi > lo else np.full_like(w, 0.5)
        top, left = tiles.corner(i, kw)
        rgb[top : top + kh, left : left + kw] = np.rint(patch.transpose(1, 2, 0) * 255).astype(np.uint8)
        for r in range(kh):
            for q in range(kw):
                hover[top + r, left + q] = (
                    f"filter {i + 1}, row {r}, column {q}: red {w[0, r, q]:.3g}, green {w[1, r, q]:.3g}, "
                    f"blue {w[2, r, q]:.3g}"
                )
    canvas.data.append(
        dict(
            type="image",
            z=rgb.tolist(),
            x0=0,
            y0=0,
            dx=1,
            dy=1,
            xaxis=refs[0],
            yaxis=refs[1],
            hovertext=hover.tolist(),
            hoverinfo="text",
            name="colour kernels",
        )
    )
    return PrebuiltFigure(canvas.to_dict(margin=dict(l=4, r=4, t=8, b=8)))


def large_map_figure(values: np.ndarray, title: str, cell: tuple[int, int] | None = None) -> go.Figure:
    """One feature map opened large: its real values on the diverging scale (hover for each); a click on a
    cell selects it (an invisible square marker on every cell at x = column, y = row: heatmaps send no
    selections); ``cell``, the one whose receptive field is shown, outlined. Arrays travel in Plotly's
    binary form (the map is float32 in the engine already): about 12 KB a stroke for 28×28, not 38."""
    spec = feature_map_spec(values, title=title, height=420)
    values = np.asarray(values, dtype=np.float32)  # the engine's precision: binary, a quarter of a JSON list
    heatmap = dict(spec["data"][0], z=values)
    rows, cols = np.indices(values.shape, dtype=np.uint8 if max(values.shape) <= 256 else np.uint16)
    spec["data"] = [
        heatmap,
        *spec["data"][1:],
        dict(
            type="scatter",
            mode="markers",
            x=cols.ravel(),
            y=rows.ravel(),
            customdata=values.ravel(),
            hovertemplate="row %{y}, col %{x}<br>value %{customdata:.4g}<br>click: its receptive field<extra></extra>",
            name="cells",
            marker=dict(size=max(4, int(330 / max(np.shape(values)))), symbol="square", opacity=0.0),
        ),
    ]
    if cell is not None:
        spec["layout"]["shapes"] = [
            *spec["layout"].get("shapes", ()),
            *outline(("x", "y"), cell[0], cell[0], cell[1], cell[1]),
        ]
    return PrebuiltFigure(spec)


def receptive_field_figure(image: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], title: str) -> go.Figure:
    """The 28×28 picture the network read, with the input pixels a feature-map cell can see outlined."""
    img = np.asarray(image, dtype=np.float64)
    canvas = Canvas(height=300)
    xr, yr = grid_ranges(*img.shape)
    refs = canvas.axes((0, 1), (0, 0.9), x_range=xr, y_range=yr, title=title)
    canvas.grid(img, refs, colorscale=GREYS, zmin=0.0, zmax=1.0, name="input", numbers=False, hover="ink")
    canvas.shapes += [
        rect(refs, rows[0], rows[1], cols[0], cols[1], color=WINDOW, width=1, fill="rgba(230,159,0,0.30)")
    ]
    canvas.shapes += outline(refs, rows[0], rows[1], cols[0], cols[1])
    return PrebuiltFigure(canvas.to_dict(margin=dict(l=4, r=4, t=36, b=4)))


def kernel_figure(kernel: np.ndarray, title: str) -> go.Figure:
    """The (KH, KW) weights that produced a map, with their numbers."""
    return feature_map_figure(kernel, title=title, height=260)


# ---------------------------------------------------------------- pictures (RGB arrays for st.image)
def square(img: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> a square uint8 picture, one pixel per value: a thin crop (a "1") is padded with
    black to a square, so every thumbnail has the same shape."""
    a = np.asarray(img, dtype=np.float64)
    if a.size == 0:
        a = np.zeros((1, 1))
    h, w = a.shape
    side = max(h, w)
    a = np.pad(a, (((side - h) // 2, side - h - (side - h) // 2), ((side - w) // 2, side - w - (side - w) // 2)))
    return np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)


def saliency_overlay(image: np.ndarray, sal: np.ndarray, scale: Sequence[Sequence] | None = None) -> np.ndarray:
    """The digit in grey with the saliency (both (H, W) in [0, 1]) laid over it: (H, W, 3) uint8. Red-yellow,
    or with ``scale`` (a palette's magnitude scale) each pixel blends towards that scale's colour of its
    saliency."""
    g = np.clip(np.asarray(image, dtype=np.float64), 0, 1) * 0.55
    s = np.clip(np.asarray(sal, dtype=np.float64), 0, 1)
    if scale is None:
        rgb = np.stack([g + s * (1 - g), g + np.clip(s - 0.5, 0, 1) * 2 * (1 - g), g * (1 - s)], axis=-1)
    else:
        rgb = g[..., None] * (1 - s[..., None]) + scale_rgb(s, scale) / 255 * s[..., None]
    return np.rint(rgb * 255).astype(np.uint8)
