"""Receptive fields against the model itself: the pixels that move a cell lie inside its field, the field's
size is the formula's, and for a network without ReLU or max pooling the pixels are exactly the field."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec, Pool, SpecError
from playground.nn.model import build
from playground.nn.receptive import receptive_field
from playground.nn.shapes import infer_shapes


@st.composite
def designs(draw, linear: bool = False):
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            k = draw(st.integers(1, 5))
            layers.append(Conv(2, k, draw(st.integers(1, 2)), draw(st.integers(0, 2)), draw(st.integers(1, 2))))
            if not linear and draw(st.booleans()):
                layers.append(Act("relu"))
        else:
            layers.append(Pool("avg" if linear else draw(st.sampled_from(["max", "avg"])), draw(st.integers(1, 3))))
    spec = ModelSpec("rf", (*layers, Flatten(), Dense(10)))
    try:
        infos = infer_shapes(spec)
    except SpecError:
        assume(False)
    pick = draw(st.integers(0, len(layers) - 1))
    _, oh, ow = infos[pick].out_shape
    return spec, infos[pick].name, (draw(st.integers(0, oh - 1)), draw(st.integers(0, ow - 1)))


def _moved_pixels(spec: ModelSpec, layer: str, cell, positive: bool) -> set[tuple[int, int]]:
    model = build(spec, seed=0).double()
    if positive:  # all-positive weights: no cancellation, so every pixel in the field moves the cell
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.abs() + 0.1)
    x = torch.rand(1, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.5
    x.requires_grad_(True)
    v = x
    for name, module in model.named_children():
        v = module(v)
        if name == layer:
            break
    v[0, 0, cell[0], cell[1]].backward()
    return {tuple(map(int, ij)) for ij in torch.nonzero(x.grad[0, 0]).tolist()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(designs())
def test_the_pixels_that_move_a_cell_lie_in_its_field_of_the_formulas_size(case):
    spec, layer, cell = case
    field = receptive_field(spec, layer, cell)
    (r0, r1), (c0, c1) = field.rows, field.cols
    moved = _moved_pixels(spec, layer, cell, positive=False)
    assert all(r0 <= r <= r1 and c0 <= c <= c1 for r, c in moved)
    (ur0, ur1), (uc0, uc1) = field.unclipped
    assert ur1 - ur0 + 1 == uc1 - uc0 + 1 == field.size == field.steps[-1].r


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(designs(linear=True))
def test_without_relu_or_max_pooling_the_field_is_exactly_the_pixels_that_move_the_cell(case):
    spec, layer, cell = case
    field = receptive_field(spec, layer, cell)
    (r0, r1), (c0, c1) = field.rows, field.cols
    region = {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    moved = _moved_pixels(spec, layer, cell, positive=True)
    # holes inside the field: a dilated kernel skips pixels, and so does a stride longer than the kernel
    # (1×1 with stride 2 reads every other pixel)
    holes = any(isinstance(lay, Conv) and (lay.dilation > 1 or lay.stride > lay.kernel) for lay in spec.layers)
    assert moved <= region and (holes or moved == region)


def test_the_worked_example_and_its_formula():
    spec = ModelSpec("two", (Conv(4, 3), Act("relu"), Pool("max", 2), Conv(4, 3), Flatten(), Dense(10)))
    field = receptive_field(spec, "conv2", (0, 0))
    assert [s.r for s in field.steps] == [3, 3, 4, 8] and [s.j for s in field.steps] == [1, 1, 2, 2]
    assert field.rows == field.cols == (0, 7) and field.size == 8
    assert field.steps[3].formula(4, 2) == "r = 4 + (3 − 1)·1·2 = 8, j = 2·1 = 2"
    assert field.text() == "conv2 cell (0, 0) sees input rows 0–7 and columns 0–7: a 8×8 field."
    with pytest.raises(SpecError, match="comes after Flatten"):
        receptive_field(spec, "flatten", (0, 0))
    with pytest.raises(SpecError, match=r"has 11×11 cells; \(11, 0\) is outside"):
        receptive_field(spec, "conv2", (11, 0))
