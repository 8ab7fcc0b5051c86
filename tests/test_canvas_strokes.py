"""Strokes drawn again from the canvas's Fabric.js JSON (playground/imaging/strokes.py), as the page
does after Undo: the same ink as the canvas's own picture, and moved strokes where they were moved."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from benchmarks.strokes import Scribbler, fabric_path
from playground.imaging.strokes import render_strokes


def ink(rgba: np.ndarray) -> np.ndarray:
    return rgba[..., 0] > 127


def test_the_strokes_redrawn_cover_the_canvas_picture():
    s = Scribbler(seed=2)
    for _ in range(4):
        png, objects = s.next()
    canvas = ink(np.asarray(Image.open(io.BytesIO(png))))
    redrawn = ink(render_strokes(objects))
    iou = (canvas & redrawn).sum() / (canvas | redrawn).sum()
    assert iou > 0.95, iou
    assert render_strokes(objects).shape == (280, 280, 4) and (render_strokes(objects)[..., 3] == 255).all()


def test_curves_moved_and_scaled_strokes_and_other_objects():
    curve = {"type": "path", "strokeWidth": 10, "path": [["M", 40, 140], ["Q", 140, 20, 240, 140]]}
    drawn = ink(render_strokes([curve]))
    assert drawn[80, 140] and not drawn[140, 140]  # the curve bends up through (140, 80)
    line = fabric_path([(100.0, 100.0), (180.0, 100.0)], width=10)
    moved = dict(line, left=line["left"] + 30, top=line["top"] + 50)
    assert ink(render_strokes([line]))[100, 140] and ink(render_strokes([moved]))[150, 170]
    assert not ink(render_strokes([moved]))[100, 140]
    wider = dict(line, scaleX=2.0, scaleY=2.0)
    assert ink(render_strokes([wider]))[100, 65] and not ink(render_strokes([line]))[100, 65]
    junk = [{"type": "rect"}, {"type": "path", "path": "M 0 0"}, {"type": "path", "path": [["M", "x", 1]]}, 5]
    assert not ink(render_strokes(junk)).any()
