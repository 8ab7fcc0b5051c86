"""The shipped model's view of a digit: prediction, unsure notices, feature maps, saliency, softmax arithmetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from playground import ops
from playground.data.datasets import load_dataset
from playground.imaging.photo import channels_last, fit_photo
from playground.imaging.preprocess import normalise
from playground.nn import insight
from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec
from playground.nn.checkpoints import load_checkpoint
from playground.nn.config import images_to_tensor
from playground.nn.model import build
from playground.nn.shapes import infer_shapes

MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "playground-mnist.safetensors"


@pytest.fixture(scope="module")
def loaded():
    return load_checkpoint(MODEL)


@pytest.fixture(scope="module")
def digits(mnist_path):
    return load_dataset("mnist", mnist_path, split="test", download_ok=False)


def tensor(img_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(normalise(img_uint8.astype(np.float32) / 255.0))


def test_prediction_of_held_out_digits(loaded, digits):
    for i in range(5):
        pred = insight.predict(loaded.model.eval(), tensor(digits.images[i]), ink_fraction=0.1)
        assert pred.probabilities.sum() == pytest.approx(1.0)
        assert pred.label == digits.labels[i]
        assert pred.confidence == pred.probabilities.max() and not pred.unsure and pred.notice == ""


def test_empty_covered_and_ambiguous_inputs_get_a_notice(loaded, digits):
    model = loaded.model.eval()
    x = tensor(digits.images[0])
    assert "empty" in insight.predict(model, x, ink_fraction=0.0).notice
    assert "covered" in insight.predict(model, x, ink_fraction=0.9).notice
    blend = tensor(((digits.images[0].astype(int) + digits.images[1].astype(int)) // 2).astype(np.uint8))
    mixed = [
        insight.predict(model, tensor(np.maximum(digits.images[a], digits.images[b])))
        for a in range(10)
        for b in range(10, 20)
    ]
    unsure = [p for p in mixed if p.unsure]
    assert unsure and all("unsure" in p.notice and p.confidence < insight.UNSURE_BELOW for p in unsure)
    assert insight.predict(model, blend).probabilities.sum() == pytest.approx(1.0)


def test_feature_maps_match_the_shape_table(loaded, digits):
    maps = insight.feature_maps(loaded.model.eval(), tensor(digits.images[0]))
    table = {info.name: info.out_shape for info in infer_shapes(loaded.spec)}
    assert maps and all(m.shape == table[m.name] == m.maps.shape for m in maps)
    assert [m.name for m in maps][0] == "conv1"


def test_first_layer_kernels_are_the_conv_weights(loaded):
    k = insight.first_layer_kernels(loaded.model)
    assert np.array_equal(k, loaded.model.conv1.weight.detach().double().numpy())


def test_saliency_lies_on_the_strokes(loaded, digits):
    img = digits.images[3]
    sal = insight.saliency(loaded.model, tensor(img), int(digits.labels[3]))
    assert sal.shape == (28, 28) and sal.min() >= 0 and sal.max() == pytest.approx(1.0)
    ink = img > 64
    assert sal[ink].sum() > 0.9 * sal.sum()  # gradient × input is zero where there is no ink


def test_softmax_arithmetic_equals_torch():
    logits = np.array([1.5, -2.0, 0.3, 7.0, 2.2, -0.5, 0.0, 3.3, 1.1, -4.0])
    exp = insight.softmax_explanation(logits, 3)
    t = torch.tensor(logits)
    assert np.allclose(exp.probabilities, torch.softmax(t, 0).numpy(), atol=1e-12)
    assert exp.loss == pytest.approx(F.cross_entropy(t[None], torch.tensor([3])).item(), abs=1e-12)
    assert f"= {exp.probabilities[3]:.4f}" in exp.text and f"= {exp.loss:.4f}" in exp.text


def canvas_digit(img28: np.ndarray) -> np.ndarray:
    """A 28×28 MNIST digit blown up to the 280×280 canvas, white on black, as uint8 RGBA."""
    big = np.kron(img28, np.ones((10, 10), np.uint8))
    return np.dstack([big, big, big, np.full_like(big, 255)])


def test_analyse_runs_the_page_pipeline_and_matches_the_pieces(loaded, digits):
    a = insight.analyse(loaded.model, loaded.spec, canvas_digit(digits.images[0]), background="dark")
    x = torch.from_numpy(normalise(a.prep.image))
    with torch.no_grad():
        logits = loaded.model.eval()(x)[0].double().numpy()
    assert a.problem == "" and a.prediction.label == digits.labels[0]
    assert np.allclose(a.prediction.probabilities, torch.softmax(torch.tensor(logits), 0).numpy(), atol=1e-9)
    assert np.allclose(a.saliency, insight.saliency(loaded.model, x, a.prediction.label))
    assert a.softmax.target == a.prediction.label and np.allclose(a.softmax.logits, logits, atol=1e-6)
    kinds = {i.name: i.kind for i in infer_shapes(loaded.spec)}
    assert [m.name for m in a.layers] == [
        n for n, k in kinds.items() if k in insight.SHOWN_KINDS and n not in ("dense1", "relu5")
    ]
    assert {m.name: m.source for m in a.layers} == {
        "conv1": "conv1",
        "relu1": "conv1",
        "conv2": "conv2",
        "relu2": "conv2",
        "pool1": "conv2",
        "conv3": "conv3",
        "relu3": "conv3",
        "conv4": "conv4",
        "relu4": "conv4",
        "pool2": "conv4",
    }
    assert set(a.conv_inputs) == {"conv1", "conv2", "conv3", "conv4"}
    assert np.allclose(a.conv_inputs["conv1"][0], x[0, 0].numpy())


def test_analyse_refuses_empty_and_covered_pictures(loaded):
    blank = np.zeros((280, 280), np.uint8)
    assert insight.analyse(loaded.model, loaded.spec, blank).problem.startswith("The canvas is empty")
    white = np.full((280, 280), 255, np.uint8)
    covered = insight.analyse(loaded.model, loaded.spec, white)
    assert covered.prediction is None and covered.problem.startswith("Most of the canvas is covered")
    assert insight.analyse(loaded.model, loaded.spec, blank, background="auto").problem.startswith("No digit")


@pytest.mark.parametrize("conv,channel", [("conv1", 3), ("conv2", 0), ("conv3", 5), ("conv4", 31)])
def test_handoff_reproduces_the_networks_map(loaded, digits, conv, channel):
    """The Convolution page's numpy engine, fed the hand-over, gives the network's own numbers."""

    a = insight.analyse(loaded.model, loaded.spec, canvas_digit(digits.images[1]))
    h = insight.handoff(loaded.model, loaded.spec, a, conv, channel)
    weights, bias = insight.conv_weights(loaded.model, conv)
    inp = a.conv_inputs[conv]
    parts = [
        ops.conv2d(
            inp[c][None, None].astype(np.float64),
            weights[channel, c][None, None],
            settings=h.settings,
        )[0, 0]
        for c in range(inp.shape[0])
    ]
    full = np.sum(parts, axis=0) + bias[channel]
    net = dict(insight.forward_all(loaded.model, torch.from_numpy(normalise(a.prep.image))))[conv][0, channel]
    assert np.allclose(full, net.detach().numpy(), atol=1e-4)  # the sum of the per-channel parts
    assert h.n_in == inp.shape[0] and np.array_equal(h.image, inp[h.in_channel])
    assert h.in_channel == int(np.argmax([np.abs(p).sum() for p in parts]))
    assert h.bias == (float(bias[channel]) if h.n_in == 1 else 0.0)
    assert np.array_equal(h.kernel, weights[channel, h.in_channel])


# ---- the hand-over keeps the layer's exact geometry, for any design the Build page accepts ----


@st.composite
def conv_layers(draw):
    kernel, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["same", "valid", 0, 1, 2]))
    stride = 1 if padding == "same" else draw(st.integers(1, 2))
    return Conv(draw(st.integers(1, 3)), kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def contribution(x: torch.Tensor, weight: torch.Tensor, layer: Conv, channel: int, c: int) -> np.ndarray:
    """PyTorch's own: input channel c of x (1, C, H, W) through filter `channel` of the layer, no bias."""
    out = torch.nn.functional.conv2d(
        x[:, c : c + 1].double(),
        weight[channel : channel + 1, c : c + 1].double(),
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
    )
    return out[0, 0].numpy()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=conv_layers(), second=conv_layers(), seed=st.integers(0, 2**16), data=st.data())
