"""The numpy network (forward, backward, one training step) against the same network in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.ops import OpError
from playground.ops.network import Penalty, simple_convnet, small_network, total_loss, train_step

TOL = dict(rtol=1e-9, atol=1e-12)


def _torch_loss(net, params, x, labels, loss, penalty=Penalty()):
    """The same network written with torch.nn.functional; returns (loss, leaf tensors by name)."""
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    v = torch.tensor(x)
    for i, layer in enumerate(net.layers):
        if layer.kind == "conv":
            s = layer.settings
            v = F.conv2d(v, leaves[f"{i}.w"], leaves[f"{i}.b"], s.stride, s.padding, s.dilation)
        elif layer.kind == "act":
            v = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "none": lambda t: t}[layer.name](v)
        elif layer.kind == "pool":
            p = layer.settings
            pool = F.max_pool2d if p.kind == "max" else F.avg_pool2d
            v = pool(v, p.size, p.stride or p.size)
        elif layer.kind == "flatten":
            v = v.flatten(1)
        else:
            v = F.linear(v, leaves[f"{i}.w"], leaves[f"{i}.b"])
    y = torch.from_numpy(np.asarray(labels))
    if loss == "mse":
        data = F.mse_loss(torch.softmax(v, 1), F.one_hot(y, v.shape[1]).double())
    else:
        data = F.cross_entropy(v, y)
    weights = [t for k, t in leaves.items() if k.endswith(".w")]
    reg = sum(penalty.l1 * t.abs().sum() + 0.5 * penalty.l2 * (t**2).sum() for t in weights)
    return data + reg, leaves


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(2, 4),
    st.integers(1, 2),
    st.integers(0, 1),
    st.sampled_from(["relu", "sigmoid", "tanh"]),
    st.sampled_from(["max", "avg"]),
    st.sampled_from(["cross_entropy", "mse"]),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_small_network_step_matches_autograd(filters, size, stride, padding, act, pool, loss, n, seed):
    rng = np.random.default_rng(seed)
    net = small_network((8, 8), filters, size, stride, padding, act, pool)
    params = net.init(seed, "he")
    x, labels = rng.normal(size=(n, 1, 8, 8)), rng.integers(0, 10, n)
    penalty = Penalty(l1=float(rng.uniform(0, 0.01)), l2=float(rng.uniform(0, 0.01)))
    step = train_step(net, params, x, labels, loss, lr=0.5, penalty=penalty)
    ref, leaves = _torch_loss(net, params, x, labels, loss, penalty)
    ref.backward()
    assert step.loss == pytest.approx(ref.item(), rel=1e-10)
    for k, t in leaves.items():
        np.testing.assert_allclose(step.param_grads[k], t.grad.numpy(), **TOL)
        np.testing.assert_allclose(step.params_after[k], params[k] - 0.5 * t.grad.numpy(), **TOL)
    after, _ = _torch_loss(net, step.params_after, x, labels, loss, penalty)
    assert step.loss_after == pytest.approx(after.item(), rel=1e-10)
    assert [v.shape[1:] for v in step.values] == net.shapes()
    assert [g.shape for g in step.grads] == [v.shape for v in step.values]


def test_input_gradient_matches_autograd_and_a_small_step_lowers_the_loss():
    net = small_network((8, 8))
    params = net.init(3, "he")
    x = np.random.default_rng(0).normal(size=(1, 1, 8, 8))
    step = train_step(net, params, x, [7], lr=0.05)
    tx = torch.tensor(x, requires_grad=True)
    leaves = {k: torch.tensor(v) for k, v in params.items()}
    v = F.max_pool2d(F.relu(F.conv2d(tx, leaves["0.w"], leaves["0.b"])), 2).flatten(1)
    F.cross_entropy(F.linear(v, leaves["4.w"], leaves["4.b"]), torch.tensor([7])).backward()
    np.testing.assert_allclose(step.grads[0], tx.grad.numpy(), **TOL)
    assert step.loss_after < step.loss
    assert total_loss(net, params, x, [7], "cross_entropy") == pytest.approx(step.loss)


def test_simple_convnet_is_the_course_network_and_init_scales():
    net = simple_convnet()
    assert net.shapes() == [(1, 28, 28), (30, 24, 24), (30, 24, 24), (30, 12, 12), (4320,), (100,), (100,), (10,)]
    params = net.init(0)  # std 0.01, as in the course
    assert set(params) == {"0.w", "0.b", "4.w", "4.b", "6.w", "6.b"}
    assert params["0.w"].std() == pytest.approx(0.01, rel=0.05) and not params["4.b"].any()
    he = net.init(0, "he")
    assert he["4.w"].std() == pytest.approx(np.sqrt(2 / 4320), rel=0.05)
    xavier = net.init(0, "xavier")
    assert xavier["6.w"].std() == pytest.approx(np.sqrt(2 / 110), rel=0.1)


def test_networks_that_do_not_fit_are_refused_naming_the_layer():
    with pytest.raises(OpError, match=r"Layer 1 \(convolution\): The kernel spans 9 rows"):
        small_network((8, 8), size=9)
    with pytest.raises(OpError, match=r"Layer 3 \(pooling\)"):
        small_network((4, 4), size=4)
    with pytest.raises(OpError, match="Initialisation 'lecun' is not known"):
        small_network((8, 8)).init(0, "lecun")
