"""The numpy engine refuses bad input with one clear sentence naming the setting at fault."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_ops import K2, ROOT, X3, _one  # the engine tests' shared fixtures

from playground import ops
from playground.ops import (
    ConvSettings,
    OpError,
    PoolSettings,
    conv2d,
    conv2d_gemm,
    conv_output_shape,
    conv_steps,
    output_size,
    output_size_formula,
    pool2d,
    pool_steps,
    shift_image,
)

# ---------------------------------------------------------------- bad input: one clear sentence each

BAD_CONV = [
    (
        "kernel larger than padded input",
        np.ones((1, 1, 2, 2)),
        np.ones((1, 1, 3, 3)),
        ConvSettings(),
        "The kernel spans 3 rows but the padded input has only 2 rows; use a smaller kernel or more padding.",
    ),
    (
        "dilated kernel too wide",
        np.ones((1, 1, 5, 5)),
        np.ones((1, 1, 1, 3)),
        ConvSettings(dilation=(1, 3)),
        "The kernel spans 7 columns at dilation 3 but the padded input has only 5 columns; use a smaller kernel, less dilation or more padding.",
    ),
    (
        "stride zero",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(stride=(0, 1)),
        "Stride must be 1 or more along both axes (got 0, 1); use a stride of at least 1.",
    ),
    (
        "stride negative",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(stride=-2),
        "Stride must be 1 or more along both axes (got -2, -2); use a stride of at least 1.",
    ),
    (
        "fractional stride",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(stride=(1.5, 1)),
        "Stride must be a whole number; got 1.5.",
    ),
    (
        "dilation zero",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(dilation=0),
        "Dilation must be 1 or more along both axes (got 0, 0); 1 means no gaps.",
    ),
    (
        "negative padding",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(padding=(0, 0, -1, 0)),
        "Padding cannot be negative (got -1); use 0 or more pixels.",
    ),
    (
        "unknown padding word",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(padding="full"),
        "Padding 'full' is not understood; use a whole number, 'valid' or 'same'.",
    ),
    (
        "three padding numbers",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(padding=(1, 1, 1)),
        "Padding must be one number, a pair (rows, columns) or four numbers (top, bottom, left, right); got 3 numbers.",
    ),
    (
        "huge padding",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(padding=10**9),
        "Padding of 1000000000 pixels is more than this playground supports; use at most 256.",
    ),
    (
        "same with stride 2",
        np.ones((1, 1, 5, 5)),
        np.ones((1, 1, 3, 3)),
        ConvSettings(stride=2, padding="same"),
        "'same' padding needs stride 1 (PyTorch's rule); set the stride to 1 or choose a number of padding pixels.",
    ),
    (
        "reflect padding too large",
        np.ones((1, 1, 2, 3)),
        np.ones((1, 1, 1, 1)),
        ConvSettings(padding=2, padding_mode="reflect"),
        "Reflect padding of 2 needs an input with at least 3 rows, but it has 2; use less padding or the 'replicate' mode.",
    ),
    (
        "unknown padding mode",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(padding_mode="circular"),
        "Padding mode 'circular' is not known; choose one of zeros, reflect, replicate.",
    ),
    (
        "empty kernel",
        np.ones((1, 1, 3, 3)),
        np.ones((1, 1, 0, 2)),
        ConvSettings(),
        "The kernel is empty; give it at least one value.",
    ),
    (
        "empty input (zero-size output)",
        np.ones((1, 1, 0, 3)),
        np.ones((1, 1, 1, 1)),
        ConvSettings(),
        "The input is empty; give it at least one row and one column.",
    ),
    (
        "NaN in kernel",
        np.ones((1, 1, 3, 3)),
        np.array([[[[1.0, np.nan]]]]),
        ConvSettings(),
        "The kernel contains NaN or infinite values; replace them with finite numbers.",
    ),
    (
        "inf in input",
        np.full((1, 1, 3, 3), np.inf),
        np.ones((1, 1, 1, 1)),
        ConvSettings(),
        "The input contains NaN or infinite values; replace them with finite numbers.",
    ),
    (
        "non-numeric input",
        [[["a", "b"]]],
        np.ones((1, 1, 1, 1)),
        ConvSettings(),
        "The input must contain only numbers, in rows of equal length.",
    ),
    (
        "overflow",
        np.full((1, 1, 3, 3), 1e200),
        np.full((1, 1, 3, 3), 1e200),
        ConvSettings(),
        "The result is too large to represent (it overflowed); use smaller input or kernel values.",
    ),
    (
        "channel mismatch",
        np.ones((1, 3, 3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(),
        "The input has 3 channel(s) but the kernel has 1; give the kernel 3 channel(s).",
    ),
    (
        "wrong rank",
        np.ones((3, 3)),
        np.ones((1, 1, 2, 2)),
        ConvSettings(),
        "The input must have 4 dimensions (images, channels, rows, columns); got 2.",
    ),
]


@pytest.mark.parametrize("name,x,w,s,message", BAD_CONV, ids=[c[0] for c in BAD_CONV])
def test_bad_conv_input_names_the_problem(name, x, w, s, message):
    import warnings

    for op in (conv2d, conv2d_gemm):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the overflow case overflows on purpose
            with pytest.raises(OpError) as err:
                op(x, w, None, s)
        assert str(err.value) == message
    if np.ndim(x) == 4 and np.ndim(w) == 4 and np.shape(x)[0] == 1 and np.shape(w)[0] == 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(OpError) as err:
                conv_steps(np.asarray(x)[0], np.asarray(w)[0], 0.0, s)
        assert str(err.value) == message


BAD_POOL = [
    (
        "window larger than input",
        np.ones((1, 1, 2, 2)),
        PoolSettings(size=3),
        "The pooling window spans 3 rows but the padded input has only 2 rows; use a smaller pooling window.",
    ),
    (
        "stride zero",
        np.ones((1, 1, 4, 4)),
        PoolSettings(stride=(1, 0)),
        "Pooling stride must be 1 or more along both axes (got 1, 0); use a stride of at least 1.",
    ),
    (
        "size zero",
        np.ones((1, 1, 4, 4)),
        PoolSettings(size=(0, 2)),
        "Pooling size must be 1 or more along both axes (got 0, 2); use a window of at least 1×1.",
    ),
    (
        "padding over half",
        np.ones((1, 1, 4, 4)),
        PoolSettings(size=3, padding=2),
        "Pooling padding 2 is more than half the window size 3; use at most 1 (PyTorch's rule).",
    ),
    (
        "negative padding",
        np.ones((1, 1, 4, 4)),
        PoolSettings(padding=-1),
        "Pooling padding cannot be negative (got -1); use 0 or more pixels.",
    ),
    (
        "unknown kind",
        np.ones((1, 1, 4, 4)),
        PoolSettings(kind="min"),
        "Pooling kind 'min' is not known; choose 'max' or 'avg'.",
    ),
    (
        "empty input",
        np.ones((1, 1, 4, 0)),
        PoolSettings(),
        "The input is empty; give it at least one row and one column.",
    ),
    (
        "NaN input",
        np.full((1, 1, 2, 2), np.nan),
        PoolSettings(),
        "The input contains NaN or infinite values; replace them with finite numbers.",
    ),
]


@pytest.mark.parametrize("name,x,s,message", BAD_POOL, ids=[c[0] for c in BAD_POOL])
def test_bad_pool_input_names_the_problem(name, x, s, message):
    with pytest.raises(OpError) as err:
        pool2d(x, s)
    assert str(err.value) == message
    with pytest.raises(OpError) as err:
        pool_steps(x[0, 0], s)
    assert str(err.value) == message


def test_other_bad_inputs():
    with pytest.raises(OpError, match=r"^The kernel has no columns; give it at least one\.$"):
        output_size(3, 0, unit="column")
    with pytest.raises(OpError, match=r"^Stride must be 1 or more \(got 0\)"):
        output_size_formula(3, 2, 0)
    with pytest.raises(OpError, match=r"^One filter takes one bias value; got 2\.$"):
        conv_steps(X3, K2, b=[1.0, 2.0])
    with pytest.raises(OpError, match=r"^The bias needs one value per filter \(1\); got 2\.$"):
        conv2d(_one(X3), _one(K2), [1.0, 2.0])
    with pytest.raises(OpError, match=r"^Shifting needs one non-empty image"):
        shift_image(np.ones((2, 2, 2)))


def test_engine_does_not_import_torch_streamlit_or_plotly():
    code = (
        "import json, sys; import playground.ops, playground.ops.kernels; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not set(json.loads(out.stdout)) & {"torch", "streamlit", "plotly"}


def test_im2col_comparison_matches_torch_and_reports_gap_and_size():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(7, 6)), rng.normal(size=(3, 2))
    s = ops.ConvSettings(stride=(2, 1), padding=1, dilation=(1, 2))
    cmp = ops.im2col_comparison(x, w, 0.5, s)
    want = F.conv2d(
        torch.tensor(x)[None, None],
        torch.tensor(w)[None, None],
        torch.tensor([0.5], dtype=torch.float64),
        stride=(2, 1),
        padding=1,
        dilation=(1, 2),
    )[0, 0].numpy()
    assert np.allclose(cmp.gemm, want, atol=1e-12) and np.allclose(cmp.direct, want, atol=1e-12)
    assert cmp.max_abs_diff == float(np.max(np.abs(cmp.gemm - cmp.direct))) < 1e-12
    assert cmp.cols.shape == (6, want.size) and cmp.size_ratio == cmp.cols.size / x.size


def test_shift_comparison_agrees_with_pooled_overlap():
    x = np.arange(36.0).reshape(6, 6)
    s = ops.PoolSettings(kind="max", size=(2, 2))
    cmp = ops.shift_comparison(x, s, (0, 1))
    assert np.array_equal(cmp.shifted, ops.shift_image(x, (0, 1)))
    assert np.array_equal(cmp.pooled, ops.pool2d(x[None, None], s)[0, 0])
    assert np.array_equal(cmp.pooled_shifted, ops.pool2d(cmp.shifted[None, None], s)[0, 0])
    assert cmp.unchanged == ops.pooled_overlap(x, s, (0, 1)) == float(np.mean(cmp.pooled == cmp.pooled_shifted))


def test_output_formulas_per_axis_end_in_the_output_shape():
    """The Convolution and Pooling pages and the CLI show these; each ends in that axis's output size."""
    from playground.ops import conv_output_formulas, pool_output_formulas, pool_output_shape

    s = ConvSettings(stride=(2, 1), padding="valid", dilation=(1, 2))
    rows, cols = conv_output_formulas((9, 8), (2, 3), s)
    assert rows == "⌊(9 + 0 + 0 − 1·(2 − 1) − 1) / 2⌋ + 1 = 4" and cols.endswith(
        f"= {conv_output_shape((9, 8), (2, 3), s)[1]}"
    )
    same = ConvSettings(padding="same")
    assert conv_output_formulas((5, 5), (2, 2), same) == (
        "⌊(5 + 0 + 1 − 1·(2 − 1) − 1) / 1⌋ + 1 = 5",
        "⌊(5 + 0 + 1 − 1·(2 − 1) − 1) / 1⌋ + 1 = 5",
    )
    p = PoolSettings(size=(3, 2), stride=(3, 2), padding=(1, 1))
    formulas = pool_output_formulas((7, 6), p)
    assert [f.rsplit("= ", 1)[1] for f in formulas] == [str(n) for n in pool_output_shape((7, 6), p)]