def test_handoff_equals_the_channels_contribution_for_any_design(first, second, seed, data):
    # two such layers always fit a 28×28 input, so every example is a design the Build page accepts
    spec = ModelSpec("random", (first, Act("relu"), second, Flatten(), Dense(10)), input_shape=(1, 28, 28))
    infos = infer_shapes(spec)
    model = build(spec, seed=seed).eval()
    img = np.zeros((280, 280), np.uint8)
    img[60:220, 120:160] = 255  # a thick "1"
    a = insight.analyse(model, spec, img)
    conv = data.draw(st.sampled_from([i.name for i in infos if i.kind == "conv"]), label="conv")
    layer = next(spec.layers[i.index] for i in infos if i.name == conv)
    channel = data.draw(st.integers(0, layer.filters - 1), label="channel")
    h = insight.handoff(model, spec, a, conv, channel)
    # what the Convolution page computes from the hand-over...
    page = ops.conv2d(h.image[None, None], h.kernel[None, None], None, h.settings)[0, 0]
    # ...is that channel's contribution to the network's map, computed by PyTorch
    x = torch.from_numpy(a.conv_inputs[conv][None])
    weight = dict(model.named_children())[conv].weight.detach()
    assert np.allclose(page, contribution(x, weight, layer, channel, h.in_channel), atol=1e-5)
    net = dict(insight.forward_all(model, torch.from_numpy(normalise(a.prep.image))))[conv][0, channel]
    bias = float(dict(model.named_children())[conv].bias.detach()[channel])
    total = sum(contribution(x, weight, layer, channel, c) for c in range(h.n_in)) + bias
    assert np.allclose(total, net.detach().numpy(), atol=1e-5)
    assert h.stride == (layer.stride, layer.stride) and h.dilation == (layer.dilation, layer.dilation)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=conv_layers(), seed=st.integers(0, 2**16), data=st.data())
