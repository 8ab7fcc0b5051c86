"""Figures for several channels and several filters, and for the im2col (GEMM) form.

Every array comes from the engine: per-channel partial sums from ``ops.conv2d`` on one channel,
the unfolded matrix from ``ops.im2col``, the GEMM result from ``ops.conv2d_gemm``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import Canvas, domains, grid_ranges, padded_panel
from playground.figures.common import (
    DIVERGING,
    FONT,
    WindowLike,
    label_font_size,
    numbers_fit,
    symmetric_range,
    value_range,
)
from playground.figures.shapes import outline, rect, window_shapes

CHANNEL_SCALES = {  # black -> the channel's colour, so each row reads as "how much red/green/blue"
    "R": [[0, "#000000"], [1, "#ff4d4d"]],
    "G": [[0, "#000000"], [1, "#33cc66"]],
    "B": [[0, "#000000"], [1, "#4d94ff"]],
}


def channels_figure(
    padded: np.ndarray,
    pads: Sequence[int],
    kernel: np.ndarray,
    partials: np.ndarray,
    output: np.ndarray,
    steps: Sequence[WindowLike],
    index: int,
    channel_names: Sequence[str] = ("R", "G", "B"),
) -> go.Figure:
    """A 3-channel filter at step ``index``: per channel, its padded input (C, Hp, Wp), its kernel
    slice (C, KH, KW) and its partial-sum map (C, OH, OW); on the right the output (OH, OW) =
    Σ partial sums + bias. The current window and cell are outlined on every panel."""
    padded, kernel = np.asarray(padded, float), np.asarray(kernel, float)
    partials, output = np.asarray(partials, float), np.asarray(output, float)
    c_count, hp, wp = padded.shape
    _, kh, kw = kernel.shape
    oh, ow = output.shape
    index = int(np.clip(index, 0, len(steps) - 1))
    step = steps[index]
    r, c = step.out_pos
    row_h = 200  # pixels per channel row
    canvas = Canvas(height=row_h * c_count + 60)
    cols = domains([wp, max(kw, 0.5 * wp), ow, 1.6 * ow], gap=0.04)
    rows = list(reversed(domains([1] * c_count, gap=0.06)))  # first channel on top
    klo, khi = symmetric_range(kernel)
    plo, phi = symmetric_range(partials)
    numbers = numbers_fit(hp, wp, canvas.panel_px(cols[0], rows[0]))
    for ch in range(c_count):
        name = channel_names[ch] if ch < len(channel_names) else f"channel {ch}"
        y = rows[ch]
        refs = canvas.axes(
            cols[0],
            y,
            x_range=grid_ranges(hp, wp)[0],
            y_range=grid_ranges(hp, wp)[1],
            title=f"{name} input" if ch == 0 else None,
        )
        padded_panel(
            canvas,
            padded[ch],
            pads,
            refs,
            numbers=numbers,
            font_size=label_font_size(hp, wp, canvas.panel_px(cols[0], y)),
            name=f"{name} input",
            colorscale=CHANNEL_SCALES.get(name),
            zrange=value_range(padded),
        )
        canvas.shapes += window_shapes(refs, step.rows, step.cols)
        krefs = canvas.axes(
            cols[1],
            y,
            x_range=grid_ranges(kh, kw)[0],
            y_range=grid_ranges(kh, kw)[1],
            title="kernel slice" if ch == 0 else None,
        )
        canvas.grid(
            kernel[ch],
            krefs,
            colorscale=DIVERGING,
            zmin=klo,
            zmax=khi,
            name=f"{name} kernel",
            numbers=True,
            font_size=label_font_size(kh, kw, canvas.panel_px(cols[1], y)),
            hover="weight",
        )
        prefs = canvas.axes(
            cols[2],
            y,
            x_range=grid_ranges(oh, ow)[0],
            y_range=grid_ranges(oh, ow)[1],
            title="partial sum" if ch == 0 else None,
        )
        canvas.grid(
            partials[ch],
            prefs,
            colorscale=DIVERGING,
            zmin=plo,
            zmax=phi,
            name=f"{name} partial sum",
            numbers=numbers_fit(oh, ow, canvas.panel_px(cols[2], y)),
            font_size=label_font_size(oh, ow, canvas.panel_px(cols[2], y)),
        )
        canvas.shapes += outline(prefs, r, r, c, c, width=3)
        canvas.annotations.append(
            dict(
                text=name,
                xref="paper",
                yref="paper",
                x=0,
                xanchor="right",
                xshift=-4,
                y=(y[0] + y[1]) / 2,
                showarrow=False,
                font=dict(size=20, color=FONT["color"]),
            )
        )
    orefs = canvas.axes(
        cols[3],
        (0, 0.95),
        x_range=grid_ranges(oh, ow)[0],
        y_range=grid_ranges(oh, ow)[1],
        title="Σ partial sums + bias",
    )
    olo, ohi = symmetric_range(output)
    canvas.grid(
        output,
        orefs,
        colorscale=DIVERGING,
        zmin=olo,
        zmax=ohi,
        name="output",
        numbers=numbers_fit(oh, ow, canvas.panel_px(cols[3], (0, 0.95))),
        font_size=label_font_size(oh, ow, canvas.panel_px(cols[3], (0, 0.95))),
    )
    canvas.shapes += outline(orefs, r, r, c, c)
    return canvas.figure(margin=dict(l=36, r=8, t=40, b=8))


def filter_stack_figure(maps: np.ndarray, names: Sequence[str], height: int = 300) -> go.Figure:
    """Several filters' output maps (F, OH, OW) side by side, each on its own symmetric scale."""
    maps = np.asarray(maps, float)
    f, oh, ow = maps.shape
    canvas = Canvas(height=height)
    numbers = numbers_fit(oh, ow, min(height - 50, 1100 / f))
    for dom, m, name in zip(domains([1] * f, gap=0.03), maps, names):
        refs = canvas.axes(dom, (0, 0.9), x_range=grid_ranges(oh, ow)[0], y_range=grid_ranges(oh, ow)[1], title=name)
        lo, hi = symmetric_range(m)
        canvas.grid(
            m,
            refs,
            colorscale=DIVERGING,
            zmin=lo,
            zmax=hi,
            name=name,
            numbers=numbers,
            font_size=label_font_size(oh, ow, min(height - 50, 1100 / f)),
        )
    return canvas.figure()


