"""The code shown beside a convolution or pooling reproduces the page's output exactly: each numpy and
PyTorch snippet is executed and compared with the engine's numbers, over the settings a page offers."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from playground import ops
from playground.nn import export as snippets
from playground.ops import kernels, samples

CONV_CASES = [
    ops.ConvSettings(),
    ops.ConvSettings(stride=(2, 1), padding=1),
    ops.ConvSettings(padding="same", dilation=(2, 1)),
    ops.ConvSettings(padding=(0, 1, 2, 1), padding_mode="reflect", flip=True),
    ops.ConvSettings(padding=2, padding_mode="replicate", stride=2, dilation=2),
    ops.ConvSettings(padding="same"),  # an even kernel: PyTorch-style uneven split
]
POOL_CASES = [
    ops.PoolSettings(),
    ops.PoolSettings(kind="max", size=3, stride=1, padding=1),
    ops.PoolSettings(kind="avg", size=(2, 3), stride=(1, 2), padding=(1, 1)),
    ops.PoolSettings(kind="avg", size=3, stride=2, padding=1, count_include_pad=False),
]


def run(code: str) -> np.ndarray:
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<snippet>", "exec"), scope)  # noqa: S102 - the project's own generated code
    out = scope["out"]
    return out.numpy() if isinstance(out, torch.Tensor) else np.asarray(out)


@pytest.mark.parametrize("settings", CONV_CASES, ids=lambda s: repr(s)[:60])
@pytest.mark.parametrize("kernel", [kernels.PRESETS["Sobel x"].array, np.array([[1.0, -2.5], [0.25, 3.0]])])
def test_convolution_snippets_reproduce_the_engine(settings, kernel):
    x = np.random.default_rng(7).normal(size=(7, 8)).round(3)
    want = ops.conv2d(x[None, None], kernel[None, None], np.array([0.5]), settings)[0, 0]
    for code in (snippets.conv_numpy(x, kernel, settings, 0.5), snippets.conv_torch(x, kernel, settings, 0.5)):
        got = run(code)
        assert got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-12), code


@pytest.mark.parametrize("settings", POOL_CASES, ids=lambda s: repr(s)[:60])
def test_pooling_snippets_reproduce_the_engine(settings):
    x = samples.WORKED_4X4 * np.array([1, -1, 1, -1])  # negatives: max must not pick the padding
    x = np.vstack([x, x[:1] * 2])
    want = ops.pool2d(x[None, None], settings)[0, 0]
    for code in (snippets.pool_numpy(x, settings), snippets.pool_torch(x, settings)):
        got = run(code)
        assert got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-12), code


def test_numbers_travel_bit_for_bit():
    x = np.array([[0.1, 1 / 3], [-2.5e-7, 12345.678901234]])
    code = snippets.conv_numpy(x, np.ones((1, 1)), ops.ConvSettings())
    assert np.array_equal(run(code), x)
