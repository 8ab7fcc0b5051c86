"""How a finished figure is shown: the colour palette of its heatmaps, the presenter's larger type and
shorter figures, and the numbers behind its heatmaps (for a table beside the picture).

Builders draw with the standard scales of ``figures.common`` (``DIVERGING`` for signed values, ``GREYS``
for images, ``BLUES`` for counts); :func:`restyle` swaps each for the chosen palette's, so every heatmap
of every page follows one choice without each builder taking a palette. The player's and the GIF's
colours come from :meth:`Palette.scale_for` the same way.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import PrebuiltFigure
from playground.figures.common import BLUES, DIVERGING, GREYS

Scale = list[list]


def _stops(colours: Sequence[str]) -> Scale:
    n = len(colours) - 1
    return [[round(i / n, 6), c] for i, c in enumerate(colours)]


# Signed values on a projector: zero is mid-grey (a white zero vanishes into a washed-out screen), the
# two signs differ in hue along the blue-yellow axis that every common colour-vision deficiency keeps,
# and brightness rises monotonically from the most negative to the most positive value, so the order
# survives a greyscale printout too.
BLUE_GREY_YELLOW = [
    [0.0, "#0b2e6b"],
    [0.25, "#3f6db3"],
    [0.5, "#9b9b9b"],
    [0.75, "#d9a73a"],
    [1.0, "#fff3a3"],
]
CIVIDIS = _stops(
    ["#00224e", "#123570", "#3b496c", "#575d6d", "#707173", "#8a8678", "#a59c74", "#c3b369", "#e1cc55", "#fee838"]
)
VIRIDIS = _stops(
    ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
)


@dataclass(frozen=True)
class Palette:
    """The colour scales of one palette: ``signed`` (zero in the middle), ``magnitude`` (images and maps
    of values ≥ 0) and ``counts`` (a confusion matrix)."""

    key: str  # in the address: ?palette=cividis
    label: str
    signed: Scale
    magnitude: Scale
    counts: Scale
    signs: str  # how the signed scale reads, for captions
    strong: str  # the colours of large magnitudes (the Draw page's saliency), for captions

    def scale_for(self, standard: Scale) -> Scale:
        """This palette's scale in place of the standard scale ``standard`` (any other scale is kept)."""
        norm = _norm(standard)
        for base, mine in ((DIVERGING, self.signed), (GREYS, self.magnitude), (BLUES, self.counts)):
            if norm == _norm(base):
                return mine
        return standard


STANDARD = Palette(
    "standard",
    "Standard (red–blue, greys)",
    DIVERGING,
    GREYS,
    BLUES,
    "red positive, blue negative, white zero",
    "yellow and red",
)
PALETTES = {
    p.key: p
    for p in (
        STANDARD,
        Palette(
            "cividis",
            "Projector, colour-blind safe (grey zero, cividis)",
            BLUE_GREY_YELLOW,
            CIVIDIS,
            CIVIDIS,
            "yellow positive, blue negative, grey zero",
            "yellow",
        ),
        Palette(
            "viridis",
            "Projector, colour-blind safe (grey zero, viridis)",
            BLUE_GREY_YELLOW,
            VIRIDIS,
            VIRIDIS,
            "yellow positive, blue negative, grey zero",
            "yellow and green",
        ),
    )
}


def _norm(scale: Any) -> list[tuple[float, str]] | None:
    """A colour scale as [(position, '#rrggbb')] for comparison (Plotly validates lists into tuples)."""
    try:
        return [(round(float(p), 6), str(c).lower()) for p, c in scale]
    except (TypeError, ValueError):
        return None  # a named scale ('Viridis') or anything else: never one of ours


@dataclass(frozen=True)
class Look:
    """How figures are shown: ``palette``; ``min_text`` px for cell numbers and titles (0: as built);
    ``height`` px for the figure (None: as built)."""

    palette: Palette = STANDARD
    min_text: int = 0
    height: int | None = None

    @property
    def plain(self) -> bool:
        return self.palette is STANDARD and not self.min_text and self.height is None


