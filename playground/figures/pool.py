"""Plotly figures of pooling: the padded input with the window and the chosen maximum, the pooled
output filling in, and the "shift the input by one pixel" comparison.

Inputs are the engine's arrays and ``ops.PoolStep`` records (``index``, ``out_pos``, ``rows``,
``cols``, ``argmax``); nothing here pools anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import Canvas, caption, domains, fit_height, grid_ranges, padded_panel
from playground.figures.common import (
    CHANGED,
    CHOSEN,
    FONT,
    GREYS,
    fmt,
    label_font_size,
    numbers_fit,
    show_numbers,
    value_range,
)
from playground.figures.shapes import outline, rect, slots, window_shapes


def pool_step_figure(
    padded: np.ndarray,
    pads: Sequence[int],
    output: np.ndarray,
    steps: Sequence,
    index: int,
    *,
    kind: str = "max",
    reveal: bool = True,
) -> go.Figure:
    """Padded input (Hp, Wp) → pooled output (OH, OW) at step ``index``.

    The window is outlined; for max pooling the chosen cell (``step.argmax``, padded coordinates)
    gets a sky-blue ring. Padding cells read '−∞' for max (they never win) and their value for avg.
    ``reveal=False`` (a quiz question) leaves step ``index``'s cell blank, without the ring, and its value '?'.
    """
    if not steps:
        raise ValueError("A pooling with no steps has nothing to show.")
    padded, output = np.asarray(padded, float), np.asarray(output, float)
    hp, wp = padded.shape
    oh, ow = output.shape
    index = int(np.clip(index, 0, len(steps) - 1))
    step = steps[index]
    numbers = show_numbers((hp, wp))
    doms = domains([wp, max(ow, 0.3 * wp)], gap=0.08)
    canvas = Canvas(height=fit_height(doms, [(hp, wp), (oh, ow)]))
    in_refs = canvas.axes(
        doms[0],
        (0, 0.93),
        x_range=grid_ranges(hp, wp)[0],
        y_range=grid_ranges(hp, wp)[1],
        title=f"{'Padded input' if any(pads) else 'Input'} {hp}×{wp}",
    )
    real_range = value_range(np.where(np.isfinite(padded), padded, np.nan))
    padded_panel(
        canvas,
        np.where(np.isfinite(padded), padded, 0.0),
        pads,
        in_refs,
        numbers=numbers,
        font_size=label_font_size(hp, wp, canvas.panel_px(doms[0], (0, 0.93))),
        pad_text="−∞" if kind == "max" else None,
        colorscale=GREYS,
        zrange=real_range,
    )
    out_refs = canvas.axes(
        doms[1],
        (0, 0.93),
        x_range=grid_ranges(oh, ow)[0],
        y_range=grid_ranges(oh, ow)[1],
        title=f"{'Max' if kind == 'max' else 'Average'} pooled {oh}×{ow}",
    )
    order = np.full((oh, ow), np.iinfo(np.int64).max)
    for s in steps:
        order[s.out_pos] = s.index
    canvas.shapes.append(slots(out_refs, oh, ow))
    canvas.grid(
        np.where(order <= index if reveal else order < index, output, np.nan),
        out_refs,
        colorscale=GREYS,
        zmin=real_range[0],
        zmax=real_range[1],
        name="pooled",
        numbers=show_numbers((oh, ow)),
        font_size=label_font_size(oh, ow, canvas.panel_px(doms[1], (0, 0.93))),
    )
    canvas.shapes += window_shapes(in_refs, step.rows, step.cols)
    if reveal and getattr(step, "argmax", None) is not None:
        ar, ac = step.argmax
        canvas.shapes.append(rect(in_refs, ar, ar, ac, ac, color=CHOSEN, width=5, kind="circle"))
    r, c = step.out_pos
    canvas.shapes += outline(out_refs, r, r, c, c)
    canvas.annotations.append(
        dict(
            text="→",
            xref="paper",
            yref="paper",
            x=(doms[0][1] + doms[1][0]) / 2,
            y=0.465,
            showarrow=False,
            font=dict(size=30, color=FONT["color"]),
        )
    )
    canvas.annotations.append(
        caption(f"Step {step.index + 1} of {len(steps)}: output ({r}, {c}) = {fmt(output[r, c]) if reveal else '?'}")
    )
    return canvas.figure()


def shift_figure(
    image: np.ndarray,
    shifted: np.ndarray,
    pooled: np.ndarray,
    pooled_shifted: np.ndarray,
    shift: tuple[int, int] = (0, 1),
) -> go.Figure:
    """Input (H, W) and its one-pixel shift, and both pooled maps (OH, OW); pooled cells whose value
    changed are outlined in purple (dashed) so the unchanged fraction can be seen, not just read."""
    image, shifted = np.asarray(image, float), np.asarray(shifted, float)
    pooled, pooled_shifted = np.asarray(pooled, float), np.asarray(pooled_shifted, float)
    h, w = image.shape
    oh, ow = pooled.shape
    doms = domains([w, w, ow * 1.5, ow * 1.5], gap=0.04)
    canvas = Canvas(height=fit_height(doms, [(h, w), (h, w), (oh, ow), (oh, ow)], y_span=0.88))
    lo, hi = value_range(image, shifted)
    direction = {(0, 1): "right", (0, -1): "left", (1, 0): "down", (-1, 0): "up"}.get(tuple(shift), str(shift))
    # two-line titles: four side by side must stay apart on a phone (a panel is ~80 px wide there)
    for dom, z, title in ((doms[0], image, "Input"), (doms[1], shifted, f"Shifted<br>1 px {direction}")):
        refs = canvas.axes(dom, (0, 0.88), x_range=grid_ranges(h, w)[0], y_range=grid_ranges(h, w)[1], title=title)
        canvas.grid(
            z,
            refs,
            colorscale=GREYS,
            zmin=lo,
            zmax=hi,
            name=title,
            numbers=numbers_fit(h, w, canvas.panel_px(dom, (0, 0.88))),
            font_size=label_font_size(h, w, canvas.panel_px(dom, (0, 0.88))),
        )
    plo, phi = value_range(pooled, pooled_shifted)
    changed = ~np.isclose(pooled, pooled_shifted, rtol=0, atol=1e-12)
    for dom, z, title in ((doms[2], pooled, "Pooled"), (doms[3], pooled_shifted, "Shifted,<br>pooled")):
        refs = canvas.axes(dom, (0, 0.88), x_range=grid_ranges(oh, ow)[0], y_range=grid_ranges(oh, ow)[1], title=title)
        if z is pooled_shifted:  # the last title ends at the figure's edge instead of overhanging it
            canvas.annotations[-1].update(x=1.0, xanchor="right", align="right")
        canvas.grid(
            z,
            refs,
            colorscale=GREYS,
            zmin=plo,
            zmax=phi,
            name=title,
            numbers=numbers_fit(oh, ow, canvas.panel_px(dom, (0, 0.88))),
            font_size=label_font_size(oh, ow, canvas.panel_px(dom, (0, 0.88))),
        )
        if z is pooled_shifted:
            canvas.shapes += [
                rect(refs, r, r, c, c, color=CHANGED, width=4, dash="dot") for r, c in zip(*np.nonzero(changed))
            ]
    return canvas.figure()
