"""Activations at initialisation: the numbers are the initial model's own, and the initialisation's effect
the lectures describe shows in them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from test_figures import arr

from playground.data.datasets import SPLIT_TRAIN, load_dataset
from playground.figures.training import activation_stats_figure
from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec
from playground.nn.config import TrainConfig, images_to_tensor
from playground.nn.init_stats import BATCH, activation_statistics
from playground.nn.presets import get_preset
from playground.nn.run import initial_model

DEEP_SIGMOID = ModelSpec(
    "deep-sigmoid",
    tuple(x for _ in range(5) for x in (Conv(16, 3, padding=1), Act("sigmoid"))) + (Flatten(), Dense(10)),
)


@pytest.fixture(scope="module")
def images(mnist_path):
    return load_dataset("mnist", mnist_path, split=SPLIT_TRAIN, seed=0).images


def test_statistics_are_the_initial_models_own(images):
    spec, config = get_preset("simple-convnet"), TrainConfig(init="he", seed=4)
    stats = activation_statistics(spec, config, images)
    assert [s.name for s in stats] == ["relu1", "relu2"]
    model = initial_model(spec, config).eval()
    with torch.no_grad():
        relu1 = model.relu1(model.conv1(images_to_tensor(images[:BATCH]))).double().numpy()
    assert stats[0].mean == pytest.approx(relu1.mean()) and stats[0].std == pytest.approx(relu1.std())
    assert stats[0].dead == pytest.approx((relu1 <= 0).all(axis=0).mean())
    assert stats[0].counts.sum() == relu1.size


def test_a_deep_sigmoid_network_with_std_001_goes_silent_and_xavier_keeps_it_alive(images):
    silent = activation_statistics(DEEP_SIGMOID, TrainConfig(init="std", init_std=0.01), images)
    alive = activation_statistics(DEEP_SIGMOID, TrainConfig(init="xavier"), images)
    assert all(abs(s.mean - 0.5) < 0.01 and s.std < 0.02 for s in silent)  # every sigmoid stuck near 0.5
    assert all(a.std > 4 * s.std for a, s in zip(alive, silent))
    assert all(s.dead is None for s in silent)


def test_the_figure_shows_each_layers_histogram_and_numbers(images):
    stats = activation_statistics(get_preset("simple-convnet"), TrainConfig(init="std"), images)
    spec = go.Figure(activation_stats_figure(stats).to_dict()).to_dict()
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    assert [b["name"] for b in bars] == ["relu1", "relu2"]
    assert all(np.isclose(arr(b["y"]).sum(), 100.0) for b in bars)
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert titles[0] == f"mean {stats[0].mean:.3g}, std {stats[0].std:.3g}, {100 * stats[0].dead:.0f} % dead"