def _bigger(font: Any, least: int) -> dict:
    font = dict(font or {})
    font["size"] = max(float(font.get("size") or 0), least)
    return font


def restyle(fig: go.Figure, look: Look) -> go.Figure:
    """``fig`` shown the ``look`` way: heatmap scales swapped for the palette's, cell numbers and
    annotation titles at least ``min_text`` px (with the top margin grown to match), the height set. The standard look returns ``fig``
    itself (no copy, nothing recomputed); otherwise a new figure (``fig``'s spec may be shared, so
    nothing of it is changed in place)."""
    if look.plain:
        return fig
    spec = fig.to_dict()
    data = []
    for trace in spec["data"]:
        trace = dict(trace)
        if "colorscale" in trace:
            trace["colorscale"] = look.palette.scale_for(trace["colorscale"])
        if look.min_text and trace.get("type") == "heatmap" and "textfont" in trace:
            trace["textfont"] = _bigger(trace["textfont"], look.min_text)
        data.append(trace)
    layout = dict(spec["layout"])
    if look.min_text:
        layout["annotations"] = [
            {**a, "font": _bigger(a.get("font"), look.min_text)} for a in layout.get("annotations", ())
        ]
        if isinstance(layout.get("title"), dict) and "font" in layout["title"]:
            layout["title"] = {**layout["title"], "font": _bigger(layout["title"]["font"], look.min_text)}
        margin = dict(layout.get("margin") or {})
        margin["t"] = int(margin.get("t", 40)) + 2 * max(0, look.min_text - 16)  # room for the taller titles
        layout["margin"] = margin
    if look.height is not None:
        layout["height"] = look.height
    return PrebuiltFigure({"data": data, "layout": layout})


@dataclass(frozen=True)
class NumberGrid:
    """One panel of a figure as its numbers: ``title`` and ``values`` (rows, cols), NaN where blank."""

    title: str
    values: np.ndarray


def _titles(layout: dict) -> dict[str, str]:
    """Axis ref ('x2') -> the title annotation placed over that panel ('Kernel 2×2')."""
    out = {}
    for a in layout.get("annotations", ()):
        ref = str(a.get("xref", ""))
        if ref.endswith(" domain") and a.get("text"):
            out.setdefault(ref.split(" ")[0], str(a["text"]))
    return out


def _array(z: Any) -> np.ndarray:
    """A trace's ``z`` as floats: a list, an array, or Plotly's typed-array form {dtype, bdata, shape}."""
    if isinstance(z, dict) and "bdata" in z:
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        shape = [int(n) for n in str(z.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).astype(np.float64)
    return np.array(z, dtype=np.float64)


def number_grids(fig: go.Figure) -> list[NumberGrid]:
    """The numbers of every heatmap panel of ``fig``, in the order drawn. Traces sharing one panel (an
    input and its padding) are merged into one grid: the first trace's value where it has one."""
    spec = fig.to_dict()
    titles = _titles(spec["layout"])
    panels: dict[tuple[str, str], tuple[str, np.ndarray]] = {}
    for trace in spec["data"]:
        if trace.get("type") != "heatmap" or trace.get("z") is None:
            continue
        z = _array(trace["z"])
        if z.ndim != 2:
            continue
        refs = (str(trace.get("xaxis", "x")), str(trace.get("yaxis", "y")))
        if refs in panels and panels[refs][1].shape == z.shape:
            title, held = panels[refs]
            panels[refs] = (title, np.where(np.isnan(held), z, held))
        else:
            title = titles.get(refs[0]) or str(trace.get("name") or "values")
            panels[refs if refs not in panels else (*refs, len(panels))] = (title, z)
    return [NumberGrid(title, values) for title, values in panels.values()]