def test_a_colour_first_layer_is_handed_over_whole_with_the_networks_numbers(first, seed, data):
    """A layer reading three channels hands over all three with the filter's kernels and bias: the several-
    channels view's engine gives the network's own map (to 1e-5), for any geometry the Build page accepts."""
    spec = ModelSpec("colour", (first, Act("relu"), Flatten(), Dense(10)), input_shape=(3, 32, 32))
    model = build(spec, seed=seed).eval()
    photo = np.random.default_rng(seed).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    a = insight.analyse_photo(model, spec, fit_photo(Image.fromarray(channels_last(photo)), (32, 32)))
    channel = data.draw(st.integers(0, first.filters - 1), label="channel")
    h = insight.handoff(model, spec, a, "conv1", channel)
    assert h.channels.shape == (3, 32, 32) and h.kernels.shape == (3, first.kernel, first.kernel)
    page = ops.conv2d(h.channels[None], h.kernels[None], np.array([h.full_bias]), h.settings)[0, 0]
    net = a.layers[0].maps[channel]  # the network's conv1 map, as PyTorch computed it
    assert a.layers[0].name == "conv1"
    np.testing.assert_allclose(page, net, atol=1e-5)
    # the input handed over is the photo normalised per channel, exactly as the training images were
    np.testing.assert_allclose(h.channels, images_to_tensor(photo[None])[0].numpy(), atol=1e-6)
