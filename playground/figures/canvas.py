"""A figure under construction (``Canvas``: traces, axes, shapes and annotations as plain dicts), the figure
that carries a finished spec unvalidated (``PrebuiltFigure``), and the pieces panels are made of: heatmap
traces, the padded input, axis ranges and domains, heights, captions and the signs between panels.

Figures are assembled as plain dicts and wrapped in ``go.Figure(..., _validate=False)`` at the end:
Plotly's validation would cost 10-15 ms per step figure. ``tests/test_figures.py`` validates every builder's
output with a full ``go.Figure(fig.to_dict())`` instead, so skipping it here loses no safety.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import to_typed_array_spec  # what go.Figure's to_dict uses

from playground.figures.common import (
    CONTAINER_PX,
    FONT,
    GREYS,
    GRID_MARGIN,
    PADDING_BORDER,
    PADDING_FILL,
    PLAIN,
    fmt,
    labels,
    value_range,
)
from playground.figures.shapes import rect


@dataclass
class Canvas:
    """A figure under construction: traces, axes, shapes and annotations as plain dicts."""

    height: int = 420
    data: list[dict] = field(default_factory=list)
    layout: dict = field(default_factory=dict)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    n_axes: int = 0

    def axes(
        self,
        x_domain: tuple[float, float],
        y_domain: tuple[float, float] = (0.0, 1.0),
        *,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        square: bool = True,
        title: str | None = None,
    ) -> tuple[str, str]:
        """Add an x/y axis pair with fixed ranges; return their refs ('x3', 'y3')."""
        self.n_axes += 1
        n = "" if self.n_axes == 1 else str(self.n_axes)
        xa, ya = f"xaxis{n}", f"yaxis{n}"
        xref, yref = f"x{n}", f"y{n}"
        common = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="", fixedrange=True, showline=False)
        self.layout[xa] = dict(common, domain=list(x_domain), range=list(x_range), anchor=yref)
        self.layout[ya] = dict(common, domain=list(y_domain), range=list(y_range), anchor=xref)
        if square:
            self.layout[xa].update(scaleanchor=yref, scaleratio=1, constrain="domain")
            self.layout[ya].update(constrain="domain")
        if title:
            self.annotations.append(
                dict(
                    text=title,
                    xref=f"{xref} domain",
                    yref=f"{yref} domain",
                    x=0.5,
                    y=1.0,
                    yanchor="bottom",
                    showarrow=False,
                    font=dict(size=FONT["size"], color=FONT["color"]),
                    yshift=4,
                )
            )
        return xref, yref

    def panel_px(
        self, x_domain: tuple[float, float], y_domain: tuple[float, float] = (0.0, 1.0), margin_px: float = 60.0
    ) -> float:
        """Approximate side in pixels of a square panel placed in these domains."""
        return min((x_domain[1] - x_domain[0]) * CONTAINER_PX, (y_domain[1] - y_domain[0]) * (self.height - margin_px))

    def grid(
        self,
        z: np.ndarray,
        refs: tuple[str, str],
        *,
        colorscale: list,
        zmin: float,
        zmax: float,
        name: str,
        numbers: bool,
        font_size: int = 14,
        text: list[list[str]] | None = None,
        hover: str = "value",
    ) -> int:
        """Add a heatmap of ``z`` (rows, cols) on the axes ``refs``; NaN cells stay blank. Returns its index."""
        trace = heatmap_trace(
            z,
            refs,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            name=name,
            numbers=numbers,
            font_size=font_size,
            text=text,
            hover=hover,
        )
        self.data.append(trace)
        return len(self.data) - 1

    def figure(self, **layout: Any) -> go.Figure:
        """The finished figure (not re-validated: see the module docstring)."""
        return go.Figure(self.to_dict(**layout), _validate=False)  # its to_dict sends arrays in binary form

    def to_dict(self, **layout: Any) -> dict:
        lay = dict(
            height=self.height,
            margin=dict(l=8, r=8, t=40, b=8),
            **PLAIN,
            showlegend=False,
            shapes=list(self.shapes),
            annotations=list(self.annotations),
            hoverlabel=dict(font_size=15),
        )
        lay.update(self.layout)
        lay.update(layout)
        return {"data": self.data, "layout": lay}


class PrebuiltFigure(go.Figure):
    """A figure whose complete spec is a plain dict built by this package.

    ``go.Figure`` builds trace objects and validates its layout even with ``_validate=False`` (0.3–1 ms a
    figure), and ``to_dict`` deep-copies the spec, which ``st.plotly_chart`` calls on every rerun (the Draw
    page's figures, on every stroke). This class skips both: ``st.plotly_chart`` only asks for ``to_dict``,
    which returns the stored spec; the ``go.Figure`` behind it is built the first time anything else is
    asked of the figure (``fig.data``, ``fig.layout``, in tests). The spec is shared, so treat it as
    read-only. Tests validate these specs in full.

    Numpy arrays in the traces travel in Plotly's binary form ({dtype, bdata, shape}), as ``go.Figure``'s
    own ``to_dict`` sends them: a float32 map is a quarter of the characters of a JSON list. Give an
    array the dtype it should travel as (float32 values, uint8 indexes); plain lists stay lists.
    """

    def __init__(self, spec: dict) -> None:  # noqa: D107 - no go.Figure yet: see the class docstring
        spec = {**spec, "data": [_binary(trace) for trace in spec["data"]]}
        object.__setattr__(self, "_spec", spec)

    def __getattr__(self, name: str) -> Any:
        # only reached for what the instance does not have yet: build the go.Figure once, then look again
        held = self.__dict__
        if "_spec" not in held or held.get("_built"):
            raise AttributeError(name)
        object.__setattr__(self, "_built", True)
        spec = held["_spec"]
        go.Figure.__init__(self, {"data": spec["data"], "layout": spec["layout"]}, _validate=False)
        return getattr(self, name)

    def to_dict(self) -> dict:  # noqa: D102 - see the class docstring
        if self.__dict__.get("_built"):  # changed through go.Figure's own methods, maybe: ask it
            return super().to_dict()
        return self._spec


def _binary(value: Any) -> Any:
    """``value`` with every numpy array in it (at any depth of dicts) in Plotly's binary array form."""
    if isinstance(value, np.ndarray):
        return to_typed_array_spec(value)
    if isinstance(value, dict):
        return {k: _binary(v) for k, v in value.items()}
    return value


def fit_height(
    doms: Sequence[tuple[float, float]],
    grids: Sequence[tuple[int, int]],
    *,
    max_cell: float = 60.0,
    y_span: float = 0.93,
    extra: float = 52.0,
    low: int = 260,
    high: int = 640,
) -> int:
    """Figure height that fits square-celled panels (``grids`` rows×cols in x domains ``doms``) to
    their widths, cells at most ``max_cell`` px: no empty band above and below on a wide screen."""
    need = 0.0
    for (x0, x1), (rows, cols) in zip(doms, grids):
        cell = min((x1 - x0) * CONTAINER_PX / cols, max_cell)
        need = max(need, cell * rows)
    return int(np.clip(need / y_span + extra, low, high))


def grid_ranges(rows: int, cols: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Fixed x and y ranges for a rows×cols grid with row 0 at the top, with a 0.1-cell margin so
    outlines drawn just outside the edge cells are not clipped."""
    m = GRID_MARGIN
    return (-0.5 - m, cols - 0.5 + m), (rows - 0.5 + m, -0.5 - m)


def heatmap_trace(
    z: np.ndarray,
    refs: tuple[str, str],
    *,
    colorscale: list,
    zmin: float,
    zmax: float,
    name: str,
    numbers: bool,
    font_size: int = 14,
    text: list[list[str]] | None = None,
    hover: str = "value",
) -> dict:
    """One heatmap trace as a dict."""
    z = np.array(z, dtype=np.float64)  # a copy; NaN cells travel as NaN and render blank
    trace: dict[str, Any] = dict(
        type="heatmap",
        z=z,
        xaxis=refs[0],
        yaxis=refs[1],
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        showscale=False,
        name=name,
        hoverongaps=False,
        xgap=1 if z.shape[1] <= 60 else 0,
        ygap=1 if z.shape[0] <= 60 else 0,  # gaps would hide thin cells
        hovertemplate=f"row %{{y}}, col %{{x}}<br>{hover} %{{z:.4g}}<extra>{name}</extra>",
    )
    if numbers:
        text = text if text is not None else labels(z)
        longest = max((len(t) for row in text for t in row), default=1)
        size = font_size if longest <= 4 else max(8, int(font_size * 4.5 / longest))  # long labels shrink
        trace.update(text=text, texttemplate="%{text}", textfont=dict(size=size))
    return trace


def padded_panel(
    canvas: Canvas,
    padded: np.ndarray,
    pads: Sequence[int],
    refs: tuple[str, str],
    *,
    numbers: bool,
    font_size: int,
    name: str = "input",
    pad_text: str | None = None,
    colorscale: list | None = None,
    zrange: tuple[float, float] | None = None,
) -> None:
    """The padded input: real cells on ``colorscale``, padding cells in wheat with a dashed border.

    ``padded`` is (Hp, Wp); ``pads`` is (top, bottom, left, right). ``pad_text`` replaces the
    numbers shown in padding cells (e.g. '−∞' for max pooling), None shows their values.
    """
    padded = np.asarray(padded, dtype=np.float64)
    hp, wp = padded.shape
    top, bottom, left, right = (int(p) for p in pads)
    inner = np.zeros_like(padded, dtype=bool)
    inner[top : hp - bottom, left : wp - right] = True
    real = np.where(inner, padded, np.nan)
    zmin, zmax = zrange or value_range(real)
    canvas.grid(
        real,
        refs,
        colorscale=colorscale or GREYS,
        zmin=zmin,
        zmax=zmax,
        name=name,
        numbers=numbers,
        font_size=font_size,
    )
    if not inner.all():
        pad_vals = np.where(inner, np.nan, np.where(np.isfinite(padded), padded, 0.0))
        text = None
        if numbers:
            text = [
                ["" if ok else (pad_text if pad_text is not None else fmt(v)) for ok, v in zip(irow, prow)]
                for irow, prow in zip(inner, padded)
            ]
        canvas.grid(
            pad_vals,
            refs,
            colorscale=[[0, PADDING_FILL], [1, PADDING_FILL]],
            zmin=0,
            zmax=1,
            name="padding",
            numbers=numbers,
            font_size=font_size,
            text=text,
            hover="padding",
        )
        canvas.shapes.append(
            rect(refs, top, hp - bottom - 1, left, wp - right - 1, color=PADDING_BORDER, width=2, dash="dash")
        )


def signs_between(doms: Sequence[tuple[float, float]], signs: Sequence[str], y: float, size: int = 30) -> list[dict]:
    """Operator signs ("∗", "=", "→") centred in the gaps between consecutive panel domains ("" leaves a gap bare)."""
    return [
        dict(
            text=sign,
            xref="paper",
            yref="paper",
            x=(a[1] + b[0]) / 2,
            y=y,
            showarrow=False,
            font=dict(size=size * 5 // 3 if sign == "⋆" else size, color=FONT["color"]),  # the star's glyph is small
        )
        for (a, b), sign in zip(zip(doms, doms[1:]), signs)
        if sign
    ]


def caption(text: str) -> dict:
    """The step line above a stepping figure's left edge: "Step 3 of 9: output (0, 2) = 37" (the chart's
    toolbar, shown on hover and after a tap on a phone, sits at the top right and covered its end)."""
    return dict(
        text=text,
        xref="paper",
        yref="paper",
        x=0.0,
        xanchor="left",
        y=1.0,
        yanchor="bottom",
        yshift=22,
        showarrow=False,
        font=dict(size=16, color=FONT["color"]),
    )


def domains(weights: Sequence[float], gap: float = 0.04) -> list[tuple[float, float]]:
    """Split [0, 1] into consecutive domains proportional to ``weights`` with ``gap`` between them."""
    total = float(sum(weights))
    free = 1.0 - gap * (len(weights) - 1)
    out, x = [], 0.0
    for w in weights:
        span = free * w / total
        out.append((round(x, 6), round(min(1.0, x + span), 6)))
        x += span + gap
    return out
