"""Shared pieces of the Plotly builders: colours, number labels, grid panels, outline shapes.

Figures are assembled as plain dicts and wrapped in ``go.Figure(..., _validate=False)`` at the end:
Plotly's validation would cost 10-15 ms per step figure. ``tests/test_figures.py`` validates every builder's
output with a full ``go.Figure(fig.to_dict())`` instead, so skipping it here loses no safety.

Conventions: a grid panel shows row 0 at the top (reversed y), cells are square, axis ranges are
fixed, and cells carry their numbers when the grid is small enough
to read on a projector (:data:`MAX_LABELLED`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import plotly.graph_objects as go

CONTAINER_PX = 1000  # typical main-column width in the wide layout (940 px at 1400 px), for sizing
GRID_MARGIN = 0.1  # cells of room around a grid panel for the highlight outlines
MAX_LABELLED = 14  # grids up to 14×14 (a 12×12 input with padding 1) show their numbers
FONT = dict(family="Inter, Arial, sans-serif", size=16, color="#1f2937")

# Colour-blind-safe choices: ColorBrewer RdBu (blue = negative, red = positive) for signed values,
# plain black-to-white for images (0 = black like MNIST), Okabe-Ito orange / sky blue for highlights.
DIVERGING = [
    [0.0, "#053061"],
    [0.1, "#2166ac"],
    [0.2, "#4393c3"],
    [0.3, "#92c5de"],
    [0.4, "#d1e5f0"],
    [0.5, "#f7f7f7"],
    [0.6, "#fddbc7"],
    [0.7, "#f4a582"],
    [0.8, "#d6604d"],
    [0.9, "#b2182b"],
    [1.0, "#67001f"],
]
GREYS = [[0.0, "#000000"], [1.0, "#ffffff"]]
BLUES = [[0.0, "#f7fbff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]  # counts
PADDING_FILL = "#f5deb3"  # wheat: padding cells never look like image pixels
PADDING_BORDER = "#b45309"  # dashed line around the real input
WINDOW = "#E69F00"  # Okabe-Ito orange: the kernel window and the current output cell
WINDOW_UNDER = "#000000"  # drawn under the orange so it shows on white, grey and red cells
CHOSEN = "#56B4E9"  # Okabe-Ito sky blue: the maximum a max-pool picked
EMPTY_SLOT = "#e5e7eb"  # output cells not computed yet
CHANGED = "#CC79A7"  # Okabe-Ito reddish purple: pooled cells a shift changed


def typed(values: np.ndarray, dtype: str) -> dict:
    """``values`` as ``dtype`` in Plotly's binary array form ({dtype, bdata, shape}): a quarter of the
    characters of a JSON list of floats, and plotly.js reads it directly. Only for what the browser draws
    or shows on hover; what comes back in a selection should stay a plain list."""
    a = np.ascontiguousarray(values, dtype=dtype)
    spec = {
        "dtype": {"float32": "f4", "uint8": "u1", "uint16": "u2"}[a.dtype.name],
        "bdata": base64.b64encode(a).decode(),
    }
    if a.ndim > 1:
        spec["shape"] = ", ".join(map(str, a.shape))
    return spec


class WindowLike(Protocol):
    """What the builders need from an engine step record (``ops.ConvStep`` / ``ops.PoolStep``)."""

    index: int
    out_pos: tuple[int, int]
    rows: tuple[int, ...]
    cols: tuple[int, ...]


def scale_rgb(t: np.ndarray, scale: Sequence[Sequence]) -> np.ndarray:
    """(..., 3) float RGB of positions ``t`` in [0, 1] on a Plotly-style ``scale`` ([[position, '#rrggbb'], ...]),
    interpolated in RGB between stops as Plotly does."""
    stops = np.array([float(p) for p, _ in scale])
    rgbs = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in scale], dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return np.stack([np.interp(t, stops, rgbs[:, k]) for k in range(3)], axis=-1)


def fmt(v: float) -> str:
    """A cell label: integers without '.0', else up to 2 decimals, big numbers in e-notation."""
    if v is None or not np.isfinite(v):
        return "" if v is None or np.isnan(v) else ("∞" if v > 0 else "−∞")
    if abs(v) >= 1e5:
        s = f"{v:.1e}"
    elif float(v).is_integer():
        s = str(int(v))
    else:  # ~3 significant digits: a cell label, the exact value is in the hover and the arithmetic
        s = f"{v:.{0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2}f}"
        s = s.rstrip("0").rstrip(".") if "." in s else s
        if s in ("-0", "0"):
            s = "0" if abs(v) < 0.005 else s
    return s.replace("-", "−")


def labels(z: np.ndarray) -> list[list[str]]:
    """Cell labels for a 2-D array (empty strings for NaN, i.e. not yet computed)."""
    return [[fmt(v) for v in row] for row in np.asarray(z, dtype=np.float64)]


def show_numbers(shape: Sequence[int]) -> bool:
    """Whether a grid of ``shape`` (rows, cols) is small enough to print its numbers."""
    return max(shape[0], shape[1]) <= MAX_LABELLED


def symmetric_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value| (1 when there is none), for a diverging scale."""
    m = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            m = max(m, float(np.abs(finite).max()))
    m = m or 1.0
    return -m, m


