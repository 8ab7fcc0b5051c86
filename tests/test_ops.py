"""The numpy teaching engine against PyTorch (the oracle), the worked examples, sizes and padding (bad input: test_ops_errors.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st
from op_cases import TOL, TORCH_MODE, _t, _values, conv_cases, pool_cases

from playground.ops import (
    ACTIVATIONS,
    ConvSettings,
    OpError,
    PoolSettings,
    activate,
    conv2d,
    conv2d_gemm,
    conv_output_from_steps,
    conv_output_shape,
    conv_steps,
    format_number,
    global_avg_pool,
    im2col,
    output_size,
    output_size_formula,
    pad,
    pool2d,
    pool_output_shape,
    pool_steps,
    pooled_overlap,
    resolve_padding,
    same_padding_note,
    shift_image,
)

ROOT = Path(__file__).resolve().parents[1]
X3 = np.arange(1.0, 10.0).reshape(3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
K2 = np.array([[1.0, 2.0], [3.0, 4.0]])
X4 = np.arange(1.0, 17.0).reshape(4, 4)  # 1..16


def _one(x: np.ndarray) -> np.ndarray:
    return x[None, None]


# ---------------------------------------------------------------- worked examples


def test_worked_example_cross_correlation_and_true_convolution():
    assert np.array_equal(conv2d(_one(X3), _one(K2))[0, 0], [[37, 47], [67, 77]])
    assert np.array_equal(conv2d(_one(X3), _one(K2), settings=ConvSettings(flip=True))[0, 0], [[23, 33], [53, 63]])
    assert np.array_equal(conv2d_gemm(_one(X3), _one(K2))[0, 0], [[37, 47], [67, 77]])
    assert np.array_equal(conv2d_gemm(_one(X3), _one(K2), settings=ConvSettings(flip=True))[0, 0], [[23, 33], [53, 63]])


def test_worked_example_arithmetic_of_every_cell():
    steps = conv_steps(X3, K2)
    assert [s.arithmetic() for s in steps] == [
        "1×1 + 2×2 + 4×3 + 5×4 = 37",
        "2×1 + 3×2 + 5×3 + 6×4 = 47",
        "4×1 + 5×2 + 7×3 + 8×4 = 67",
        "5×1 + 6×2 + 8×3 + 9×4 = 77",
    ]
    flipped = conv_steps(X3, K2, settings=ConvSettings(flip=True))
    assert flipped[0].arithmetic() == "1×4 + 2×3 + 4×2 + 5×1 = 23"
    assert np.array_equal(flipped[0].kernel[0], [[4, 3], [2, 1]])
    first = steps[0]
    assert (first.index, first.out_pos, first.rows, first.cols) == (0, (0, 0), (0, 1), (0, 1))
    assert np.array_equal(first.products[0], [[1, 4], [12, 20]]) and first.total == 37 and first.result == 37
    partial = conv_output_from_steps(steps[:3], (2, 2))  # the output filling in while stepping
    assert partial[:1].tolist() == [[37, 47]] and partial[1, 0] == 67 and np.isnan(partial[1, 1])


def test_worked_example_max_pool_with_argmax():
    assert np.array_equal(pool2d(_one(X4))[0, 0], [[6, 8], [14, 16]])
    steps = pool_steps(X4, PoolSettings("max", (2, 2), (2, 2)))
    assert [s.argmax for s in steps] == [(1, 1), (1, 3), (3, 1), (3, 3)]
    assert [s.result for s in steps] == [6, 8, 14, 16]
    assert steps[0].arithmetic() == "max(1, 2, 5, 6) = 6"
    assert steps[3].arithmetic() == "max(11, 12, 15, 16) = 16"
    avg = pool_steps(X4, PoolSettings("avg"))
    assert avg[0].arithmetic() == "(1 + 2 + 5 + 6) / 4 = 3.5" and avg[0].argmax is None


def test_arithmetic_with_bias_negatives_and_channels():
    step = conv_steps([[2.0, -1.5]], [[-1.0, 0.25]], b=-0.5)[0]
    assert step.arithmetic() == "2×(−1) + (−1.5)×0.25 + bias (−0.5) = −2.875"
    rgb = np.arange(12.0).reshape(3, 2, 2)
    step = conv_steps(rgb, np.ones((3, 2, 2)), b=1.0)[0]
    assert np.array_equal(step.channel_sums, [6, 22, 38]) and step.total == 66 and step.result == 67
    assert step.arithmetic() == "6 + 22 + 38 + bias 1 = 67"
    assert step.channel_arithmetic(1) == "4×1 + 5×1 + 6×1 + 7×1 = 22"


def test_format_number():
    cases = {
        37.0: "37",
        37.5: "37.5",
        1 / 16: "0.0625",
        1 / 9: "0.111",
        -1.0: "−1",
        12.34567: "12.346",
        -0.0: "0",
        2 / 3: "0.667",
        1e-7: "0.0000001",
        1 / 256: "0.00391",
    }
    assert {v: format_number(v) for v in cases} == cases


# ---------------------------------------------------------------- property tests against PyTorch


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv2d_matches_torch(case):
    rng = np.random.default_rng(case["seed"])
    x, w = _values(rng, case["shape_x"], case["integers"]), _values(rng, case["shape_w"], case["integers"])
    b = rng.normal(size=case["shape_w"][0]) if case["bias"] else None
    s: ConvSettings = case["settings"]
    (n, _, h, wd), (f, _, kh, kw) = case["shape_x"], case["shape_w"]
    top, bottom, left, right = resolve_padding(s.padding, (kh, kw), s.stride, s.dilation)
    w_applied = w[:, :, ::-1, ::-1] if s.flip else w
    fits = h + top + bottom >= s.dilation[0] * (kh - 1) + 1 and wd + left + right >= s.dilation[1] * (kw - 1) + 1
    reflect_ok = s.padding_mode != "reflect" or (max(top, bottom) < h and max(left, right) < wd)
    event("valid" if fits and reflect_ok else "refused")
    if not (fits and reflect_ok):
        with pytest.raises(OpError):
            conv2d(x, w, b, s)
        with pytest.raises(RuntimeError):  # PyTorch refuses the same settings
            xp = F.pad(_t(x), (left, right, top, bottom), mode=TORCH_MODE[s.padding_mode])
            F.conv2d(xp, _t(w_applied), None, s.stride, 0, s.dilation)
        return
    xp = F.pad(_t(x), (left, right, top, bottom), mode=TORCH_MODE[s.padding_mode])
    expected = F.conv2d(xp, _t(w_applied), None if b is None else _t(b), s.stride, 0, s.dilation).numpy()
    out = conv2d(x, w, b, s)
    assert out.shape == expected.shape == (n, f, *conv_output_shape((h, wd), (kh, kw), s))
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_allclose(conv2d_gemm(x, w, b, s), out, **TOL)
    if s.padding_mode == "zeros" and not (isinstance(s.padding, tuple) and len(s.padding) == 4):
        # int, (ph, pw), 'valid' and 'same' also go through PyTorch's own padding argument
        direct = F.conv2d(_t(x), _t(w_applied), None if b is None else _t(b), s.stride, s.padding, s.dilation).numpy()
        np.testing.assert_allclose(out, direct, **TOL)
    for i in range(n):  # steps of every image and filter rebuild the direct output
        for j in range(f):
            steps = conv_steps(x[i], w[j], 0.0 if b is None else b[j], s)
            assert len(steps) == out.shape[2] * out.shape[3]
            np.testing.assert_allclose(conv_output_from_steps(steps, out.shape[2:]), out[i, j], rtol=1e-12, atol=1e-12)
            assert steps[-1].result == pytest.approx(out[i, j, -1, -1], rel=1e-12, abs=1e-12)
    step = steps[-1]
    padded = xp[-1].numpy()
    np.testing.assert_array_equal(step.window, padded[:, list(step.rows)][:, :, list(step.cols)])
    np.testing.assert_array_equal(step.products, step.window * step.kernel)
    np.testing.assert_array_equal(step.kernel, w_applied[-1])


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_pool2d_matches_torch(case):
    x = _values(np.random.default_rng(case["seed"]), case["shape"], case["integers"])
    s: PoolSettings = case["settings"]
    stride = s.stride or s.size
    _, _, h, w = x.shape
    fits = h + 2 * s.padding[0] >= s.size[0] and w + 2 * s.padding[1] >= s.size[1]
    event("valid" if fits else "refused")
    if not fits:
        with pytest.raises(OpError, match="pooling window spans"):
            pool2d(x, s)
        with pytest.raises(RuntimeError):
            F.max_pool2d(_t(x), s.size, stride, s.padding)
        return
    if s.kind == "max":
        expected, indices = F.max_pool2d(_t(x), s.size, stride, s.padding, return_indices=True)
    else:
        expected = F.avg_pool2d(_t(x), s.size, stride, s.padding, count_include_pad=s.count_include_pad)
    out = pool2d(x, s)
    assert out.shape == tuple(expected.shape) and out.shape[2:] == pool_output_shape((h, w), s)
    np.testing.assert_allclose(out, expected.numpy(), **TOL)
    steps = pool_steps(x[0, 0], s)
    np.testing.assert_allclose(conv_output_from_steps(steps, out.shape[2:]), out[0, 0], rtol=1e-12, atol=1e-12)
    assert steps[-1].result == pytest.approx(out[0, 0, -1, -1], rel=1e-12, abs=1e-12)
    if s.kind == "max":  # the chosen cell is PyTorch's: the first maximum in row-major order
        ph, pw = s.padding
        flat = [(r - ph) * w + (c - pw) for r, c in (step.argmax for step in steps)]
        assert flat == indices[0, 0].flatten().tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.tuples(*[st.integers(0, 5)] * 4),
    st.sampled_from(["zeros", "reflect", "replicate"]),
    st.integers(0, 2**32 - 1),
)
def test_pad_matches_torch(h, w, pads, mode, seed):
    x = np.random.default_rng(seed).normal(size=(2, h, w))
    top, bottom, left, right = pads
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        with pytest.raises(OpError, match="Reflect padding of"):
            pad(x, pads, mode)
        return
    expected = F.pad(_t(x)[None], (left, right, top, bottom), mode=TORCH_MODE[mode])[0].numpy()
    np.testing.assert_array_equal(pad(x, pads, mode), expected)


def test_activations_match_torch():
    x = np.linspace(-800, 800, 4001)
    t = _t(x)
    expected = {
        "none": t,
        "relu": F.relu(t),
        "leaky_relu": F.leaky_relu(t, 0.01),
        "sigmoid": torch.sigmoid(t),
        "tanh": torch.tanh(t),
    }
    assert list(ACTIVATIONS) == ["none", "relu", "leaky_relu", "sigmoid", "tanh"]
    for name, ref in expected.items():
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow on large |x|
            np.testing.assert_allclose(activate(name, x), ref.numpy(), rtol=1e-12, atol=1e-300)
    with pytest.raises(OpError, match="Activation 'gelu' is not known; choose one of none, relu"):
        activate("gelu", x)


def test_global_avg_pool_matches_torch():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4))
    np.testing.assert_allclose(global_avg_pool(x), F.adaptive_avg_pool2d(_t(x), 1).numpy()[:, :, 0, 0], **TOL)
    assert global_avg_pool(x).shape == (2, 3)


def test_im2col_columns_are_the_windows():
    cols = im2col(X3[None], (2, 2))
    assert cols.shape == (4, 4)
    assert np.array_equal(cols[:, 0], [1, 2, 4, 5]) and np.array_equal(cols[:, 3], [5, 6, 8, 9])
    assert np.array_equal(K2.reshape(1, -1) @ cols, [[37, 47, 67, 77]])
    rgb = np.arange(2 * 5 * 5.0).reshape(2, 5, 5)
    cols = im2col(rgb, (2, 3), stride=(2, 1), dilation=(2, 1))  # rows: channel, then kernel row, then column
    assert cols.shape == (2 * 2 * 3, 2 * 3)  # OH = ⌊(5 − 2·1 − 1)/2⌋ + 1 = 2, OW = 3
    assert np.array_equal(cols[:, 0], np.concatenate([rgb[ch][[0, 2]][:, 0:3].ravel() for ch in range(2)]))
    assert np.array_equal(cols[:, 5], np.concatenate([rgb[ch][[2, 4]][:, 2:5].ravel() for ch in range(2)]))


# ---------------------------------------------------------------- sizes, padding, shifting


def test_output_size_and_formula():
    assert output_size(5, 3, 2, 1, 1) == 3
    assert output_size(28, 3) == 26 and output_size(28, 3, 1, 1, 1) == 28 and output_size(7, 3, 1, 0, 0, 2) == 3
    assert output_size_formula(5, 3, 2, 1, 1) == "⌊(5 + 1 + 1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3"
    assert output_size_formula(7, 3, 1, 0, 0, 2) == "⌊(7 + 0 + 0 − 2·(3 − 1) − 1) / 1⌋ + 1 = 3"
    assert output_size_formula(2, 5) == "⌊(2 + 0 + 0 − 1·(5 − 1) − 1) / 1⌋ + 1 = −2"


def test_resolve_padding_forms_and_same_split():
    assert resolve_padding(2, (3, 3)) == (2, 2, 2, 2)
    assert resolve_padding((1, 2), (3, 3)) == (1, 1, 2, 2)
    assert resolve_padding([0, 1, 2, 3], (3, 3)) == (0, 1, 2, 3)
    assert resolve_padding("valid", (3, 3)) == (0, 0, 0, 0)
    assert resolve_padding("same", (3, 3)) == (1, 1, 1, 1)
    assert resolve_padding("same", (2, 2)) == (0, 1, 0, 1)  # the extra row/column goes bottom/right
    assert resolve_padding("same", (4, 1)) == (1, 2, 0, 0)
    assert resolve_padding("same", (2, 2), dilation=(3, 2)) == (1, 2, 1, 1)
    assert (
        same_padding_note((2, 2)) == "Kernel 2×2: 'same' pads 0 rows on top, 1 at the bottom, 0 columns left, 1 right."
    )
    assert same_padding_note((3, 3)) == "Kernel 3×3: 'same' pads 1 row on top, 1 at the bottom, 1 column left, 1 right."
    assert same_padding_note((2, 3), (2, 1)) == (
        "Kernel 2×3 at dilation 2×1 (spans 3×3): 'same' pads 1 row on top, 1 at the bottom, 1 column left, 1 right."
    )
    out = conv2d(np.ones((1, 1, 4, 5)), np.ones((1, 1, 2, 2)), settings=ConvSettings(padding="same"))
    assert out.shape == (1, 1, 4, 5) and out[0, 0, -1, -1] == 1 and out[0, 0, 0, 0] == 4


def test_settings_accept_single_ints_and_are_frozen():
    s = ConvSettings(stride=2, dilation=3, padding=[1, 2])
    assert (s.stride, s.dilation, s.padding) == ((2, 2), (3, 3), (1, 2))
    assert PoolSettings(size=3, stride=1).size == (3, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.stride = (1, 1)  # type: ignore[misc]
    step = conv_steps(X3, K2)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.result = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        step.window[0, 0, 0] = 99.0  # records hold read-only arrays


def test_conv_step_pad_mask_marks_padding_cells():
    steps = conv_steps(np.ones((2, 2)), np.ones((3, 3)), settings=ConvSettings(padding=1))
    assert steps[0].rows == (0, 1, 2) and steps[0].pad_mask.tolist() == [
        [True] * 3,
        [True, False, False],
        [True, False, False],
    ]
    assert steps[0].result == 4 and len(steps) == 4


def test_pool_steps_with_padding():
    s = PoolSettings("max", (3, 3), (2, 2), 1)
    step = pool_steps(X4, s)[0]
    assert np.isnan(step.window[0]).all() and step.window[1, 1] == 1 and step.argmax == (2, 2)
    assert step.arithmetic() == "max(1, 2, 5, 6) = 6"
    with_pad = pool_steps(X4, PoolSettings("avg", (2, 2), (2, 2), 1, count_include_pad=True))[0]
    without = pool_steps(X4, PoolSettings("avg", (2, 2), (2, 2), 1, count_include_pad=False))[0]
    assert with_pad.arithmetic() == "(0 + 0 + 0 + 1) / 4 = 0.25" and with_pad.divisor == 4
    assert without.arithmetic() == "(1) / 1 = 1" and without.divisor == 1


def test_shift_and_pooled_overlap():
    assert shift_image([[1, 2, 3]], (0, 1)).tolist() == [[1, 1, 2]]
    assert shift_image([[1, 2, 3]], (0, -1)).tolist() == [[2, 3, 3]]
    assert shift_image([[1], [2]], (1, 0)).tolist() == [[1], [1]]
    x = np.zeros((4, 4))
    x[1, 0], x[2, 3] = 9, 7  # the 9 stays in its window, the 7 leaves the image
    assert pooled_overlap(x, PoolSettings()) == 0.75
    assert pooled_overlap(X4, PoolSettings()) == 0.0  # every maximum sits on a window's right edge
    assert pooled_overlap(np.full((6, 6), 3.0), PoolSettings("avg", 3)) == 1.0


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_steps_are_made_when_asked_for_and_agree_with_the_output_and_pytorch(kind):
    """A run's steps are a sequence made cell by cell from arrays computed once: every way of reading them
    (index, negative index, slice, iteration) gives the same record, and the records' results are PyTorch's."""
    from playground import ops

    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 9, 8)), rng.standard_normal((2, 3, 3))
    conv = ops.conv_steps(x, w, 0.5, ops.ConvSettings(padding=2, stride=(2, 1)))
    want = F.conv2d(_t(x)[None], _t(w)[None], torch.tensor([0.5], dtype=torch.float64), padding=2, stride=(2, 1))
    assert len(conv) == want.numel() == conv.results.size
    listed = list(conv)
    assert [s.index for s in listed] == list(range(len(conv)))
    np.testing.assert_allclose([s.result for s in listed], want.numpy().ravel(), **TOL)
    assert conv[-1].out_pos == listed[-1].out_pos == (want.shape[2] - 1, want.shape[3] - 1)
    assert [s.index for s in conv[3:9:2]] == [3, 5, 7]
    assert np.array_equal(ops.conv_output_from_steps(conv, conv.results.shape), conv.results)
    with pytest.raises(IndexError):
        conv[len(conv)]
    image = rng.standard_normal((7, 7))
    pool = ops.pool_steps(image, ops.PoolSettings(kind=kind, size=3, stride=2, padding=1))
    torch_pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    np.testing.assert_allclose(
        [s.result for s in pool], torch_pool(_t(image)[None, None], 3, 2, 1).numpy().ravel(), **TOL
    )
    assert np.array_equal(ops.conv_output_from_steps(pool, pool.results.shape), pool.results)
    assert all(s.result == pool.results[s.out_pos] for s in pool)
