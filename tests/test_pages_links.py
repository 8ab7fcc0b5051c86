"""Convolution and Pooling in the address (AppTest): a fresh page writes nothing, every change is
written, a new session opened with that address shows the identical cell, and a forged address gives
the defaults plus one sentence, never an exception."""

from __future__ import annotations

import pytest
from apptest_support import CONV, POOL, ROOT, app, opened, query, rerun
from streamlit.testing.v1 import AppTest

from playground.nn import design_code, presets
from playground.ui import inputs, training


def cell(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Output ("))


def test_fresh_pages_write_an_empty_address():
    for path in (CONV, POOL):
        at = app(path)
        assert query(at) == {} and not at.warning


def test_a_convolution_link_reopens_the_identical_cell():
    at = app(CONV)
    rerun(at.selectbox(key="conv.source").set_value(inputs.RANDOM))
    at.number_input(key="conv.random_size").set_value(8)
    at.number_input(key="conv.random_seed").set_value(3)
    at.selectbox(key="conv.kernel").set_value("Sobel x")
    at.number_input(key="conv.padding").set_value(1)
    at.number_input(key="conv.bias").set_value(0.5)
    rerun(at)
    for _ in range(3):
        rerun(at.button(key="conv.next").click())
    shown = cell(at)
    q = query(at)
    assert q == {
        "input": inputs.RANDOM,
        "random_size": "8",
        "seed": "3",
        "kernel": "Sobel x",
        "pad": "1",
        "bias": "0.5",
        "step": "4",
    }
    link = next(c.value for c in at.code if "kernel=Sobel+x" in c.value)
    assert "step=4" in link
    again = opened(CONV, q)
    assert cell(again) == shown and query(again) == q and not again.warning


def test_a_pooling_link_reopens_the_identical_cell():
    at = app(POOL)
    at.radio(key="pool.kind").set_value("avg")
    at.number_input(key="pool.size_px").set_value(3)
    at.number_input(key="pool.stride").set_value(1)
    rerun(at)
    rerun(at.button(key="pool.next").click())
    shown, q = cell(at), query(at)
    assert q == {"kind": "avg", "window": "3", "stride": "1", "step": "2"}
    assert cell(opened(POOL, q)) == shown


def test_a_forged_address_keeps_the_defaults_and_says_what_it_ignored():
    at = opened(CONV, {"stride_rows": "9" * 5000, "kernel": "Sobel x", "bias": "inf", "x" * 300: "1", "step": "abc"})
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Part of this link could not be used") and "stride_rows" in warning and "bias" in warning
    assert query(at) == {"kernel": "Sobel x"}  # the usable part was used, the rest is at its default
    assert cell(at).startswith("**Output (0, 0)**")
    rerun(at)
    assert not at.warning  # said once


def test_a_drawing_does_not_travel_and_the_link_says_so():
    at = app(CONV)
    rerun(at.selectbox(key="conv.source").set_value(inputs.DRAW))
    assert "input" not in query(at)
    assert any("cannot travel in a link" in c.value for c in at.caption)


BUILD = str(ROOT / "playground" / "pages" / "build.py")
TRAIN = str(ROOT / "playground" / "pages" / "train.py")


@pytest.mark.usefixtures("release_sessions")  # the Train page's session cache (no run was started)
def test_fresh_build_and_train_pages_write_an_empty_address(mnist_env):
    for path in (BUILD, TRAIN):
        at = opened(path, {})
        assert query(at) == {} and not at.warning, path


def test_a_build_link_reopens_the_same_design():
    at = opened(BUILD, {})
    rerun(at.selectbox(key="build.preset").set_value("lenet5"))
    assert query(at) == {"design": "lenet5"}
    ids = at.session_state["build.ids"]
    rerun(at.button(key=f"build.layer{ids[1]}.remove").click())  # lenet5 without its first tanh
    rerun(at.number_input(key=f"build.layer{ids[0]}.filters").set_value(8))
    q = query(at)
    assert q == {"design": "c8k5p2-ap2-c16k5-tanh-ap2-f-d120-tanh-d84-tanh-d10"}
    again = opened(BUILD, q)
    assert again.session_state["build.spec"].layers == at.session_state["build.spec"].layers
    assert query(again) == q and not again.warning
    assert any("multiply-accumulates" in m.value for m in again.markdown)  # its table, computed


def test_a_forged_build_link_keeps_the_default_design_and_says_why():
    at = opened(BUILD, {"design": "c16-x9-d10"})
    [warning] = [w.value for w in at.warning]
    assert "design in this link could not be used" in warning and "Layer 2" in warning
    assert query(at) == {} and at.session_state["build.spec"] == presets.get_preset(presets.DEFAULT_PRESET)


@pytest.mark.usefixtures("release_sessions")
def test_a_train_link_reopens_the_same_settings_and_the_designed_model(mnist_env):
    at = opened(TRAIN, {})
    at.selectbox(key="train.optimizer").set_value("sgd")
    at.number_input(key="train.lr").set_value(0.05)
    at.number_input(key="train.epochs").set_value(5)
    at.number_input(key="train.seed").set_value(7)
    at.number_input(key="train.subset").set_value(3000)
    at.select_slider(key="train.dropout").set_value(0.3)
    at.toggle(key="train.augment").set_value(True)
    rerun(at)
    q = query(at)
    assert q == {  # the Build page's design is the default one, so it is not written
        "images": "3000",
        "optimizer": "sgd",
        "lr": "0.05",
        "epochs": "5",
        "dropout": "0.3",
        "augment": "1",
        "seed": "7",
    }
    again = opened(TRAIN, q)
    for key, want in {
        "optimizer": "sgd",
        "lr": 0.05,
        "epochs": 5,
        "seed": 7,
        "subset": 3000,
        "dropout": 0.3,
        "augment": True,
    }.items():
        assert again.session_state[f"train.{key}"] == want, key
    assert query(again) == q and not again.warning
    preset = opened(TRAIN, {"model": training.PRESET, "preset": "lenet5", "images": "999999999"})
    assert preset.session_state["train.preset"] == "lenet5"
    assert preset.session_state["train.subset"] <= 70_000  # held to the data set's size, not refused
    assert "design" not in query(preset)  # a preset run does not carry the Build page's design
    designed = opened(TRAIN, {"design": "c8-relu-mp2-f-d10"})
    assert designed.session_state["build.spec"].layers == design_code.decode("c8-relu-mp2-f-d10").layers
    assert any(design_code.LINKED in c.value for c in designed.caption)  # the model Train will train
    assert query(designed) == {"design": "c8-relu-mp2-f-d10"}


DRAW = str(ROOT / "playground" / "pages" / "draw.py")


def test_the_draw_pages_address_names_the_pretrained_model():
    from playground.ui import models

    at = opened(DRAW, {})
    assert query(at) == {} and not at.warning  # the digit model is the default: nothing written
    rerun(at.radio(key="draw.model").set_value(models.SHIPPED_COLOUR))
    assert query(at) == {"model": "colour"}
    link = opened(DRAW, {"model": "colour"})  # a lecturer's link, opened on a student's phone
    assert link.radio(key="draw.model").value == models.SHIPPED_COLOUR
    assert any("A colour network reads a picture" in m.value for m in link.markdown)
    assert any(m.value.startswith("### Prediction: ") and "none yet" not in m.value for m in link.markdown)
    forged = opened(DRAW, {"model": "cat"})
    assert forged.radio(key="draw.model").value == models.SHIPPED
    assert forged.warning and "model" in forged.warning[0].value
