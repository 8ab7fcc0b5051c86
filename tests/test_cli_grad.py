"""`python -m playground grad conv|pool`: JSON gradients checked against torch.autograd, text output, one-line errors."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.cli.main import main

X3 = "[[1,2,3],[4,5,6],[7,8,9]]"
X4 = "[[1,3,2,2],[4,2,0,1],[5,5,1,0],[0,1,3,3]]"


def run(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one command run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> dict:
    code, out, err = run(*argv, "--json")
    assert (code, err) == (0, ""), err
    return json.loads(out)


def test_grad_conv_worked_example():
    doc = run_json("grad", "conv", "--input", X3, "--kernel", "[[1,0],[0,-1]]", "--grad-output", "[[1,2],[3,4]]")
    # dW[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37; dx = g fully convolved with the flipped kernel; db = 1+2+3+4
    assert doc == {
        "grad_input": [[1, 2, 0], [3, 3, -2], [0, -3, -4]],
        "grad_kernel": [[37, 47], [67, 77]],
        "grad_bias": [10],
    }


def test_grad_pool_worked_example_ties_go_to_the_first_maximum():
    doc = run_json("grad", "pool", "--input", X4, "--size", "2", "--grad-output", "[[10,20],[30,40]]")
    assert doc == {"grad_input": [[0, 0, 20, 0], [10, 0, 0, 0], [30, 0, 0, 0], [0, 0, 40, 0]]}
    doc = run_json("grad", "pool", "--input", X4, "--size", "2", "--mode", "avg", "--grad-output", "[[4,8],[12,16]]")
    assert doc["grad_input"] == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def _t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(3, 7),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.integers(0, 2**32 - 1),
)
def test_grad_conv_channels_and_filters_match_autograd(channels, filters, size, k, stride, padding, dilation, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (channels, size, size))
    w = rng.integers(-2, 3, (filters, channels, k, k))
    if size + 2 * padding < dilation * (k - 1) + 1:
        return  # the kernel does not fit: the refusal is test_bad_input_exits_2_with_one_line's
    tx, tw, tb = _t(x), _t(w), _t(np.zeros(filters))
    out = F.conv2d(tx[None], tw, tb, stride, padding, dilation)[0]
    g = rng.integers(-3, 4, tuple(out.shape))
    out.backward(torch.tensor(g, dtype=torch.float64))
    doc = run_json(
        "grad",
        "conv",
        "--input",
        json.dumps(x.tolist()),
        "--kernel",
        json.dumps(w.tolist()),
        "--grad-output",
        json.dumps(g.tolist()),
        "--stride",
        str(stride),
        "--padding",
        str(padding),
        "--dilation",
        str(dilation),
    )
    one = channels == 1
    np.testing.assert_allclose(doc["grad_input"], tx.grad.numpy()[0] if one else tx.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(doc["grad_kernel"], tw.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(doc["grad_bias"], tb.grad.numpy(), rtol=1e-9)
    assert len(doc["grad_bias"]) == filters


def test_grad_text_output():
    code, out, err = run("grad", "conv", "--input", X3, "--kernel", "[[1,0],[0,-1]]", "--grad-output", "[[1,2],[3,4]]")
    assert code == 0 and err == ""
    assert out.splitlines()[:4] == ["dL/d(input) (3×3):", " 1   2   0", " 3   3  −2", " 0  −3  −4"]
    assert out.strip().endswith("dL/d(bias): 10")


BAD = [
    (
        ["grad", "conv", "--input", X3, "--kernel", "[[1,0],[0,-1]]", "--grad-output", "[[1,2,3],[3,4,5]]"],
        "--grad-output must match the forward output: 2×2; got 2×3.",
    ),
    (
        ["grad", "conv", "--input", X3, "--kernel", "[[[[1]]],[[[2]]]]", "--grad-output", "[[1,2],[3,4]]"],
        "--grad-output must match the forward output: 2 filters of 3×3 (a 3-D list); got 2×2.",
    ),
    (
        ["grad", "conv", "--input", X3, "--kernel", "[[1,0],[0,-1]]", "--grad-output", "[[1,2],[3,null]]"],
        None,
    ),
    (
        ["grad", "conv", "--input", X3, "--kernel", "[[1,2,3,4]]", "--grad-output", "[[1]]"],
        "The kernel spans 4 columns but the padded input has only 3 columns; use a smaller kernel or more padding.",
    ),
    (
        ["grad", "pool", "--input", X4, "--size", "2", "--mode", "min", "--grad-output", "[[1]]"],
        "Pooling kind 'min' is not known; choose 'max' or 'avg'.",
    ),
    (
        ["grad", "pool", "--input", X4, "--size", "2", "--grad-output", "oops"],
        "--grad-output is not valid JSON (Expecting value at column 1); write it like [[1, 2], [3, 4]].",
    ),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_exits_2_with_one_line(argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")
    if message:
        assert err == f"error: {message}\n"


def test_usage_mistakes_are_one_line():
    for argv in (["grad"], ["grad", "conv", "--input", X3], ["grad", "dense"]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2 and err.getvalue().count("\n") == 1 and err.getvalue().startswith("error: ")
