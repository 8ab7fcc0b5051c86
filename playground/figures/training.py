"""Plotly builders for the Train page: numpy arrays in, ``go.Figure`` out (no streamlit, no torch).

- :func:`curves_figure` — training loss per logged step and validation loss / accuracy, one run live or
  several overlaid for comparison (x axis in epochs, so runs with other batch sizes line up).
- :func:`confusion_figure`, :func:`per_class_figure` — how a model does on the held-out test images.
- :func:`gallery_figure` — misclassified images with their true and predicted labels.
- :func:`maps_figure` — feature maps as they learn (the kernels: ``figures.draw.kernels_figure``, as on
  the Draw page).

Figures are plain dicts wrapped once in ``go.Figure(..., _validate=False)`` (see ``common``): the curve
figure is rebuilt twice a second per training user. Image mosaics go out as one heatmap each; feature
maps travel as uint8 (a quarter of float32) because they are resent every second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from playground.figures.common import BLUES, FONT, GREYS, PLAIN

RUN_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
GAP = "#bfdbfe"  # pale blue between feature-map tiles: never a value of a grey image
_AXIS = dict(
    showgrid=True,
    gridcolor="#e5e7eb",
    zeroline=False,
    linecolor="#9ca3af",
    showline=True,
    ticks="outside",
    automargin=True,
)
_HOVER = "step %{{customdata:,}}<br>epoch %{{x:.2f}}<br>{}<extra></extra>"
_HIDDEN = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="", showline=False, fixedrange=True)


@dataclass(frozen=True)
class CurveSeries:
    """One run's history as the engine logged it (TrainSnapshot.train_loss / .val as arrays)."""

    label: str  # "Run 2"
    train: np.ndarray  # (n, 2): step, mean training loss since the previous point
    val: np.ndarray  # (m, 3): step, validation loss, validation accuracy 0..1
    steps_per_epoch: int
    train_acc: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (n, 2): step, accuracy 0..1
    penalty: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (n, 2): step, L1/L2 term in the loss
    loss_name: str = "cross-entropy"  # what the training and validation losses measure

    @classmethod
    def of(
        cls,
        label: str,
        train: Sequence,
        val: Sequence,
        steps_per_epoch: int,
        train_acc: Sequence = (),
        penalty: Sequence = (),
        loss_name: str = "cross-entropy",
    ) -> CurveSeries:
        """From the engine's tuples of (step, loss), (step, loss, accuracy), (step, accuracy) and (step, penalty)."""
        t = np.asarray(train, dtype=np.float64).reshape(-1, 2)
        v = np.asarray(val, dtype=np.float64).reshape(-1, 3)
        a = np.asarray(train_acc, dtype=np.float64).reshape(-1, 2)
        pen = np.asarray(penalty, dtype=np.float64).reshape(-1, 2)
        return cls(label, t, v, max(1, int(steps_per_epoch)), a, pen, loss_name)


def _base_layout(height: int, **extra) -> dict:
    lay = dict(
        height=height,
        margin=dict(l=8, r=8, t=36, b=8),
        **PLAIN,
        hoverlabel=dict(font_size=15),
    )
    lay.update(extra)
    return lay


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _title(text: str, xref: str) -> dict:
    return dict(
        text=text,
        xref=f"{xref} domain",
        yref="paper",
        x=0.5,
        y=1.0,
        yanchor="bottom",
        showarrow=False,
        font=dict(size=FONT["size"], color=FONT["color"]),
    )


def losses_differ(series: Sequence[CurveSeries], factor: float = 100.0) -> bool:
    """Whether the runs' largest losses differ by ``factor`` or more (a diverged run beside good ones):
    on a linear axis the others would then lie flat along zero, so the loss axis should be logarithmic."""
    tops = [float(np.max(np.concatenate([s.train[:, 1], s.val[:, 1]]))) for s in series if len(s.train) or len(s.val)]
    tops = [t for t in tops if np.isfinite(t) and t > 0]
    return len(tops) > 1 and max(tops) >= factor * min(tops)