def value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values, widened when flat so a colour scale still works."""
    finite = [np.asarray(a, dtype=np.float64) for a in arrays]
    finite = [a[np.isfinite(a)] for a in finite]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    lo = min(float(a.min()) for a in finite)
    hi = max(float(a.max()) for a in finite)
    if hi <= lo:
        return (lo - 1.0, hi + 1.0) if lo != 0 else (0.0, 1.0)
    return lo, hi


def numbers_fit(rows: int, cols: int, panel_px: float, min_cell_px: float = 30.0) -> bool:
    """Whether cell numbers are readable: a small grid (:func:`show_numbers`) with cells ≥ ``min_cell_px``."""
    return show_numbers((rows, cols)) and panel_px / max(rows, cols, 1) >= min_cell_px


def label_font_size(rows: int, cols: int, panel_px: float) -> int:
    """Font size for cell numbers so ~5 characters ('−1.75') fit a cell of a panel ``panel_px`` across."""
    cell = panel_px / max(rows, cols, 1)
    return int(np.clip(cell / 2.7, 9, 24))


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
            font=FONT,
            template={},
            paper_bgcolor="rgba(0,0,0,0)",
            plot_bgcolor="rgba(0,0,0,0)",
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
    """

    def __init__(self, spec: dict) -> None:  # noqa: D107 - no go.Figure yet: see the class docstring
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


def rect(
    refs: tuple[str, str],
    r0: float,
    r1: float,
    c0: float,
    c1: float,
    *,
    color: str,
    width: float = 3,
    dash: str = "solid",
    fill: str | None = None,
    kind: str = "rect",
) -> dict:
    """A rectangle around rows r0..r1 and columns c0..c1 (inclusive cell indices) of a grid panel."""
    line = dict(color=color, width=width) if dash == "solid" else dict(color=color, width=width, dash=dash)
    shape = dict(
        type=kind, xref=refs[0], yref=refs[1], x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5, line=line
    )  # compact: animations repeat these in every frame
    if fill:
        shape["fillcolor"] = fill
    return shape


def outline(refs: tuple[str, str], r0: int, r1: int, c0: int, c1: int, width: float = 4) -> list[dict]:
    """The highlight outline: orange over a wider black line, visible on any cell colour, drawn a
    little outside the cells so it does not hide their numbers."""
    g = 0.06
    return [
        rect(refs, r0 - g, r1 + g, c0 - g, c1 + g, color=WINDOW_UNDER, width=width + 3),
        rect(refs, r0 - g, r1 + g, c0 - g, c1 + g, color=WINDOW, width=width),
    ]


def slots(refs: tuple[str, str], rows: int, cols: int) -> dict:
    """A light background under a grid panel, so cells not yet computed show as empty slots."""
    return dict(
        type="rect",
        xref=refs[0],
        yref=refs[1],
        x0=-0.5,
        x1=cols - 0.5,
        y0=-0.5,
        y1=rows - 0.5,
        line=dict(width=0),
        fillcolor=EMPTY_SLOT,
        layer="below",
    )


def window_shapes(refs: tuple[str, str], rows: Sequence[int], cols: Sequence[int]) -> list[dict]:
    """Outline of a kernel window on the padded input; dilated windows also mark every tapped cell."""
    shapes = outline(refs, min(rows), max(rows), min(cols), max(cols))
    dilated = len(rows) > 1 and rows[1] - rows[0] > 1 or len(cols) > 1 and cols[1] - cols[0] > 1
    if dilated:
        shapes += [
            rect(refs, r, r, c, c, color=WINDOW, width=2, fill="rgba(230,159,0,0.35)") for r in rows for c in cols
        ]
    return shapes


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
    """The step line above a stepping figure's right edge: "Step 3 of 9: output (0, 2) = 37"."""
    return dict(
        text=text,
        xref="paper",
        yref="paper",
        x=1.0,
        xanchor="right",
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
