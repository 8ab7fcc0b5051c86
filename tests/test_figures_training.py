"""playground.figures.training: the Train page's figures carry exactly the numbers they are given."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
import pytest

from playground.figures.training import (
    CurveSeries,
    confusion_figure,
    curves_figure,
    gallery_figure,
    losses_differ,
    maps_figure,
    mosaic,
    per_class_figure,
)


def arr(value) -> np.ndarray:
    """A trace array as plotly stores it: a list, a numpy array, or a base64 {"dtype", "bdata", "shape"} dict."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in value["shape"].split(",")]) if "shape" in value else flat
    return np.asarray(value)


def validated(fig: go.Figure) -> go.Figure:
    """Full plotly validation of a figure built unvalidated (raises on any bad property)."""
    return go.Figure(fig.to_dict())


def trace(fig: go.Figure, name: str):
    return next(t for t in fig.data if t.name == name)


TRAIN = [(5, 2.0), (10, 1.5), (15, 1.0), (20, 0.8)]
VAL = [(10, 1.4, 0.61), (20, 0.9, 0.75)]


def test_one_run_plots_loss_and_accuracy_against_epochs():
    fig = validated(curves_figure([CurveSeries.of("Run 1", TRAIN, VAL, steps_per_epoch=10)]))
    t = trace(fig, "training loss")
    assert np.allclose(arr(t.x), [0.5, 1.0, 1.5, 2.0]) and np.allclose(arr(t.y), [2.0, 1.5, 1.0, 0.8])
    assert list(arr(t.customdata)) == [5, 10, 15, 20]  # hover shows the step
    vl, va = trace(fig, "validation loss"), trace(fig, "validation accuracy")
    assert np.allclose(arr(vl.x), [1.0, 2.0]) and np.allclose(arr(vl.y), [1.4, 0.9])
    assert np.allclose(arr(va.y), [61.0, 75.0]) and va.xaxis == "x2" and va.yaxis == "y2"
    assert t.line.color != vl.line.color == va.line.color  # validation in its own colour
    assert not any("appear after" in (a.text or "") for a in fig.layout.annotations)


def test_overlay_names_and_colours_each_run():
    a = CurveSeries.of("Run 1", TRAIN, VAL, 10)
    b = CurveSeries.of("Run 2", [(4, 2.2), (8, 1.2)], [(8, 1.1, 0.7)], 4)  # another batch size: 4 steps/epoch
    fig = validated(curves_figure([a, b]))
    assert len(fig.data) == 6
    assert {t.name for t in fig.data} >= {"Run 1 · training loss", "Run 2 · validation accuracy"}
    assert trace(fig, "Run 1 · training loss").line.color != trace(fig, "Run 2 · training loss").line.color
    assert trace(fig, "Run 2 · validation loss").line.color == trace(fig, "Run 2 · training loss").line.color
    assert trace(fig, "Run 2 · validation loss").line.dash == "dash"
    assert np.allclose(arr(trace(fig, "Run 2 · training loss").x), [1.0, 2.0])  # epochs, comparable across runs
    assert trace(fig, "Run 2 · validation accuracy").legendgroup == "Run 2"


def test_no_points_yet_says_so():
    fig = validated(curves_figure([CurveSeries.of("Run 1", (), (), 10)]))
    assert len(arr(trace(fig, "training loss").x)) == 0
    assert any("appear after the first steps" in a.text for a in fig.layout.annotations)


def test_confusion_matrix_rows_are_true_classes():
    conf = np.array([[5, 1, 0], [0, 7, 2], [3, 0, 9]])
    fig = validated(confusion_figure(conf, ("cat", "dog", "eel")))
    hm = fig.data[0]
    assert np.array_equal(arr(hm.z), conf)
    assert hm.text[1][2] == "2" and hm.text[0][2] == ""  # zero cells stay blank
    assert list(hm.customdata[1][2]) == ["dog", "eel"]  # row = true dog, column = predicted eel
    assert list(fig.layout.xaxis.ticktext) == ["cat", "dog", "eel"] and fig.layout.yaxis.autorange == "reversed"


def test_per_class_bars_leave_absent_classes_empty():
    fig = validated(per_class_figure(np.array([1.0, 0.5, np.nan]), ("0", "1", "2")))
    bar = fig.data[0]
    assert list(bar.x) == ["0", "1", "2"] and list(bar.y) == [100.0, 50.0, None]
    assert list(bar.text) == ["100.0%", "50.0%", ""]


def test_mosaic_places_tiles_row_by_row_with_gaps():
    tiles = np.arange(5 * 2 * 3).reshape(5, 2, 3)
    z = mosaic(tiles, cols=2, gap=1)
    assert z.shape == (3 * 3 - 1, 2 * 4 - 1)
    assert np.array_equal(z[0:2, 0:3], tiles[0]) and np.array_equal(z[0:2, 4:7], tiles[1])
    assert np.array_equal(z[6:8, 0:3], tiles[4]) and np.isnan(z[6:8, 4:7]).all()  # empty last slot
    assert np.isnan(z[2]).all() and np.isnan(z[:, 3]).all()  # gap row and column
    labelled = mosaic(tiles, cols=5, gap=1, label_rows=4)
    assert labelled.shape == (4 + 2, 5 * 4 - 1) and np.isnan(labelled[:4]).all()