def curves_figure(series: Sequence[CurveSeries], *, height: int = 340, log_loss: bool = False) -> go.Figure:
    """Loss (left) and accuracy in % (right), training and validation, against epochs; the gap between
    training and validation accuracy is what overfitting looks like.

    One series: plain names ("training loss"); several: each run in its own colour, named by its label.
    """
    data: list[dict] = []
    several = len(series) > 1
    for i, s in enumerate(series):
        # one run: training blue, validation orange; several: one colour per run, validation dashed
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        val_colour = colour if several else RUN_COLOURS[1]
        prefix = f"{s.label} · " if several else ""
        t_step, v_step = s.train[:, 0], s.val[:, 0]
        data.append(
            dict(
                type="scatter",
                mode="lines",
                name=f"{prefix}training loss",
                x=t_step / s.steps_per_epoch,
                y=s.train[:, 1],
                customdata=t_step,
                uid=f"train-{i}",
                legendgroup=s.label,
                hovertemplate=_HOVER.format("training loss %{y:.4f}"),
                xaxis="x",
                yaxis="y",
                line=dict(color=colour, width=2),
            )
        )
        data.append(
            dict(
                type="scatter",
                mode="lines+markers",
                name=f"{prefix}validation loss",
                x=v_step / s.steps_per_epoch,
                y=s.val[:, 1],
                customdata=v_step,
                uid=f"val-loss-{i}",
                hovertemplate=_HOVER.format("validation loss %{y:.4f}"),
                xaxis="x",
                yaxis="y",
                marker=dict(size=7, symbol="circle-open"),
                legendgroup=s.label,
                line=dict(color=val_colour, width=2, dash="dash" if several else "solid"),
            )
        )
        if len(s.penalty):  # the training loss is data loss + penalty: the penalty's own share, dotted
            data.append(
                dict(
                    type="scatter",
                    mode="lines",
                    name=f"{prefix}penalty (L1/L2) in the training loss",
                    x=s.penalty[:, 0] / s.steps_per_epoch,
                    y=s.penalty[:, 1],
                    customdata=s.penalty[:, 0],
                    uid=f"penalty-{i}",
                    legendgroup=s.label,
                    hovertemplate=_HOVER.format("penalty %{y:.4f}"),
                    xaxis="x",
                    yaxis="y",
                    line=dict(color=colour, width=2, dash="dot"),
                )
            )
        if len(s.train_acc):
            data.append(
                dict(
                    type="scatter",
                    mode="lines",
                    name=f"{prefix}training accuracy",
                    x=s.train_acc[:, 0] / s.steps_per_epoch,
                    y=s.train_acc[:, 1] * 100.0,
                    customdata=s.train_acc[:, 0],
                    uid=f"train-acc-{i}",
                    hovertemplate=_HOVER.format("training accuracy %{y:.2f}%"),
                    xaxis="x2",
                    yaxis="y2",
                    showlegend=several,
                    legendgroup=s.label,
                    line=dict(color=colour, width=2),
                )
            )
        data.append(
            dict(
                type="scatter",
                mode="lines+markers",
                name=f"{prefix}validation accuracy",
                x=v_step / s.steps_per_epoch,
                y=s.val[:, 2] * 100.0,
                customdata=v_step,
                uid=f"val-acc-{i}",
                hovertemplate=_HOVER.format("validation accuracy %{y:.2f}%"),
                xaxis="x2",
                yaxis="y2",
                marker=dict(size=7),
                showlegend=several,
                legendgroup=s.label,
                line=dict(color=val_colour, width=2, dash="dash" if several else "solid"),
            )
        )
    empty = not any(len(s.train) or len(s.val) for s in series)
    names = {s.loss_name for s in series}
    loss_title = names.pop() if len(names) == 1 else "loss"
    if any(len(s.penalty) for s in series):
        loss_title = f"{loss_title} + penalty (training)"
    annotations = [_title("Loss", "x"), _title("Accuracy (%): training, validation", "x2")]
    if empty:
        annotations.append(
            dict(
                text="The curves appear after the first steps.",
                xref="x domain",
                yref="paper",
                x=0.5,
                y=0.5,
                showarrow=False,
                font=dict(size=15, color="#6b7280"),
            )
        )
    if not any(len(s.val) for s in series):
        annotations.append(
            dict(
                text="Validation points appear<br>after the first check.",
                xref="x2 domain",
                yref="paper",
                x=0.5,
                y=0.5,
                showarrow=False,
                font=dict(size=15, color="#6b7280"),
            )
        )
    layout = _base_layout(
        height,
        showlegend=True,
        annotations=annotations,
        uirevision="curves",
        legend=dict(orientation="h", x=0, y=-0.38, yanchor="top"),
        margin=dict(l=8, r=8, t=36, b=8),
        xaxis=dict(_AXIS, domain=[0.0, 0.46], title=dict(text="epoch"), rangemode="tozero", anchor="y"),
        yaxis=dict(_AXIS, title=dict(text=f"{loss_title} (log scale)"), type="log", anchor="x")
        if log_loss
        else dict(_AXIS, title=dict(text=loss_title), rangemode="tozero", anchor="x"),
        xaxis2=dict(
            _AXIS, domain=[0.56, 1.0], title=dict(text="epoch"), rangemode="tozero", anchor="y2", matches="x"
        ),  # the same epoch at the same place in both plots
        yaxis2=dict(_AXIS, title=dict(text="%"), anchor="x2", showticklabels=any(len(s.val) for s in series)),
    )
    return _figure(data, layout)


