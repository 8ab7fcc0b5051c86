"""Receptive fields: which input pixels can influence one cell of a feature map.

Layer by layer, the field's size r and the jump j (input pixels between two neighbouring cells) grow as
r ← r + (k − 1)·d·j and j ← j·s (kernel or window k, dilation d, stride s); a cell's own region is found
by walking back from it: output rows a..b of a layer read its input rows a·s − p … b·s − p + (k − 1)·d.
Activations, batch norm, local response norm (across channels only) and dropout keep the geometry.
Pure arithmetic on the model spec: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground import ops
from playground.nn.architecture import Conv, Flatten, ModelSpec, Pool, SpecError
from playground.nn.shapes import infer_shapes

Span = tuple[int, int]  # first and last index, inclusive


@dataclass(frozen=True)
class FieldStep:
    """One layer on the way from the input to the chosen layer."""

    name: str
    k: int  # kernel or window size (1 for layers that keep the geometry)
    s: int  # stride
    d: int  # dilation
    pad: tuple[int, int]  # (top, left) padding
    r: int  # the receptive field's size after this layer
    j: int  # the jump after this layer

    def formula(self, r_before: int, j_before: int) -> str:
        """ "r = 3 + (2 − 1)·1·1 = 4, j = 1·2 = 2"."""
        return f"r = {r_before} + ({self.k} − 1)·{self.d}·{j_before} = {self.r}, j = {j_before}·{self.s} = {self.j}"


@dataclass(frozen=True)
class ReceptiveField:
    """The input pixels that can influence ``cell`` of layer ``layer``."""

    layer: str
    cell: tuple[int, int]  # (row, col) in that layer's maps
    rows: Span  # input rows, clipped to the image (padding lies outside it)
    cols: Span
    unclipped: tuple[Span, Span]  # the same before clipping: its size is the formula's r
    size: int  # r, the formula's size (square kernels: the same for rows and columns)
    steps: tuple[FieldStep, ...]

    def text(self) -> str:
        """One sentence for the page."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        return (
            f"{self.layer} cell ({self.cell[0]}, {self.cell[1]}) sees input rows {r0}–{r1} and columns {c0}–{c1}: "
            f"a {self.size}×{self.size} field"
            + (
                " (part of it lies on the padding outside the image)"
                if self.unclipped != (self.rows, self.cols)
                else ""
            )
            + "."
        )


def _geometry(layer, in_hw: tuple[int, int]) -> tuple[int, int, int, tuple[int, int]]:
    """(k, s, d, (top, left)) of one layer: convolution and pooling move the field, the rest keep it."""
    if isinstance(layer, Conv):
        pads = ops.resolve_padding(layer.padding, (layer.kernel, layer.kernel), layer.stride, layer.dilation)
        return layer.kernel, layer.stride, layer.dilation, (pads[0], pads[2])
    if isinstance(layer, Pool):
        return layer.size, layer.stride or layer.size, 1, (0, 0)
    return 1, 1, 1, (0, 0)


def receptive_field(spec: ModelSpec, layer: str, cell: tuple[int, int]) -> ReceptiveField:
    """The field of ``cell`` (row, col) of the maps of ``layer`` (a name from infer_shapes, before Flatten)."""
    infos = infer_shapes(spec)
    names = [i.name for i in infos]
    if layer not in names:
        raise SpecError(f"The model has no layer {layer!r}; choose one of {', '.join(names)}.")
    upto = names.index(layer)
    if any(isinstance(spec.layers[i], Flatten) for i in range(upto + 1)):
        raise SpecError(f"{layer} comes after Flatten: every one of its values sees the whole input.")
    out_shape = infos[upto].out_shape
    row, col = (int(v) for v in cell)
    if not (0 <= row < out_shape[1] and 0 <= col < out_shape[2]):
        raise SpecError(f"{layer} has {out_shape[1]}×{out_shape[2]} cells; ({row}, {col}) is outside them.")
    steps, r, j = [], 1, 1
    for info, lay in zip(infos[: upto + 1], spec.layers):
        k, s, d, pad = _geometry(lay, info.in_shape[1:])
        r, j = r + (k - 1) * d * j, j * s
        steps.append(FieldStep(info.name, k, s, d, pad, r, j))
    rows, cols = (row, row), (col, col)
    for step in reversed(steps):  # back from the cell to the input
        grow = (step.k - 1) * step.d
        rows = (rows[0] * step.s - step.pad[0], rows[1] * step.s - step.pad[0] + grow)
        cols = (cols[0] * step.s - step.pad[1], cols[1] * step.s - step.pad[1] + grow)
    _, h, w = spec.input_shape
    clipped = ((max(rows[0], 0), min(rows[1], h - 1)), (max(cols[0], 0), min(cols[1], w - 1)))
    return ReceptiveField(layer, (row, col), clipped[0], clipped[1], (rows, cols), r, tuple(steps))