def test_gallery_captions_true_and_predicted_names():
    imgs = np.zeros((3, 28, 28), np.uint8)
    imgs[1, 5, 5] = 200
    fig = validated(gallery_figure(imgs, [7, 1, 3], [1, 7, 8], tuple("0123456789"), cols=2))
    assert [a.text for a in fig.layout.annotations] == ["7 → 1", "1 → 7", "3 → 8"]
    z = arr(fig.data[0].z).astype(float)
    label_rows = z.shape[0] // 2 - 28 - 1  # two rows of tiles, one gap of 2 between them
    assert z[label_rows + 5, 30 + 5] == 200  # image 1 is the second tile of the first row
    empty = validated(gallery_figure(np.zeros((0, 28, 28), np.uint8), [], [], tuple("0123456789")))
    assert "No misclassified" in empty.layout.annotations[0].text


def test_feature_maps_are_scaled_per_map_and_sent_as_uint8():
    maps = np.stack([np.arange(16.0).reshape(4, 4), np.full((4, 4), 3.0), -np.arange(16.0).reshape(4, 4)])
    fig = validated(maps_figure(maps, "conv1", cols=3))
    z = arr(fig.data[0].z)
    assert z.dtype == np.uint8 and z.shape == (4, 3 * 5 - 1)
    assert z[0, 0] == 0 and z[3, 3] == 254  # map 0: its own min black, max white
    assert (z[:, 5:9] == 0).all()  # a flat map is all black, not noise
    assert z[0, 10] == 254 and z[3, 13] == 0  # map 2 is reversed
    assert (z[:, 4] == 255).all()  # the gap: a value no map reaches
    assert len(np.unique(z[:, 0:4])) == 16
    many = validated(maps_figure(np.random.default_rng(0).normal(size=(40, 5, 5)), "conv1", limit=32, cols=8))
    assert arr(many.data[0].z).shape == (4 * 6 - 1, 8 * 6 - 1)  # at most 32 maps


def test_curve_figure_builds_fast_enough_for_twice_a_second():
    """Not a speed test (see benchmarks/train_page.py), a guard against validating 250-point traces."""
    series = CurveSeries.of("Run 1", [(i, 1.0 / i) for i in range(1, 251)], [(i * 25, 0.5, 0.9) for i in range(10)], 25)
    fig = curves_figure([series])
    assert isinstance(fig, go.Figure) and len(arr(fig.data[0].x)) == 250


@pytest.mark.parametrize(
    "builder",
    [
        lambda: curves_figure([CurveSeries.of("Run 1", TRAIN, VAL, 10)]),
        lambda: confusion_figure(np.eye(10, dtype=int) * 3, tuple("0123456789")),
        lambda: per_class_figure(np.linspace(0, 1, 10), tuple("0123456789")),
        lambda: gallery_figure(np.zeros((20, 28, 28), np.uint8), [1] * 20, [2] * 20, tuple("0123456789")),
        lambda: maps_figure(np.ones((32, 26, 26)), "relu1"),
    ],
)
def test_every_figure_serialises(builder):
    assert validated(builder()).to_json()


def test_training_accuracy_is_drawn_beside_validation_accuracy():
    acc = [(5, 0.4), (10, 0.75), (15, 0.9)]
    fig = validated(curves_figure([CurveSeries.of("Run 1", TRAIN, VAL, 10, acc)]))
    t = trace(fig, "training accuracy")
    assert np.allclose(arr(t.x), [0.5, 1.0, 1.5]) and np.allclose(arr(t.y), [40.0, 75.0, 90.0])
    assert t.xaxis == "x2" and t.yaxis == "y2"
    plain = curves_figure([CurveSeries.of("Run 1", TRAIN, VAL, 10)])
    assert "training accuracy" not in [d.name for d in plain.data]  # nothing logged, nothing drawn


def test_a_diverged_run_beside_a_good_one_calls_for_a_log_axis():
    good = CurveSeries.of("Run 1", TRAIN, VAL, 10)
    diverged = CurveSeries.of("Run 2", [(5, 2.3), (10, 4.0e4)], [], 10)
    assert losses_differ([good, diverged]) and not losses_differ([good, good]) and not losses_differ([good])
    fig = validated(curves_figure([good, diverged], log_loss=True))
    assert fig.layout.yaxis.type == "log" and "log scale" in fig.layout.yaxis.title.text
    assert validated(curves_figure([good, diverged])).layout.yaxis.type in (None, "-", "linear")