def im2col_figure(
    weights: np.ndarray,
    cols: np.ndarray,
    result: np.ndarray,
    column: int | None = None,
    row_labels: Sequence[str] | None = None,
    bias: bool = False,
) -> go.Figure:
    """The GEMM as a Falk scheme: unfolded input X (K, L) top right, kernel rows W (F, K) bottom left,
    Y = W·X (F, L) bottom right, so Y[f, j] sits where W's row f meets X's column j (``bias``: the
    result includes a bias, said in the title).

    ``column`` (the current step) is outlined in X and Y, with the kernel row that multiplies it.
    """
    weights, cols, result = np.asarray(weights, float), np.asarray(cols, float), np.asarray(result, float)
    f, k = weights.shape
    _, n = cols.shape
    numbers = k <= 27 and n <= 16
    height = int(np.clip(26 * (k + f) + 140, 320, 760)) if numbers else 420
    canvas = Canvas(height=height)
    left_w = max(0.26, min(0.4, k / (k + n)))
    x_left, x_right = (0.0, left_w), (0.07 + left_w, 1.0)
    title_gap = 50 / height  # room for the bottom panels' titles
    y_top_h = (0.92 - title_gap) * k / (k + max(f, 2))
    y_bottom, y_top = (0.0, 0.92 - y_top_h - title_gap), (0.92 - y_top_h, 0.92)
    font = int(np.clip((height - 80) * (y_top[1] - y_top[0]) / k / 2.0, 9, 20))  # from the cell height
    xr = canvas.axes(
        x_right,
        y_top,
        x_range=grid_ranges(k, n)[0],
        y_range=grid_ranges(k, n)[1],
        square=False,
        title=f"Unfolded input X = im2col: {k}×{n}",
    )
    lo, hi = value_range(cols)
    canvas.grid(
        cols,
        xr,
        colorscale=[[0, "#000000"], [1, "#ffffff"]],
        zmin=lo,
        zmax=hi,
        name="X",
        numbers=numbers,
        font_size=font,
    )
    if row_labels is not None and k <= 27:
        canvas.layout[f"yaxis{'' if canvas.n_axes == 1 else canvas.n_axes}"].update(
            showticklabels=True,
            tickmode="array",
            tickvals=list(range(k)),
            ticktext=list(row_labels),
            tickfont=dict(size=12),
        )
    wr = canvas.axes(
        x_left,
        y_bottom,
        x_range=grid_ranges(f, k)[0],
        y_range=grid_ranges(f, k)[1],
        square=False,
        title=f"Kernel rows W: {f}×{k}",
    )
    wlo, whi = symmetric_range(weights)
    canvas.grid(
        weights,
        wr,
        colorscale=DIVERGING,
        zmin=wlo,
        zmax=whi,
        name="W",
        numbers=k <= 27,
        font_size=min(font, 16),
        hover="weight",
    )
    yr = canvas.axes(
        x_right,
        y_bottom,
        x_range=grid_ranges(f, n)[0],
        y_range=grid_ranges(f, n)[1],
        square=False,
        title=f"Y = W · X{' + bias' if bias else ''}: {f}×{n}",
    )
    ylo, yhi = symmetric_range(result)
    canvas.grid(result, yr, colorscale=DIVERGING, zmin=ylo, zmax=yhi, name="Y", numbers=numbers, font_size=font)
    if column is not None:
        column = int(np.clip(column, 0, n - 1))
        canvas.shapes += outline(xr, 0, k - 1, column, column, width=3)
        canvas.shapes += outline(yr, 0, f - 1, column, column, width=3)
        canvas.shapes.append(rect(wr, 0, f - 1, 0, k - 1, color="#E69F00", width=3))
    canvas.annotations.append(
        dict(
            text="Column j of X: window j, flattened.<br>Row f of W: filter f, flattened.<br>Y[f, j] = row f · column j.",
            xref="paper",
            yref="paper",
            x=x_left[0],
            xanchor="left",
            y=y_top[1],
            yanchor="top",
            align="left",
            showarrow=False,
            font=dict(size=15, color=FONT["color"]),
        )
    )
    canvas.annotations.append(
        dict(
            text="·",
            xref="paper",
            yref="paper",
            x=(x_left[1] + x_right[0]) / 2,
            y=sum(y_bottom) / 2,
            showarrow=False,
            font=dict(size=34, color=FONT["color"]),
        )
    )
    return canvas.figure(margin=dict(l=8, r=8, t=40, b=8))
