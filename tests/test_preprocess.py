"""MNIST-style preprocessing: centring, scale invariance, scans, transparency, empty input, real MNIST."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from playground.data.idx import read_idx
from playground.imaging.preprocess import (
    MNIST_MEAN,
    MNIST_STD,
    STAGES,
    PreprocessError,
    centre_of_mass,
    normalise,
    preprocess_digit,
)

FIVE = [(0.75, 0.05), (0.25, 0.05), (0.2, 0.45), (0.55, 0.4), (0.78, 0.62), (0.7, 0.9), (0.4, 1.0), (0.15, 0.88)]


def draw(points, *, box=(40, 40, 240, 240), width=0.09, size=(280, 280), ink=255, paper=0, mode="L"):
    """Draw a polyline given in unit coordinates inside ``box`` (left, top, right, bottom); the pen
    width is a fraction of the box height. Returns the image as a numpy array."""
    left, top, right, bottom = box
    pts = [(left + x * (right - left), top + y * (bottom - top)) for x, y in points]
    img = Image.new(mode, size, paper)
    pen = max(1, round(width * (bottom - top)))
    ImageDraw.Draw(img).line(pts, fill=ink, width=pen, joint="curve")
    for x, y in (pts[0], pts[-1]):
        ImageDraw.Draw(img).ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=ink)
    return np.asarray(img)


def bbox_side(img: np.ndarray, level: float = 0.05) -> int:
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


def test_corner_blob_is_centred_by_mass_and_scaled_to_20px():
    canvas = np.zeros((280, 280), np.uint8)
    canvas[8:60, 200:270] = 255  # a blob in the top-right corner
    canvas[40:90, 230:250] = 255
    p = preprocess_digit(canvas)
    cy, cx = centre_of_mass(p.image)
    assert abs(cy - 14) < 0.5 and abs(cx - 14) < 0.5
    assert bbox_side(p.image, 0.3) in (19, 20, 21)
    assert p.image.shape == (28, 28) and p.image.dtype == np.float32
    assert 0.0 <= p.image.min() and p.image.max() <= 1.0
    assert not p.empty and not p.inverted


def test_drawn_digit_in_corner_is_centred():
    p = preprocess_digit(draw(FIVE, box=(10, 170, 90, 270)))
    cy, cx = centre_of_mass(p.image)
    assert abs(cy - 14) < 0.5 and abs(cx - 14) < 0.5
    assert abs(bbox_side(p.image, 0.3) - 20) <= 1


def test_scale_invariance_small_and_large_give_the_same_28x28():
    small = preprocess_digit(draw(FIVE, box=(150, 20, 230, 118)))  # ~35 % of the canvas, off-centre
    large = preprocess_digit(draw(FIVE, box=(30, 12, 230, 262)))  # ~90 %
    assert float(np.abs(small.image - large.image).mean()) < 0.05
    assert np.corrcoef(small.image.ravel(), large.image.ravel())[0, 1] > 0.95


def test_a_different_digit_is_not_nearly_the_same():
    """Guards the scale-invariance threshold: two different shapes must differ by more than it."""
    one = preprocess_digit(draw([(0.5, 0.0), (0.5, 1.0)]))
    five = preprocess_digit(draw(FIVE))
    assert float(np.abs(one.image - five.image).mean()) > 0.08


def test_scan_dark_ink_on_light_paper_is_detected_and_inverted():
    rng = np.random.default_rng(0)
    canvas = draw(FIVE).astype(np.float64) / 255
    scan = 0.88 - 0.75 * canvas + rng.normal(0, 0.02, canvas.shape)  # grey paper, dark ink, noise
    rgb = np.repeat(np.clip(scan, 0, 1)[..., None], 3, axis=2)
    p = preprocess_digit((rgb * 255).astype(np.uint8))
    ref = preprocess_digit(draw(FIVE))
    assert p.inverted and not ref.inverted
    assert float(np.abs(p.image - ref.image).mean()) < 0.03
    assert p.stages["input"].max() == pytest.approx(1.0) and np.median(p.stages["input"]) < 0.05


def test_transparent_background_rgba_white_or_dark_strokes():
    ref = preprocess_digit(draw(FIVE))
    alpha = draw(FIVE)
    for colour in (255, 0, 60):  # white, black, dark blue-ish
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = alpha
        p = preprocess_digit(rgba)
        assert not p.empty
        assert float(np.abs(p.image - ref.image).mean()) < 0.01, colour
    # the drawing canvas: white strokes on transparent, with the background forced to "dark"
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, alpha
    assert float(np.abs(preprocess_digit(rgba, background="dark").image - ref.image).mean()) < 0.01


def test_opaque_canvas_rgba_matches_gray():
    gray = draw(FIVE)
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    a, b = preprocess_digit(rgba), preprocess_digit(gray)
    assert float(np.abs(a.image - b.image).max()) < 0.01
    assert a.ink_fraction == pytest.approx(b.ink_fraction, abs=1e-3)


def test_float_and_uint8_inputs_agree():
    gray = draw(FIVE)
    a, b = preprocess_digit(gray), preprocess_digit(gray.astype(np.float64) / 255)
    assert float(np.abs(a.image - b.image).max()) < 1e-4


@pytest.mark.parametrize(
    "img",
    [
        np.zeros((280, 280), np.uint8),  # black canvas
        np.zeros((280, 280, 4), np.uint8),  # the canvas after "reset": all zero, transparent
        np.full((280, 280), 255, np.uint8),  # blank white paper
        np.full((100, 80, 3), 128, np.uint8),  # flat grey
    ],
)
def test_empty_input_gives_empty_flag_and_blank_image(img):
    p = preprocess_digit(img)
    assert p.empty and p.ink_fraction == 0.0
    assert p.image.shape == (28, 28) and not p.image.any()
    assert tuple(p.stages) == STAGES


def test_faint_noise_is_empty():
    rng = np.random.default_rng(1)
    p = preprocess_digit(rng.uniform(0, 0.08, (280, 280)))
    assert p.empty


def test_fully_covered_canvas_reports_full_ink_fraction():
    white = np.full((280, 280, 4), 255, np.uint8)
    p = preprocess_digit(white, background="dark")
    assert not p.empty and p.ink_fraction == pytest.approx(1.0)
    assert preprocess_digit(white).empty  # auto: a white sheet is blank paper


def test_ink_fraction_is_the_share_of_ink_pixels():
    canvas = np.zeros((200, 100), np.uint8)
    canvas[50:150, 30:70] = 255  # 100 × 40 of 200 × 100 = 20 %
    assert preprocess_digit(canvas).ink_fraction == pytest.approx(0.2, abs=1e-6)


def test_stages_are_ordered_shaped_and_read_only():
    p = preprocess_digit(draw(FIVE))
    assert tuple(p.stages) == STAGES
    assert p.stages["input"].shape == (280, 280)
    h, w = p.stages["cropped"].shape
    assert 150 < h <= 240 and w < h
    sh, sw = p.stages["scaled (20 px)"].shape
    assert sh == 20 and sw == round(w * 20 / h)
    assert p.stages["centred (28×28)"] is p.image
    with pytest.raises(ValueError):
        p.image[0, 0] = 1.0


def test_tiny_and_huge_inputs():
    dot = np.zeros((280, 280), np.uint8)
    dot[3:9, 270:274] = 255  # 6 × 4 px: enlarged to 20 × 13
    p = preprocess_digit(dot)
    assert bbox_side(p.image, 0.3) in (19, 20, 21)
    big = draw(FIVE, box=(500, 300, 1700, 1500), size=(2000, 1600))
    q = preprocess_digit(big)
    assert q.stages["input"].shape == (819, 1024)  # shrunk first, keeps uploads fast
    assert float(np.abs(q.image - preprocess_digit(draw(FIVE)).image).mean()) < 0.05


def test_real_mnist_digit_upscaled_to_canvas_size_stays_close(mnist_path):
    images = read_idx(mnist_path / "t10k-images-idx3-ubyte.gz")[8000:8100]
    corr = []
    for digit in images:
        big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
        p = preprocess_digit(big)
        corr.append(np.corrcoef(digit.ravel() / 255.0, p.image.ravel())[0, 1])
    corr = np.array(corr)
    assert corr[0] > 0.9
    assert np.median(corr) > 0.95 and (corr > 0.9).mean() >= 0.95 and corr.min() > 0.8


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((28, 28, 5), np.uint8), "shape"),
        (np.zeros((0, 28), np.uint8), "no pixels"),
        (np.full((28, 28), np.nan), "NaN"),
        (np.full((28, 28), 3.0), "[0, 1]"),
        (np.zeros((28, 28), np.int64), "pixel type"),
        (np.zeros(28), "shape"),
    ],
)
def test_bad_arrays_raise_a_clear_error(bad, words):
    with pytest.raises(PreprocessError, match=None) as info:
        preprocess_digit(bad)
    assert words in str(info.value)


def test_bad_background_option():
    with pytest.raises(PreprocessError, match="background"):
        preprocess_digit(np.zeros((28, 28)), background="white")  # type: ignore[arg-type]


def test_normalise_shapes_and_values():
    img = np.zeros((28, 28), np.float32)
    img[10, 10] = 1.0
    x = normalise(img)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    assert x[0, 0, 0, 0] == pytest.approx(-MNIST_MEAN / MNIST_STD)
    assert x[0, 0, 10, 10] == pytest.approx((1 - MNIST_MEAN) / MNIST_STD)
    stack = normalise(np.zeros((5, 28, 28), np.uint8))
    assert stack.shape == (5, 1, 28, 28)
    with pytest.raises(PreprocessError, match="28×28"):
        normalise(np.zeros((20, 20)))
