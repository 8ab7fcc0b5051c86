"""Plotly figures of a convolution: padded input ∗ kernel = output at one step (the Play view's
in-browser player paints ``figures.player``'s data instead).

Inputs are the engine's own arrays and step records (``ops.ConvStep``: anything with ``index``,
``out_pos``, ``rows``, ``cols``); nothing here computes a convolution. The output panel shows the
cells of steps 0..index and leaves the rest blank on fixed axes, so it 'fills in' as steps advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import (
    Canvas,
    caption,
    domains,
    fit_height,
    grid_ranges,
    heatmap_trace,
    padded_panel,
    signs_between,
)
from playground.figures.common import (
    CONTAINER_PX,
    DIVERGING,
    PLAIN,
    WindowLike,
    fmt,
    label_font_size,
    show_numbers,
    symmetric_range,
)
from playground.figures.shapes import outline, slots, window_shapes


@dataclass(frozen=True)
class _Layout:
    """Where the panels of one convolution figure sit and which traces the frames update."""

    canvas: Canvas
    refs: dict[str, tuple[str, str]]
    out_trace: int
    act_trace: int | None
    numbers_out: bool
    font_out: int
    out_range: tuple[float, float]
    act_range: tuple[float, float]
    base_shapes: list[dict]
    base_annotations: list[dict]


def _panels(
    padded: np.ndarray,
    pads: Sequence[int],
    kernel: np.ndarray,
    output: np.ndarray,
    activated: np.ndarray | None,
    activation_label: str | None,
    pad_text: str | None = None,
) -> _Layout:
    padded = np.asarray(padded, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    output = np.asarray(output, dtype=np.float64)
    hp, wp = padded.shape
    kh, kw = kernel.shape
    oh, ow = output.shape
    numbers_in, numbers_out = show_numbers(padded.shape), show_numbers(output.shape)
    big = max(wp, ow)
    weights = [wp, max(kw, 0.3 * big), ow] + ([ow] if activated is not None else [])
    doms = domains(weights, gap=0.05)
    canvas = Canvas(height=fit_height(doms, [(hp, wp), (kh, kw), (oh, ow)]))
    panel_px = canvas.height - 60
    refs: dict[str, tuple[str, str]] = {}

    xr, yr = grid_ranges(hp, wp)
    refs["input"] = canvas.axes(
        doms[0],
        (0, 0.93),
        x_range=xr,
        y_range=yr,
        title=f"Padded input {hp}×{wp}" if (hp, wp) != padded.shape or any(pads) else f"Input {hp}×{wp}",
    )
    font_in = label_font_size(hp, wp, min(panel_px, (doms[0][1] - doms[0][0]) * CONTAINER_PX))
    padded_panel(canvas, padded, pads, refs["input"], numbers=numbers_in, font_size=font_in, pad_text=pad_text)

    xr, yr = grid_ranges(kh, kw)
    refs["kernel"] = canvas.axes(doms[1], (0, 0.93), x_range=xr, y_range=yr, title=f"Kernel {kh}×{kw}")
    klo, khi = symmetric_range(kernel)
    font_k = label_font_size(kh, kw, min(panel_px, (doms[1][1] - doms[1][0]) * CONTAINER_PX))
    canvas.grid(
        kernel,
        refs["kernel"],
        colorscale=DIVERGING,
        zmin=klo,
        zmax=khi,
        name="kernel",
        numbers=True,
        font_size=font_k,
        hover="weight",
    )

    xr, yr = grid_ranges(oh, ow)
    refs["output"] = canvas.axes(doms[2], (0, 0.93), x_range=xr, y_range=yr, title=f"Output {oh}×{ow}")
    out_range = symmetric_range(output)
    font_out = label_font_size(oh, ow, min(panel_px, (doms[2][1] - doms[2][0]) * CONTAINER_PX))
    out_trace = canvas.grid(
        np.full(output.shape, np.nan),
        refs["output"],
        colorscale=DIVERGING,
        zmin=out_range[0],
        zmax=out_range[1],
        name="output",
        numbers=numbers_out,
        font_size=font_out,
    )
    canvas.shapes.append(slots(refs["output"], oh, ow))
    act_trace, act_range = None, out_range
    if activated is not None:
        refs["activated"] = canvas.axes(
            doms[3], (0, 0.93), x_range=xr, y_range=yr, title=f"After {activation_label or 'activation'}"
        )
        act_range = symmetric_range(activated)
        act_trace = canvas.grid(
            np.full(output.shape, np.nan),
            refs["activated"],
            colorscale=DIVERGING,
            zmin=act_range[0],
            zmax=act_range[1],
            name=activation_label or "activated",
            numbers=numbers_out,
            font_size=font_out,
        )
        canvas.shapes.append(slots(refs["activated"], oh, ow))
    # operator signs in the gaps between panels
    signs = ["∗", "="] + (["→"] if activated is not None else [])
    canvas.annotations += signs_between(doms, signs, 0.465)
    return _Layout(
        canvas,
        refs,
        out_trace,
        act_trace,
        numbers_out,
        font_out,
        out_range,
        act_range,
        list(canvas.shapes),
        list(canvas.annotations),
    )


def _order(steps: Sequence[WindowLike], out_shape: Sequence[int]) -> np.ndarray:
    """(OH, OW) array holding the step index that computes each output cell."""
    order = np.full(tuple(out_shape), np.iinfo(np.int64).max, dtype=np.int64)
    for s in steps:
        order[s.out_pos] = s.index
    return order


def _step_shapes(lay: _Layout, step: WindowLike) -> list[dict]:
    r, c = step.out_pos
    shapes = list(lay.base_shapes) + window_shapes(lay.refs["input"], step.rows, step.cols)
    shapes += outline(lay.refs["output"], r, r, c, c)
    if "activated" in lay.refs:
        shapes += outline(lay.refs["activated"], r, r, c, c)
    return shapes


def _step_caption(step: WindowLike, n: int, value: float | None) -> dict:
    shown = "?" if value is None else fmt(value)
    return caption(f"Step {step.index + 1} of {n}: output ({step.out_pos[0]}, {step.out_pos[1]}) = {shown}")


def _filled(lay: _Layout, values: np.ndarray, mask: np.ndarray, which: str) -> dict:
    z = np.where(mask, values, np.nan)
    zr = lay.out_range if which == "output" else lay.act_range
    return heatmap_trace(
        z,
        lay.refs[which],
        colorscale=DIVERGING,
        zmin=zr[0],
        zmax=zr[1],
        name=lay.canvas.data[lay.out_trace if which == "output" else lay.act_trace]["name"],
        numbers=lay.numbers_out,
        font_size=lay.font_out,
    )


def conv_step_figure(
    padded: np.ndarray,
    pads: Sequence[int],
    kernel: np.ndarray,
    output: np.ndarray,
    steps: Sequence[WindowLike],
    index: int,
    *,
    activated: np.ndarray | None = None,
    activation_label: str | None = None,
    reveal: bool = True,
) -> go.Figure:
    """Padded input (Hp, Wp) ∗ kernel (KH, KW) = output (OH, OW) at step ``index``.

    ``output``/``activated`` are the engine's finished maps; the figure reveals the cells of steps
    0..index, outlines the window of step ``index`` on the input and its cell on the output.
    ``reveal=False`` (a quiz question) leaves step ``index``'s cell blank and its value '?'.
    """
    if not steps:
        raise ValueError("A convolution with no steps has nothing to show.")
    index = int(np.clip(index, 0, len(steps) - 1))
    lay = _panels(padded, pads, kernel, output, activated, activation_label)
    step = steps[index]
    order = _order(steps, np.shape(output))
    mask = order <= index if reveal else order < index
    lay.canvas.data[lay.out_trace] = _filled(lay, output, mask, "output")
    if lay.act_trace is not None:
        lay.canvas.data[lay.act_trace] = _filled(lay, activated, mask, "activated")
    lay.canvas.shapes = _step_shapes(lay, step)
    lay.canvas.annotations = lay.base_annotations + [
        _step_caption(step, len(steps), output[step.out_pos] if reveal else None)
    ]
    return lay.canvas.figure()


def activation_figure(
    xs: np.ndarray, ys: np.ndarray, name: str, point: tuple[float, float] | None = None, height: int = 260
) -> go.Figure:
    """The activation curve ys = f(xs) (both (N,), computed by the engine), with the current cell marked."""
    data = [
        dict(
            type="scatter",
            x=np.asarray(xs, float),
            y=np.asarray(ys, float),
            mode="lines",
            line=dict(color="#0072B2", width=4),
            name=name,
            hovertemplate="f(%{x:.3g}) = %{y:.3g}<extra></extra>",
        )
    ]
    if point is not None:
        data.append(
            dict(
                type="scatter",
                x=[point[0]],
                y=[point[1]],
                mode="markers+text",
                marker=dict(size=16, color="#E69F00", line=dict(color="#000", width=2)),
                text=[f"{name}({fmt(point[0])}) = {fmt(point[1])}"],
                textposition="top left",
                textfont=dict(size=15),
                name="current cell",
                hoverinfo="skip",
            )
        )
    axis = dict(zeroline=True, zerolinecolor="#9ca3af", gridcolor="#e5e7eb", tickfont=dict(size=14), fixedrange=True)
    layout = dict(
        height=height,
        margin=dict(l=50, r=10, t=36, b=40),
        **PLAIN,
        showlegend=False,
        title=dict(text=f"{name} curve", x=0.02, font=dict(size=16)),
        xaxis=dict(axis, title=dict(text="convolution output")),
        yaxis=dict(axis, title=dict(text=name)),
    )
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def feature_map_figure(
    values: np.ndarray,
    steps: Sequence[WindowLike] | None = None,
    index: int | None = None,
    title: str = "",
    height: int = 320,
) -> go.Figure:
    """One (OH, OW) map on the diverging scale; with ``steps``/``index`` it fills in up to that step
    and outlines the current cell (used for the activated output beside the activation curve)."""
    return go.Figure(feature_map_spec(values, steps, index, title, height), _validate=False)


def feature_map_spec(
    values: np.ndarray,
    steps: Sequence[WindowLike] | None = None,
    index: int | None = None,
    title: str = "",
    height: int = 320,
) -> dict:
    """:func:`feature_map_figure`'s spec as a plain dict (its arrays still numpy arrays)."""
    values = np.asarray(values, dtype=np.float64)
    oh, ow = values.shape
    canvas = Canvas(height=height)
    xr, yr = grid_ranges(oh, ow)
    refs = canvas.axes((0, 1), (0, 0.9 if title else 1.0), x_range=xr, y_range=yr, title=title or None)
    shown = values
    if steps is not None and index is not None and len(steps):
        index = int(np.clip(index, 0, len(steps) - 1))
        shown = np.where(_order(steps, values.shape) <= index, values, np.nan)
        r, c = steps[index].out_pos
        canvas.shapes += outline(refs, r, r, c, c)
    canvas.shapes.insert(0, slots(refs, oh, ow))
    lo, hi = symmetric_range(values)
    canvas.grid(
        shown,
        refs,
        colorscale=DIVERGING,
        zmin=lo,
        zmax=hi,
        name=title or "map",
        numbers=show_numbers(values.shape),
        font_size=label_font_size(oh, ow, height - 50),
    )
    return canvas.to_dict(margin=dict(l=4, r=4, t=34 if title else 4, b=4))
