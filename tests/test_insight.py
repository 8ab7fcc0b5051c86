"""The shipped model's view of a digit: prediction, unsure notices, feature maps, saliency, softmax arithmetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground import insight
from playground.checkpoints import load_checkpoint
from playground.data import load_dataset
from playground.model import infer_shapes
from playground.preprocess import normalise

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
    mixed = [insight.predict(model, tensor(np.maximum(digits.images[a], digits.images[b])))
             for a in range(10) for b in range(10, 20)]
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
