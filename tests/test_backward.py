"""The engine's backward pass against torch.autograd (float64, 1e-9), and the worked examples a lecture uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st
from op_cases import TOL, TORCH_MODE, _t, _values, conv_cases, pool_cases

from playground.ops import ConvSettings, OpError, PoolSettings, conv2d, im2col, pool2d
from playground.ops.activations import ACTIVATIONS, activate
from playground.ops.backward import activation_backward, col2im, conv2d_backward, pool2d_backward
from playground.ops.layers import dense, dense_backward, gradient_check, loss_and_grad, softmax
from playground.ops.padding import resolve_padding


def _leaf(a: np.ndarray) -> torch.Tensor:
    return _t(a).requires_grad_(True)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv2d_backward_matches_autograd(case):
    rng = np.random.default_rng(case["seed"])
    x, w = _values(rng, case["shape_x"], case["integers"]), _values(rng, case["shape_w"], case["integers"])
    s: ConvSettings = case["settings"]
    kh, kw = case["shape_w"][2:]
    try:
        oh, ow = conv2d(x, w, None, s).shape[2:]  # the forward op refuses what PyTorch refuses
    except OpError:
        event("refused")
        with pytest.raises(OpError):
            conv2d_backward(x, w, np.zeros(1), s)
        return
    event("valid")
    g = rng.normal(size=(x.shape[0], w.shape[0], oh, ow))
    top, bottom, left, right = resolve_padding(s.padding, (kh, kw), s.stride, s.dilation)
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(np.zeros(w.shape[0]))
    applied = tw.flip(2, 3) if s.flip else tw
    xp = F.pad(tx, (left, right, top, bottom), mode=TORCH_MODE[s.padding_mode])
    out = F.conv2d(xp, applied, tb, s.stride, 0, s.dilation)
    out.backward(_t(g))
    grads = conv2d_backward(x, w, g, s)
    np.testing.assert_allclose(grads.grad_input, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads.grad_kernel, tw.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads.grad_bias, tb.grad.numpy(), **TOL)
    assert grads.grad_input.shape == x.shape and grads.grad_kernel.shape == w.shape


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_pool2d_backward_matches_autograd(case):
    rng = np.random.default_rng(case["seed"])
    x = _values(rng, case["shape"], case["integers"])  # integers: many ties in max pooling
    s: PoolSettings = case["settings"]
    try:
        out = pool2d(x, s)
    except OpError:
        event("refused")
        return
    event(f"valid {s.kind}")
    g = rng.normal(size=out.shape)
    tx = _leaf(x)
    stride = s.stride or s.size
    if s.kind == "max":
        ref = F.max_pool2d(tx, s.size, stride, s.padding)
    else:
        ref = F.avg_pool2d(tx, s.size, stride, s.padding, count_include_pad=s.count_include_pad)
    ref.backward(_t(g))
    np.testing.assert_allclose(pool2d_backward(x, g, s), tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_matches_autograd(name):
    x = np.concatenate([np.linspace(-6, 6, 241), [0.0, -0.0, 30.0, -30.0]])  # includes 0, where ReLU's gradient is 0
    g = np.random.default_rng(1).normal(size=x.shape)
    tx = _leaf(x)
    fn = {"none": lambda t: t, "relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01)}
    fn |= {"sigmoid": torch.sigmoid, "tanh": torch.tanh}
    fn[name](tx).backward(_t(g))
    np.testing.assert_allclose(activation_backward(name, x, g), tx.grad.numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(activate(name, x), fn[name](_t(x)).numpy(), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.booleans(), st.integers(0, 2**32 - 1))
def test_dense_and_losses_match_autograd(n, d, k, mse, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(k, d)), rng.normal(size=k)
    y = rng.integers(0, k, n)
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    logits = F.linear(tx, tw, tb)
    if mse:
        loss = F.mse_loss(torch.softmax(logits, 1), F.one_hot(torch.from_numpy(y), k).double())
    else:
        loss = F.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    z = dense(x, w, b)
    np.testing.assert_allclose(z, logits.detach().numpy(), **TOL)
    result = loss_and_grad("mse" if mse else "cross_entropy", z, y)
    assert result.loss == pytest.approx(loss.item(), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(result.probs, torch.softmax(logits, 1).detach().numpy(), **TOL)
    grads = dense_backward(x, w, result.grad_logits)
    np.testing.assert_allclose(grads.grad_input, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads.grad_weight, tw.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads.grad_bias, tb.grad.numpy(), **TOL)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    z = np.array([[2.0, 1.0, 0.1]])
    result = loss_and_grad("cross_entropy", z, [0])
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(result.grad_logits, p - [[1, 0, 0]], rtol=1e-12)
    assert result.loss == pytest.approx(-np.log(p[0, 0]))
    assert np.isfinite(softmax(np.array([[1000.0, -1000.0]]))).all()  # no overflow


def test_worked_example_max_pool_routes_to_the_winner_and_avg_spreads():
    x = np.array([[1.0, 3.0, 2.0, 2.0], [4.0, 2.0, 0.0, 1.0], [5.0, 5.0, 1.0, 0.0], [0.0, 1.0, 3.0, 3.0]])
    g = np.array([[10.0, 20.0], [30.0, 40.0]])
    routed = pool2d_backward(x[None, None], g[None, None], PoolSettings("max", 2))[0, 0]
    # window maxima: 4 at (1,0); 2 at (0,2) (the first of the tied 2s); 5 at (2,0) (first of two); 3 at (3,2)
    expected = np.zeros((4, 4))
    expected[1, 0], expected[0, 2], expected[2, 0], expected[3, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(routed, expected)
    spread = pool2d_backward(x[None, None], g[None, None], PoolSettings("avg", 2))[0, 0]
    np.testing.assert_array_equal(spread, np.kron(g, np.ones((2, 2))) / 4)


def test_worked_example_conv_weight_gradient_is_input_correlated_with_g():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    w = np.array([[1.0, 0.0], [0.0, -1.0]])
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    grads = conv2d_backward(x[None, None], w[None, None], g[None, None])
    # dW[r, s] = Σ x[i+r, j+s]·g[i, j]: dW[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37
    np.testing.assert_array_equal(grads.grad_kernel[0, 0], [[37, 47], [67, 77]])
    assert grads.grad_bias.tolist() == [10.0]
    # dX = full convolution of g with the flipped kernel
    full = conv2d(np.pad(g, 1)[None, None], w[::-1, ::-1][None, None].copy())[0, 0]
    np.testing.assert_array_equal(grads.grad_input[0, 0], full)


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(2, 7, 6))
    cols = im2col(image, (3, 2), (2, 1), (1, 2))
    other = rng.normal(size=cols.shape)
    # <im2col(x), c> = <x, col2im(c)> for every x and c
    assert np.sum(cols * other) == pytest.approx(np.sum(image * col2im(other, (7, 6), (3, 2), (2, 1), (1, 2))))
    with pytest.raises(OpError, match="col2im needs"):
        col2im(other[:, :-1], (7, 6), (3, 2), (2, 1), (1, 2))


def test_gradient_check_agrees_and_restores_the_weights():
    rng = np.random.default_rng(4)
    x, w, y = rng.normal(size=(3, 5)), rng.normal(size=(4, 5)), np.array([0, 3, 1])

    def loss(weights):
        return loss_and_grad("cross_entropy", dense(x, weights), y).loss

    analytic = dense_backward(x, w, loss_and_grad("cross_entropy", dense(x, w), y).grad_logits).grad_weight
    before = w.copy()
    checks = gradient_check(loss, w, analytic, [(0, 0), (3, 4), (1, 2)])
    np.testing.assert_array_equal(w, before)
    assert all(c.relative_error < 1e-7 for c in checks)
    wrong = gradient_check(loss, w, analytic * 2, [(0, 0)])
    assert wrong[0].relative_error == pytest.approx(0.5, rel=1e-4)


def test_bad_gradients_and_names_are_refused_with_the_shape_needed():
    x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    with pytest.raises(OpError, match=r"forward output's shape 1×2×2×2; got 2×2"):
        conv2d_backward(x, w, np.ones((2, 2)))
    with pytest.raises(OpError, match="contains NaN"):
        conv2d_backward(x, w, np.full((1, 2, 2, 2), np.nan))
    with pytest.raises(OpError, match=r"shape 1×1×2×2; got one number"):
        pool2d_backward(x, 1.0)
    with pytest.raises(OpError, match="Activation 'gelu' is not known"):
        activation_backward("gelu", x, x)
    with pytest.raises(OpError, match="Loss 'hinge' is not known"):
        loss_and_grad("hinge", np.ones((1, 3)), [0])
    with pytest.raises(OpError, match="one class label between 0 and 2 per image"):
        loss_and_grad("cross_entropy", np.ones((1, 3)), [3])
