"""Canvas-style redrawing of MNIST digits: what training adds and what the robustness benchmark measures."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.datasets import load_dataset
from playground.imaging.canvas_style import CANVAS, HEIGHT_RANGE, STROKES, canvas_style_digits, elastic, redraw


@pytest.fixture(scope="module")
def digits(mnist_path):
    return load_dataset("mnist", mnist_path, split="train", download_ok=False, subset=60)


def test_a_redrawn_digit_is_a_solid_stroke_somewhere_on_the_canvas(digits):
    rng = np.random.default_rng(0)
    seen = set()
    for img in digits.images[:30]:
        r = redraw(img, rng)
        assert r.rgba.shape == (CANVAS, CANVAS, 4) and (r.rgba[..., 3] == 255).all()
        assert HEIGHT_RANGE[0] <= r.height <= HEIGHT_RANGE[1] and r.stroke in STROKES
        assert (r.filter_size == 0) == (r.stroke == "normal")
        ys = np.nonzero(r.rgba[..., 0] > 128)[0]
        assert abs((ys.max() - ys.min()) / CANVAS - r.height) < 0.08  # as tall as it says
        # solid strokes: apart from the softened edge, the ink is (nearly) full white
        ink = r.rgba[..., 0][r.rgba[..., 0] >= 128]
        assert (ink >= 250).mean() > 0.45
        seen.add(r.stroke)
    assert seen == set(STROKES)


def test_thick_pens_put_down_more_ink_than_thin_ones(digits):
    """Seeded alike, the same digit at the same size and place differs only by the pen."""
    ink = {}
    for stroke in STROKES:
        for seed in range(40):
            r = redraw(digits.images[0], np.random.default_rng(seed))
            if r.stroke == stroke and r.filter_size in (0, 5):
                ink[stroke] = (r.rgba[..., 0] > 128).sum() / r.height**2
                break
    assert ink["thin"] < ink["normal"] < ink["thick"]


def test_what_the_network_sees_keeps_the_digits_shape(digits):
    seen = canvas_style_digits(digits.images, seed=3, elastic_px=1.5)
    assert seen.shape == digits.images.shape and seen.dtype == np.uint8
    a, b = digits.images.reshape(len(seen), -1).astype(float), seen.reshape(len(seen), -1).astype(float)
    corr = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    assert np.median(corr) > 0.6  # the same digit, drawn with another pen
    assert np.array_equal(seen, canvas_style_digits(digits.images, seed=3, elastic_px=1.5))


def test_elastic_distortion_bends_without_losing_the_ink(digits):
    img = digits.images[5]
    rng = np.random.default_rng(1)
    assert np.array_equal(elastic(img, rng, 0.0), img)
    bent = elastic(img, np.random.default_rng(1), 2.0)
    assert not np.array_equal(bent, img)
    assert abs(int(bent.astype(int).sum()) - int(img.astype(int).sum())) < 0.2 * img.astype(int).sum()
