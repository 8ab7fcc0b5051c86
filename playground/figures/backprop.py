"""Plotly figures of the backward pass: for one stage and one step, the arrays it reads (the cells it
used outlined) and the gradient it fills in (cells of the steps so far, the current one outlined).

Inputs are the engine's arrays (``BackpropRun.arrays``) and records (``ops.backprop.BackStep``);
nothing here computes a gradient. Vectors are drawn as one column, so dW2 = dz2·fᵀ reads as an outer product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import Canvas, domains, fit_height, grid_ranges, signs_between
from playground.figures.canvas import caption as step_line
from playground.figures.common import (
    CHOSEN,
    DIVERGING,
    GREYS,
    WINDOW,
    fmt,
    label_font_size,
    show_numbers,
    symmetric_range,
    value_range,
)
from playground.figures.shapes import outline, rect, slots

WIDTH_PX = 900  # the main column on a 1366 px laptop with the sidebar open: numbers sized to fit there
MAX_CELL = 44.0  # px: a 3×3 kernel stays a sensible size beside an 8×8 input
MAX_HEIGHT = 480  # px: the figure and its arithmetic fit a 768 px screen under the step buttons
READ_FILL = "rgba(230,159,0,0.35)"  # the cells a step reads: a light wash of the window orange


@dataclass(frozen=True)
class Panel:
    """One grid of a backward figure. ``z`` is 2-D; NaN cells stay blank (not computed yet)."""

    title: str
    z: np.ndarray
    reads: tuple[tuple[int, int], ...] = ()  # cells washed orange: what the step used
    current: tuple[int, int] | None = None  # the cell the step writes: orange outline
    chosen: tuple[int, int] | None = None  # outlined sky blue: the max-pool winner
    signed: bool = True  # blue–white–red around 0; False: black-to-white (the input image)
    filling: bool = False  # a gradient being filled in: empty slots under the blank cells
    zrange: tuple[float, float] | None = None  # the colour range; default from z


def column(v: np.ndarray) -> np.ndarray:
    """A vector (K,) as a (K, 1) column."""
    return np.asarray(v, dtype=np.float64).reshape(-1, 1)


def backward_figure(panels: Sequence[Panel], caption: str, signs: Sequence[str] = ()) -> go.Figure:
    """The panels side by side (widths follow their columns), ``caption`` above on the right and the
    operator ``signs`` ("·", "=", "→") in the gaps between consecutive panels."""
    if not panels:
        raise ValueError("A backward figure needs at least one panel.")
    # a column stays narrow; a small grid (a 3×3 kernel) gets at least 4 columns' room, so its cells hold numbers
    weights = [1.6 if p.z.shape[1] == 1 else max(p.z.shape[1], 4) for p in panels]
    doms = domains(weights, gap=0.05 if len(panels) < 5 else 0.035)
    grids = [p.z.shape for p in panels]
    canvas = Canvas(height=fit_height(doms, grids, max_cell=MAX_CELL, low=240, high=MAX_HEIGHT))
    for p, dom in zip(panels, doms):
        rows, cols = p.z.shape
        xr, yr = grid_ranges(rows, cols)
        refs = canvas.axes(dom, (0, 0.9), x_range=xr, y_range=yr, title=p.title)
        full = p.zrange or (symmetric_range(p.z) if p.signed else value_range(p.z))
        # the cell Plotly will draw: the panel's width or the figure's height, whichever binds, at most MAX_CELL
        cell = min((dom[1] - dom[0]) * WIDTH_PX / cols, 0.9 * (canvas.height - 100) / rows, MAX_CELL)
        font = label_font_size(1, 1, cell)
        if p.filling:
            canvas.shapes.append(slots(refs, rows, cols))
        canvas.grid(
            p.z,
            refs,
            colorscale=DIVERGING if p.signed else GREYS,
            zmin=full[0],
            zmax=full[1],
            name=p.title.split(" ")[0],
            numbers=show_numbers(p.z.shape),
            font_size=font,
        )
        canvas.shapes += [rect(refs, r, r, c, c, color=WINDOW, width=1, fill=READ_FILL) for r, c in p.reads]
        if p.chosen is not None:
            canvas.shapes += _chosen(refs, *p.chosen)
        if p.current is not None:
            r, c = p.current
            canvas.shapes += outline(refs, r, r, c, c)
    canvas.annotations += signs_between(doms, signs, 0.45, size=26)
    canvas.annotations.append(step_line(caption))
    return canvas.figure(margin=dict(l=8, r=8, t=60, b=8))


def _chosen(refs: tuple[str, str], r: int, c: int) -> list[dict]:
    g = 0.12  # inside the cell, so it shows within the orange outline of a window
    return [rect(refs, r + g, r - g, c + g, c - g, color=CHOSEN, width=4)]


def filled(shape: Sequence[int], cells: Sequence[tuple[int, ...]], values: Sequence[float]) -> np.ndarray:
    """An array of ``shape`` with ``values`` at ``cells`` and NaN elsewhere: a gradient computed so far."""
    out = np.full(tuple(shape), np.nan)
    for cell, v in zip(cells, values):
        out[cell] = v
    return out


def step_caption(index: int, n: int, target: str, value: float) -> str:
    """ "Step 3 of 18: dW1[0,0,2] = 0.42"."""
    return f"Step {index + 1} of {n}: {target} = {fmt(value)}"


# ---------------------------------------------------------------- one figure per stage of the page


def _c(cell: Sequence[int]) -> tuple[int, int]:
    """A vector cell (k,) as the (row, 0) cell of its column."""
    return (int(cell[0]), 0)


def _so_far(records: Sequence, index: int, shape: Sequence[int], keep=lambda r: True) -> np.ndarray:
    done = [r for r in records[: index + 1] if keep(r)]
    return filled(shape, [r.cell for r in done], [r.result for r in done])


def _fill(title: str, full: np.ndarray, z: np.ndarray, current: tuple[int, int] | None) -> Panel:
    return Panel(title, z, current=current, filling=True, zrange=symmetric_range(full))


def forward_figure(arrays: dict[str, np.ndarray], f: int, loss: float) -> go.Figure:
    """x ∗ W1[f] + b1[f] = z1[f] → activation → pooling (the softmax has its own bar chart)."""
    panels = [
        Panel(f"x {arrays['x'].shape[0]}×{arrays['x'].shape[1]}", arrays["x"], signed=False),
        Panel(f"W1[{f}]", arrays["W1"][f]),
        Panel(f"z1[{f}]", arrays["z1"][f]),
        Panel(f"a1[{f}]", arrays["a1"][f]),
        Panel(f"p1[{f}]", arrays["p1"][f]),
    ]
    n = arrays["W1"].shape[0]
    caption = f"Filter {f + 1} of {n} · b1[{f}] = {fmt(arrays['b1'][f])} · loss L = {fmt(loss)}"
    return backward_figure(panels, caption, ("∗", "=", "→", "→"))


def flatten_figure(arrays: dict[str, np.ndarray]) -> go.Figure:
    """df (D,) read back as dp1 (C, OH, OW): the flatten has no weights, its gradient is a reshape."""
    dp1 = arrays["dp1"]
    panels = [Panel(f"df ({arrays['df'].size})", column(arrays["df"]))]
    panels += [Panel(f"dp1[{c}]", dp1[c]) for c in range(dp1.shape[0])]
    caption = f"df reshaped to dp1: {dp1.shape[0]} maps of {dp1.shape[1]}×{dp1.shape[2]}, channel by channel"
    return backward_figure(panels, caption, ("=",) + ("",) * (dp1.shape[0] - 1))


def stage_figure(arrays: dict[str, np.ndarray], stage: str, records: Sequence, index: int) -> go.Figure:
    """The figure of one steppable stage at step ``index`` of its ``records``."""
    r = records[index]
    a = arrays
    caption = step_caption(index, len(records), f"{r.target}[{','.join(map(str, r.cell))}]", r.result)
    if stage == "pool":
        caption = step_caption(index, len(records), f"routed from dp1[{','.join(map(str, r.cell))}]", r.result)
    build = _BUILDERS[stage]
    panels, signs = build(a, records, index, r)
    return backward_figure(panels, caption, signs)


def _loss(a, records, index, r):
    k = _c(r.cell)
    reads = tuple(_c(c) for c in r.reads["p"])
    return [
        Panel("p", column(a["p"]), reads=reads, signed=False, zrange=(0.0, 1.0)),
        Panel("t", column(a["t"]), reads=(k,), signed=False, zrange=(0.0, 1.0)),
        _fill("dz2", a["dz2"], column(_so_far(records, index, a["dz2"].shape)), k),
    ], ("−", "→")


def _dense_w(a, records, index, r):
    k, d = r.cell
    return [
        Panel("dz2", column(a["dz2"]), reads=((k, 0),)),
        Panel("fᵀ", a["f"][None, :], reads=((0, d),)),
        _fill("dW2", a["dW2"], _so_far(records, index, a["dW2"].shape), (k, d)),
    ], ("·", "=")


def _dense_b(a, records, index, r):
    k = _c(r.cell)
    return [
        Panel("dz2", column(a["dz2"]), reads=(k,)),
        _fill("db2", a["db2"], column(_so_far(records, index, a["db2"].shape)), k),
    ], ("=",)


def _dense_x(a, records, index, r):
    d = r.cell[0]
    k_n = a["W2"].shape[0]
    return [
        Panel(f"W2 (column {d})", a["W2"], reads=tuple((k, d) for k in range(k_n))),
        Panel("dz2", column(a["dz2"]), reads=tuple((k, 0) for k in range(k_n))),
        _fill("df", a["df"], column(_so_far(records, index, a["df"].shape)), (d, 0)),
    ], ("ᵀ·", "=")


def _pool(a, records, index, r):
    c, i, j = r.cell
    window = tuple(cell[1:] for cell in r.reads["a1"])
    winner = r.writes[0][1:] if len(r.writes) == 1 else None
    routed = np.full(a["da1"][c].shape, np.nan)
    for done in records[: index + 1]:
        for cell in done.writes:
            if cell[0] == c:
                routed[cell[1:]] = (0.0 if np.isnan(routed[cell[1:]]) else routed[cell[1:]]) + done.result
    return [
        Panel(f"a1[{c}]", a["a1"][c], reads=window, chosen=winner),
        Panel(f"dp1[{c}]", a["dp1"][c], current=(i, j)),
        Panel(
            f"da1[{c}]",
            routed,
            reads=tuple(cell[1:] for cell in r.writes),
            filling=True,
            zrange=symmetric_range(a["da1"]),
        ),
    ], ("", "→")


def _act(a, records, index, r):
    c, i, j = r.cell
    z = _so_far(records, index, a["dz1"].shape)[c]
    return [
        Panel(f"z1[{c}]", a["z1"][c], reads=((i, j),)),
        Panel(f"da1[{c}]", a["da1"][c], reads=((i, j),)),
        _fill(f"dz1[{c}]", a["dz1"], z, (i, j)),
    ], ("", "→")


def _conv_w(a, records, index, r):
    f, rr, ss = r.cell
    name = "xp" if "xp" in r.reads else "x"
    z = _so_far(records, index, a["dW1"].shape, lambda s: s.cell[0] == f)[f]
    title = "x, padded" if name == "xp" else "x"
    return [
        Panel(title, a["xp"], reads=r.reads[name], signed=False),
        Panel(f"dz1[{f}]", a["dz1"][f]),  # every cell is read: no wash
        _fill(f"dW1[{f}]", a["dW1"], z, (rr, ss)),
    ], ("⋆", "=")


def _conv_b(a, records, index, r):
    f = r.cell[0]
    return [
        Panel(f"dz1[{f}]", a["dz1"][f]),  # every cell is summed: no wash
        _fill("db1", a["db1"], column(_so_far(records, index, a["db1"].shape)), (f, 0)),
    ], ("Σ →",)


def _conv_x(a, records, index, r):
    panels, signs = [], []
    for f in range(a["W1"].shape[0]):
        g_cells = tuple(cell[1:] for cell in r.reads.get("dz1", ()) if cell[0] == f)
        w_cells = tuple(cell[1:] for cell in r.reads.get("W1", ()) if cell[0] == f)
        panels += [Panel(f"dz1[{f}]", a["dz1"][f], reads=g_cells), Panel(f"W1[{f}]", a["W1"][f], reads=w_cells)]
        signs += ["·", "+"]
    signs[-1] = "="
    panels.append(_fill("dx", a["dx"], _so_far(records, index, a["dx"].shape), r.cell))
    return panels, tuple(signs)


def _update(a, records, index, r):
    name = r.target
    same = (lambda s: s.target == name and s.cell[0] == r.cell[0]) if name == "W1" else (lambda s: s.target == name)
    before, grad = a[name], a["d" + name]
    after = _so_far(records, index, before.shape, same)
    cell = r.cell
    if name == "W1":  # one filter's kernel at a time
        before, grad, after, cell = before[cell[0]], grad[cell[0]], after[cell[0]], cell[1:]
        label = f"[{r.cell[0]}]"
    else:
        label = ""
    if before.ndim == 1:
        before, grad, after, cell = column(before), column(grad), column(after), _c(cell)
    full = np.concatenate([before.ravel(), after[np.isfinite(after)].ravel()])
    return [
        Panel(f"{name}{label} before", before, reads=(cell,)),
        Panel(f"d{name}{label}", grad, reads=(cell,)),
        Panel(f"{name}{label} after", after, current=cell, filling=True, zrange=symmetric_range(full)),
    ], ("− α·", "=")


_BUILDERS = {
    "loss": _loss,
    "dense_w": _dense_w,
    "dense_b": _dense_b,
    "dense_x": _dense_x,
    "pool": _pool,
    "act": _act,
    "conv_w": _conv_w,
    "conv_b": _conv_b,
    "conv_x": _conv_x,
    "update": _update,
}