def confusion_figure(
    confusion: np.ndarray, classes: Sequence[str], *, height: int = 460, true_label: str = "true"
) -> go.Figure:
    """Counts (K, K): rows are true classes (top to bottom), columns predicted ones; counts printed in cells.
    ``true_label`` names the rows ("true"; "meant" for a class's drawings)."""
    z = np.asarray(confusion, dtype=np.int64)
    k = z.shape[0]
    names = [str(c) for c in classes][:k]
    cells = [[f"{v:,}" if v else "" for v in row] for row in z]
    trace = dict(
        type="heatmap",
        z=z,
        x=list(range(k)),
        y=list(range(k)),
        colorscale=BLUES,
        zmin=0,
        zmax=max(1, int(z.max()) if z.size else 1),
        text=cells,
        texttemplate="%{text}",
        showscale=False,
        customdata=[[[names[r], names[c]] for c in range(k)] for r in range(k)],
        name="confusion",
        hovertemplate=f"{true_label} %{{customdata[0]}}, predicted %{{customdata[1]}}: %{{z:,}} images<extra></extra>",
        xgap=1,
        ygap=1,
    )
    ticks = dict(
        tickmode="array", tickvals=list(range(k)), ticktext=names, showgrid=False, zeroline=False, automargin=True
    )
    layout = _base_layout(
        height,
        margin=dict(l=8, r=8, t=8, b=8),
        xaxis=dict(ticks, title=dict(text="predicted"), side="top", constrain="domain"),
        yaxis=dict(ticks, title=dict(text=true_label), autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    return _figure([trace], layout)


def per_class_figure(per_class_accuracy: np.ndarray, classes: Sequence[str], *, height: int = 300) -> go.Figure:
    """Accuracy per class in % as bars; a class absent from the data (NaN) has no bar."""
    acc = np.asarray(per_class_accuracy, dtype=np.float64) * 100.0
    names = [str(c) for c in classes][: len(acc)]
    text = ["" if not np.isfinite(a) else f"{a:.1f}%" for a in acc]
    trace = dict(
        type="bar",
        x=names,
        y=np.where(np.isfinite(acc), acc, None).tolist(),
        text=text,
        textposition="outside",
        textfont=dict(size=12),
        marker=dict(color=RUN_COLOURS[0]),
        name="per-class accuracy",
        hovertemplate="%{x}: %{y:.2f}%<extra></extra>",
        cliponaxis=False,
    )
    layout = _base_layout(
        height,
        margin=dict(l=8, r=8, t=24, b=8),
        showlegend=False,
        xaxis=dict(_AXIS, type="category", showgrid=False),
        yaxis=dict(_AXIS, title=dict(text="test accuracy (%)"), range=[0, 109], fixedrange=True),
    )
    return _figure([trace], layout)


def mosaic(tiles: np.ndarray, cols: int, gap: int = 1, label_rows: int = 0) -> np.ndarray:
    """Tiles (N, h, w) laid out row by row, `cols` per row, separated by `gap` NaN cells.

    `label_rows` adds that many NaN rows above each row of tiles (room for a caption). Returns a float
    array ((h + gap + label_rows) * rows - gap, (w + gap) * cols - gap).
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    n, h, w = tiles.shape
    cols = max(1, min(cols, n)) if n else 1
    rows = max(1, -(-n // cols))
    th, tw = h + gap + label_rows, w + gap
    out = np.full((rows * th - gap, cols * tw - gap), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * th + label_rows : r * th + label_rows + h, c * tw : c * tw + w] = tiles[i]
    return out


def _mosaic_layout(z: np.ndarray, width_px: int, extra_px: int = 16) -> tuple[dict, int]:
    rows, cols = z.shape
    height = int(round(width_px * rows / max(cols, 1))) + extra_px
    axes = dict(
        xaxis=dict(_HIDDEN, range=[-0.5, cols - 0.5], constrain="domain"),
        yaxis=dict(_HIDDEN, range=[rows - 0.5, -0.5], scaleanchor="x", constrain="domain"),
    )
    return axes, height


def gallery_figure(
    images: np.ndarray,
    true: Sequence[int],
    predicted: Sequence[int],
    classes: Sequence[str],
    *,
    cols: int = 8,
    width_px: int = 940,
) -> go.Figure:
    """Images (N, H, W) uint8 grey or (N, 3, H, W) colour, each captioned "true → predicted" with the class
    names."""
    imgs = np.asarray(images)
    names = [str(c) for c in classes]
    n = len(imgs)
    if n == 0:
        layout = _base_layout(
            80,
            xaxis=_HIDDEN,
            yaxis=_HIDDEN,
            annotations=[
                dict(text="No misclassified images.", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
            ],
        )
        return _figure([], layout)
    colour = imgs.ndim == 4
    h, w = imgs.shape[-2:]
    label_rows = max(6, h // 3)
    z = mosaic(imgs[:, 0] if colour else imgs, cols, gap=2, label_rows=label_rows)
    axes, height = _mosaic_layout(z, width_px)
    cols = max(1, min(cols, n))
    annotations = []
    for i, (t, p) in enumerate(zip(true, predicted)):
        r, c = divmod(i, cols)
        annotations.append(
            dict(
                text=f"{names[int(t)]} → {names[int(p)]}",
                x=c * (w + 2) + (w - 1) / 2,
                y=r * (h + 2 + label_rows) + label_rows - 1,
                xref="x",
                yref="y",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=13, color=FONT["color"]),
            )
        )
    if colour:  # one mosaic per channel, the gaps and caption rows white
        planes = [mosaic(imgs[:, c], cols, gap=2, label_rows=label_rows) for c in range(imgs.shape[1])]
        rgb = np.nan_to_num(np.stack(planes, axis=-1), nan=255.0).astype(np.uint8)
        trace = dict(type="image", z=rgb.tolist(), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip", name="misclassified")
    else:
        trace = dict(
            type="heatmap",
            z=z.astype(np.float32),
            colorscale=GREYS,
            zmin=0,
            zmax=255,
            showscale=False,
            hoverinfo="skip",
            name="misclassified",
        )
    return _figure([trace], _base_layout(height, margin=dict(l=4, r=4, t=4, b=4), annotations=annotations, **axes))


def maps_figure(maps: np.ndarray, title: str, *, cols: int = 8, limit: int = 32, width_px: int = 460) -> go.Figure:
    """Feature maps (C, H, W) of one image, each scaled to its own 0..255 (black = lowest), up to `limit`."""
    m = np.asarray(maps, dtype=np.float64)[:limit]
    lo = m.min(axis=(1, 2), keepdims=True) if m.size else 0.0
    span = (m.max(axis=(1, 2), keepdims=True) - lo) if m.size else 1.0
    scaled = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1.0), 0.0)
    tiles = np.round(scaled * 254).astype(np.uint8)
    z = mosaic(tiles, cols, gap=1)
    z = np.where(np.isnan(z), 255, z).astype(np.uint8)  # gaps: 255, the one value no scaled map reaches
    axes, height = _mosaic_layout(z, width_px, extra_px=40)
    trace = dict(
        type="heatmap",
        z=z,
        colorscale=[[0.0, "#000000"], [254 / 255, "#ffffff"], [1.0, GAP]],
        zmin=0,
        zmax=255,
        showscale=False,
        hoverinfo="skip",
        name="feature maps",
        xgap=0,
        ygap=0,
    )
    return _figure(
        [trace],
        _base_layout(
            height,
            margin=dict(l=4, r=4, t=32, b=4),
            title=dict(text=title, font=dict(size=14), x=0.0, xanchor="left"),
            **axes,
        ),
    )


def activation_stats_figure(stats: Sequence, *, height: int = 240) -> go.Figure:
    """One histogram per activation layer (``nn.init_stats.ActivationStats``: name, fn, mean, std, dead,
    counts, edges), side by side, each titled with its mean, std and (ReLU) share of dead units."""
    n = max(len(stats), 1)
    gap = 0.03
    width = (1.0 - gap * (n - 1)) / n
    data, annotations, layout_axes = [], [], {}
    for i, s in enumerate(stats):
        ref = "" if i == 0 else str(i + 1)
        x0 = i * (width + gap)
        centres = (s.edges[:-1] + s.edges[1:]) / 2
        share = s.counts / max(int(s.counts.sum()), 1) * 100.0
        data.append(
            dict(
                type="bar",
                x=centres,
                y=share,
                width=float(s.edges[1] - s.edges[0]),
                name=s.name,
                xaxis=f"x{ref}",
                yaxis=f"y{ref}",
                marker=dict(color=RUN_COLOURS[0]),
                hovertemplate=f"{s.name}: %{{y:.1f}}% of values near %{{x:.3g}}<extra></extra>",
            )
        )
        layout_axes[f"xaxis{ref}"] = dict(_AXIS, domain=[x0, x0 + width], anchor=f"y{ref}", title=dict(text=s.name))
        layout_axes[f"yaxis{ref}"] = dict(_AXIS, anchor=f"x{ref}", rangemode="tozero", showticklabels=i == 0)
        dead = f", {100 * s.dead:.0f} % dead" if s.dead is not None else ""
        annotations.append(_title(f"mean {s.mean:.3g}, std {s.std:.3g}{dead}", f"x{ref}"))
    if not stats:
        annotations.append(
            dict(text="This model has no activation layers.", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
        )
    layout = _base_layout(height, showlegend=False, annotations=annotations, bargap=0.05, **layout_axes)
    layout["annotations"] = [dict(a, font=dict(size=12, color=FONT["color"])) for a in annotations]
    return _figure(data, layout)
